from decimal import Decimal

from django.core.management.base import BaseCommand, CommandParser
from rich.table import Table

from accounts.management.account_option import account_from_option
from accounts.models import Account
from flows import selectors
from llmtest.console import console


def _money(value: Decimal) -> str:
    return f"${value:,.6f}"


def _flows_table(account: Account) -> Table:
    """What GET /api/flows shows, per flow and model, with each flow's samples;
    a flow with samples but no traffic yet gets a row of its own."""
    samples = {row.flow: row for row in selectors.flow_sample_counts(account.pk)}
    table = Table(
        title=f"{account.email}: {_money(account.credits_usd)} of credits left",
        title_justify="left",
    )
    for name in ("flow", "model"):
        table.add_column(name, overflow="fold")
    for name in ("calls", "failed", "avg ms", "p50 ms", "p95 ms"):
        table.add_column(name, justify="right", overflow="fold")
    for name in ("tokens in/out", "cost", "samples", "last call"):
        table.add_column(name, justify="right", overflow="fold")

    shown = set()
    for row in selectors.flow_model_stats(account.pk):
        counts = samples.get(row.flow)
        cost = _money(row.total_cost_usd)
        if row.unpriced_calls:
            cost += f" (+{row.unpriced_calls} unpriced)"
        table.add_row(
            row.flow,
            row.model,
            str(row.calls),
            str(row.failed_calls),
            f"{row.avg_latency_ms:.0f}",
            f"{row.p50_latency_ms:.0f}",
            f"{row.p95_latency_ms:.0f}",
            f"{row.input_tokens:,}/{row.output_tokens:,}",
            cost,
            "" if counts is None or row.flow in shown else str(counts.samples),
            f"{row.last_call_at:%Y-%m-%d %H:%M}",
        )
        shown.add(row.flow)
    for name, counts in samples.items():
        if name not in shown:
            table.add_row(
                name, "-", "0", "", "", "", "", "", "", str(counts.samples), ""
            )
    return table


class Command(BaseCommand):
    help = "Print each flow's calls, latency and cost by model, as GET /api/flows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--account", metavar="EMAIL", help="Only this account (default: all)."
        )

    def handle(self, *args: object, **options: str | None) -> None:
        if options["account"]:
            accounts = [account_from_option(options["account"])]
        else:
            accounts = list(Account.objects.order_by("email"))
        if not accounts:
            self.stdout.write("There is no account yet.")
            return

        out = console(self.stdout)
        for account in accounts:
            table = _flows_table(account)
            if table.row_count:
                out.print(table)
            else:
                out.print(f"{account.email}: no flows yet.")
