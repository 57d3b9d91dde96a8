"""manage.py benchmark: a run on the in-process runner, with the fake providers."""

import _thread
import json
import signal
import threading
import time
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rich.console import Console

from benchmarks.management.commands.benchmark import result_table
from benchmarks.models import Benchmark
from flows.models import Flow
from llmtest import jobs
from proxy import catalog, providers
from tests.benchmarks.conftest import CHALLENGERS, CURRENT, add_samples, judge_with
from tests.factories import AccountFactory
from tests.fakes import judges
from tests.fakes.providers import ErrorReply


def _benchmark(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("benchmark", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def _named(*args: str) -> tuple[str, str]:
    return _benchmark(
        "support-bot", "--current-model", CURRENT, "--challengers", *CHALLENGERS, *args
    )


def test_it_runs_a_benchmark_and_prints_the_result_table(flow, fake_openai):
    judge_with(fake_openai, judges.prefers("gpt-4o-mini"))

    out, _ = _named("--optimize-for", "cost")

    benchmark = Benchmark.objects.get()
    assert benchmark.status == Benchmark.Status.DONE
    assert benchmark.optimize_for == "cost"
    assert f"{CURRENT} (current)" in out
    rows = {row["model"]: row for row in benchmark.result["challengers"]}
    mini = next(line for line in out.splitlines() if "│ gpt-4o-mini " in line)
    assert "4/0/0" in mini
    assert f"{rows['gpt-4o-mini']['cost_change_pct']:+.0f}%" in mini
    tiny = next(line for line in out.splitlines() if "│ local/tiny " in line)
    assert "0/4/0" in tiny
    assert "Verdict: " in out
    assert benchmark.result["recommendation"]["reason"] in out


def test_it_shows_the_progress_up_to_every_step(flow, fake_openai):
    judge_with(fake_openai, judges.first_position)

    _, err = _named()

    total = Benchmark.objects.get().total_steps
    assert f"Benchmark {Benchmark.objects.get().pk}" in err
    assert f"{total}/{total}" in err


def test_json_prints_the_stored_result(flow, fake_openai):
    judge_with(fake_openai, judges.first_position)

    out, _ = _named("--json")

    assert json.loads(out) == Benchmark.objects.get().result


def test_challengers_may_be_given_comma_separated(flow, fake_openai):
    judge_with(fake_openai, judges.first_position)

    _benchmark(
        "support-bot",
        "--current-model",
        CURRENT,
        "--challengers",
        ",".join(CHALLENGERS),
    )

    assert Benchmark.objects.get().challengers == CHALLENGERS


def test_the_account_is_picked_by_email_when_there_are_several(flow, fake_openai):
    judge_with(fake_openai, judges.first_position)
    AccountFactory(email="other@example.com")

    _named("--account", flow.account.email.upper())

    assert Benchmark.objects.get().account == flow.account


def test_several_accounts_and_none_named_is_an_error(flow):
    AccountFactory(email="other@example.com")

    with pytest.raises(CommandError, match=r"There are 2 accounts.*--account"):
        _named()

    assert not Benchmark.objects.exists()


def test_an_unknown_account_is_an_error(flow):
    with pytest.raises(CommandError, match=r"There is no account nobody@example.com"):
        _named("--account", "nobody@example.com")


def test_an_unknown_flow_is_an_error(flow):
    with pytest.raises(CommandError, match=r"no flow named 'billing'"):
        _benchmark("billing", "--current-model", CURRENT)


def test_too_few_samples_is_an_error_saying_how_many_more(flow, bench_settings):
    few = Flow.objects.create(account=flow.account, name="billing")
    add_samples(few, 1)

    with pytest.raises(CommandError, match=r"has 1 sample;.*Add 2 more"):
        _benchmark("billing", "--current-model", CURRENT)


def test_a_challenger_no_provider_serves_is_an_error(flow):
    with pytest.raises(CommandError, match=r"'nowhere/model' cannot be called"):
        _benchmark(
            "support-bot", "--current-model", CURRENT, "--challengers", "nowhere/model"
        )


@pytest.mark.parametrize(
    "named",
    [
        [", ,"],
        ["gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "gpt-5-mini", "o3"],
    ],
    ids=["none", "six"],
)
def test_the_challengers_are_held_to_the_apis_limits(flow, named):
    with pytest.raises(CommandError, match=r"Name 1 to 5 challengers"):
        _benchmark("support-bot", "--current-model", CURRENT, "--challengers", *named)
    assert not Benchmark.objects.exists()


def test_an_unknown_goal_is_an_error(flow):
    with pytest.raises(CommandError, match=r"invalid choice: 'cheap'"):
        _named("--optimize-for", "cheap")


def test_a_run_that_fails_is_an_error_with_its_reason(flow, fake_openai):
    fake_openai.default_reply = ErrorReply(status=500, message="provider down")

    with pytest.raises(CommandError, match=r"The benchmark failed: .*provider down"):
        _named()

    assert Benchmark.objects.get().status == Benchmark.Status.FAILED


def _interrupt_once_answering(fake_openai) -> None:
    """Ctrl-C, as the main thread receives it, once the run has called a model."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if any(r.method == "POST" for r in fake_openai.requests):
            break
        time.sleep(0.02)
    _thread.interrupt_main()


def test_an_interrupt_cancels_the_run_and_stops_its_tasks(flow, fake_openai):
    judge_with(fake_openai, judges.first_position)
    # The provider's model list, which the start reads, fetched before it is slow.
    catalog.listed(providers.snapshot())
    fake_openai.default_latency_s = 1.0
    # What a terminal's Ctrl-C raises, whatever handler an earlier test left.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    threading.Thread(target=_interrupt_once_answering, args=(fake_openai,)).start()

    try:
        with pytest.raises(CommandError, match=r"Stopped: benchmark .* was cancelled"):
            _named()
    finally:
        signal.signal(signal.SIGINT, previous)

    assert jobs.wait_idle(10)
    benchmark = Benchmark.objects.get()
    assert benchmark.status == Benchmark.Status.FAILED
    assert benchmark.error["code"] == "cancelled"
    # The calls that were in flight are in the stored figure.
    charged = sum((a.cost_usd or 0) for a in benchmark.answers.all()) + sum(
        (j.cost_usd or 0) for j in benchmark.judgments.all()
    )
    assert charged > 0
    assert benchmark.error["spend"]["total_usd"] == pytest.approx(float(charged))
    assert benchmark.answers.filter(status="done").count() < benchmark.total_steps


def test_the_result_table_fits_an_80_column_terminal_whole():
    row = {
        "model": "claude-haiku-4-5",
        "wins": 10,
        "ties": 2,
        "losses": 0,
        "errors": 1,
        "win_or_tie_rate": 1.0,
        "interval": {"low": 0.76, "high": 1.0},
        "mean_cost_usd": 0.0000048,
        "cost_change_pct": -94.0,
        "p50_latency_ms": 300.0,
        "latency_change_ms": -112.3,
        "recommended": True,
    }
    result = {
        "flow": "support-bot",
        "samples": 12,
        "optimize_for": "cost",
        "judge_model": "gpt-4o-mini",
        "baseline": {"model": "gpt-4o", "mean_cost_usd": 0.00008, "p50_latency_ms": 4},
        "challengers": [row],
    }
    terminal = Console(width=80, record=True, markup=False, emoji=False)

    terminal.print(result_table(result, 80))

    lines = terminal.export_text().splitlines()
    assert all(len(line) <= 80 for line in lines)
    line = next(line for line in lines if "claude-haiku-4-5" in line)
    for cell in ("10/2/0", "100%", "76%-100%", "$0.000005", "-94%", "-112 ms", "yes"):
        assert cell in line


def test_a_flow_without_traffic_asks_for_the_current_model_option(flow):
    with pytest.raises(CommandError, match=r"pass --current-model"):
        _benchmark("support-bot", "--challengers", *CHALLENGERS)
