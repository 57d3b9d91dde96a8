from django.core.management.base import BaseCommand, CommandParser
from rich.table import Table

from accounts.management.account_option import account_from_option
from accounts.models import Account
from flows import selectors
from llmtest.console import Column, console, table
from llmtest.formats import usd_fixed

_FLOW_COLUMNS = (
    Column("flow"),
    Column("model"),
    Column("calls", right=True),
    Column("failed", right=True, optional=True),
    Column("avg ms", right=True, optional=True),
    Column("p50 ms", right=True, optional=True),
    Column("p95 ms", right=True),
    Column("tokens in/out", right=True, optional=True),
    Column("cost", right=True),
    Column("samples", right=True),
    Column("last call", right=True, optional=True),
)


def _flows_table(account: Account, width: int) -> Table:
    """What GET /api/flows shows, per flow and model, with each flow's samples;
    a flow with samples but no traffic yet gets a row of its own."""
    samples = {row.flow: row for row in selectors.flow_sample_counts(account.pk)}
    rows = []
    shown = set()
    for row in selectors.flow_model_stats(account.pk):
        counts = samples.get(row.flow)
        cost = usd_fixed(row.total_cost_usd)
        if row.unpriced_calls:
            cost += f" (+{row.unpriced_calls} unpriced)"
        rows.append(
            [
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
            ]
        )
        shown.add(row.flow)
    for name, counts in samples.items():
        if name not in shown:
            rows.append(
                [name, "-", "0", "", "", "", "", "", "", str(counts.samples), ""]
            )
    title = f"{account.email}: {usd_fixed(account.credits_usd)} of credits left"
    return table(title, _FLOW_COLUMNS, rows, width)


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
            shown = _flows_table(account, out.width)
            if shown.row_count:
                out.print(shown)
            else:
                out.print(f"{account.email}: no flows yet.")
