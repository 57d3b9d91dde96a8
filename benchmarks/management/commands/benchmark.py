import contextlib
import json
import logging
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from accounts.management.account_option import account_from_option
from benchmarks import relay, runs, services
from benchmarks.events import ERROR, PROGRESS, RESULT
from benchmarks.models import Benchmark
from llmtest import jobs
from llmtest.console import Column, console, table
from llmtest.errors import GatewayError
from llmtest.formats import usd_fixed

# The API's fields and the options that stand for them here.
_OPTIONS = {"currentModel": "--current-model", "challengers": "--challengers"}
# Seconds a cancelled run's calls in flight are waited for before the command exits.
_STOP_WAIT_S = 30.0


def _as_options(message: str) -> str:
    """An API error message, naming this command's options instead of the API's
    fields."""
    for field, option in _OPTIONS.items():
        message = message.replace(f"pass {field}", f"pass {option}")
    return message


def _models(values: list[str] | None) -> list[str] | None:
    """`--challengers a b` and `--challengers a,b` alike."""
    if not values:
        return None
    named = (model.strip() for value in values for model in value.split(","))
    return [model for model in named if model]


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def _signed(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if round(value) == 0:
        return f"0{unit}"  # not "-0 ms" nor "+0 ms"
    return f"{value:+.0f}{unit}"


def _cost(value: float | None) -> str:
    return "unpriced" if value is None else usd_fixed(value)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.0f}"


_RESULT_COLUMNS = (
    Column("model"),
    Column("W/T/L", right=True),
    Column("not judged", right=True, optional=True),
    Column("win|tie", right=True),
    Column("95% CI", right=True),
    Column("$/call", right=True),
    Column("cost", right=True),
    Column("p50 ms", right=True, optional=True),
    Column("latency", right=True),
    Column("pick"),
)


def result_table(result: dict[str, Any], width: int) -> Table:
    """The current model and each challenger: verdicts, interval, cost, latency."""
    baseline = result["baseline"]
    rows = [
        [
            f"{baseline['model']} (current)",
            "",
            "",
            "",
            "",
            _cost(baseline["mean_cost_usd"]),
            "",
            _ms(baseline["p50_latency_ms"]),
            "",
            "",
        ]
    ]
    for row in result["challengers"]:
        interval = row["interval"]
        rows.append(
            [
                row["model"],
                f"{row['wins']}/{row['ties']}/{row['losses']}",
                str(row["errors"]),
                _pct(row["win_or_tie_rate"]),
                f"{_pct(interval['low'])}-{_pct(interval['high'])}",
                _cost(row["mean_cost_usd"]),
                _signed(row["cost_change_pct"], "%"),
                _ms(row["p50_latency_ms"]),
                _signed(row["latency_change_ms"], " ms"),
                "yes" if row["recommended"] else "",
            ]
        )
    title = (
        f"{result['flow']}: {result['samples']} samples, optimizing for "
        f"{result['optimize_for']}, judged by {result['judge_model']}"
    )
    return table(title, _RESULT_COLUMNS, rows, width)


def _verdict(out: Console, result: dict[str, Any]) -> None:
    recommendation = result["recommendation"]
    spend = result["spend"]
    if recommendation["model"]:
        out.print(f"Verdict: switch to {recommendation['model']}.")
    else:
        out.print("Verdict: keep the current model.")
    out.print(recommendation["reason"], soft_wrap=True)
    models, judge = spend["models_usd"] or 0, spend["judge_usd"] or 0
    out.print(
        f"Spent {usd_fixed(models + judge)} (models {usd_fixed(models)}, "
        f"judge {usd_fixed(judge)})."
    )
    if result.get("suggestion_id"):
        out.print(
            f"Filed suggestion {result['suggestion_id']}: accept it in the admin or "
            f"with POST /api/suggestions/{result['suggestion_id']}."
        )


def _stopped(benchmark: Benchmark) -> str:
    """End a run whose command was interrupted, unless workers elsewhere run it."""
    if settings.JOBS_RUNNER == "celery":
        return (
            f"Stopped following benchmark {benchmark.pk}; the workers go on with it "
            f"(GET /api/benchmark/{benchmark.pk}/events follows it again)."
        )
    # Its tasks run on this process's threads: failing the run stops them at their
    # next step; the calls already sent are waited for (and charged), so that none
    # is cut off by the interpreter's exit. A second Ctrl-C stops waiting.
    runs.fail(benchmark.pk, "Stopped from the command line.", "cancelled")
    with contextlib.suppress(KeyboardInterrupt):
        jobs.wait_idle(_STOP_WAIT_S)
    runs.settle_spend(benchmark.pk)
    benchmark.refresh_from_db(fields=["error"])
    spent = (benchmark.error or {}).get("spend", {}).get("total_usd") or 0
    return (
        f"Stopped: benchmark {benchmark.pk} was cancelled; its calls cost "
        f"{usd_fixed(spent)}."
    )


class Command(BaseCommand):
    help = (
        "Benchmark a flow's samples on its current model and challengers, judged "
        "pairwise, as POST /api/benchmark does, with a progress bar and the result."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("flow")
        parser.add_argument(
            "--optimize-for",
            choices=Benchmark.Goal.values,
            default=Benchmark.Goal.BALANCED,
        )
        parser.add_argument(
            "--challengers",
            nargs="+",
            metavar="MODEL",
            help="Models to try (default: picked from the catalog for the goal).",
        )
        parser.add_argument(
            "--current-model",
            help="The baseline (default: what the flow's recent calls asked for).",
        )
        parser.add_argument(
            "--account",
            metavar="EMAIL",
            help="The flow's account (default: the only account there is).",
        )
        parser.add_argument(
            "--json", action="store_true", help="Print the result as JSON instead."
        )

    def handle(self, *args: object, **options: Any) -> None:
        if options["verbosity"] >= 2:
            self._run(options)
            return
        # The gateway's INFO lines (a suggestion filed, credits charged) would break
        # up the progress bar; -v 2 shows them.
        before = logging.root.manager.disable
        logging.disable(logging.INFO)
        try:
            self._run(options)
        finally:
            logging.disable(before)

    def _run(self, options: dict[str, Any]) -> None:
        account = account_from_option(options["account"])
        try:
            benchmark = services.benchmark_start(
                account,
                options["flow"],
                current_model=options["current_model"],
                optimize_for=options["optimize_for"],
                challengers=_models(options["challengers"]),
            )
        except GatewayError as error:
            raise CommandError(_as_options(error.message)) from error

        err = console(self.stderr)
        err.print(
            f"Benchmark {benchmark.pk}: {benchmark.current_model} against "
            f"{', '.join(benchmark.challengers)}."
        )
        try:
            result = self._follow(benchmark, err)
        except KeyboardInterrupt:
            raise CommandError(_stopped(benchmark)) from None

        if options["json"]:
            self.stdout.write(json.dumps(result, indent=2))
            return
        out = console(self.stdout)
        out.print(result_table(result, out.width))
        _verdict(out, result)

    def _follow(self, benchmark: Benchmark, err: Console) -> dict[str, Any]:
        """Show the run's progress until its result; CommandError if it fails."""
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=err) as progress:
            bar = progress.add_task("queued", total=benchmark.total_steps)
            for kind, data in relay.follow(benchmark.pk, poll_s=0.2):
                if kind == PROGRESS:
                    stage = data["stage"] + (
                        f" {data['model']}" if data["model"] else ""
                    )
                    progress.update(
                        bar,
                        completed=data["done"],
                        total=data["total"],
                        description=stage,
                    )
                elif kind == RESULT:
                    progress.update(
                        bar, completed=benchmark.total_steps, description="done"
                    )
                    return dict(data)
                elif kind == ERROR:
                    raise CommandError(f"The benchmark failed: {data['message']}")
        raise CommandError(f"The benchmark {benchmark.pk} is gone.")
