"""Filing suggestions when a benchmark finishes (the `benchmark_finished` signal)."""

from typing import Any

import pytest

from benchmarks.models import Benchmark
from benchmarks.signals import benchmark_finished
from suggestions import receivers
from suggestions.models import Suggestion
from tests.factories import BenchmarkFactory, FlowFactory, SuggestionFactory

pytestmark = pytest.mark.django_db

QUALITY = {
    "metric": "win_or_tie_rate",
    "rate": 0.96,
    "low": 0.87,
    "high": 0.99,
    "bar": 0.8,
    "wins": 10,
    "ties": 38,
    "losses": 2,
    "errors": 0,
}


def _result(**recommendation: Any) -> dict[str, Any]:
    return {
        "benchmark_id": "ignored here",
        "flow": "support-bot",
        "current_model": "gpt-4o",
        "optimize_for": "cost",
        "samples": 50,
        "recommendation": {
            "model": "gpt-4o-mini",
            "summary": "gpt-4o-mini wins or ties on 96% of samples for 83% less.",
            "reason": "cheaper at the same quality",
            "cost_change_pct": -83.3,
            "latency_change_ms": -120.5,
            "monthly_cost_usd_current": 300.0,
            "monthly_cost_usd_suggested": 50.1,
            "quality": QUALITY,
            "more_samples_needed": None,
            **recommendation,
        },
    }


def _finish(benchmark: Benchmark) -> dict[str, Any] | None:
    """Send the signal as the benchmark runner does; what the receiver returned."""
    replies = dict(benchmark_finished.send(Benchmark, benchmark=benchmark))
    return replies[receivers.file_suggestion]


def test_a_recommendation_is_filed_as_a_pending_suggestion():
    benchmark = BenchmarkFactory(result=_result())

    replies = _finish(benchmark)

    suggestion = Suggestion.objects.get()
    assert replies == {"suggestion_id": suggestion.pk}
    assert suggestion.status == Suggestion.Status.PENDING
    assert (suggestion.account, suggestion.flow, suggestion.benchmark) == (
        benchmark.account,
        benchmark.flow,
        benchmark,
    )
    assert (suggestion.current_model, suggestion.suggested_model) == (
        "gpt-4o",
        "gpt-4o-mini",
    )
    assert suggestion.optimize_for == "cost"
    assert suggestion.summary.startswith("gpt-4o-mini wins or ties")


def test_the_suggestion_keeps_the_benchmarks_figures():
    benchmark = BenchmarkFactory(result=_result())

    _finish(benchmark)

    assert Suggestion.objects.get().figures == {
        "cost_change_pct": -83.3,
        "latency_change_ms": -120.5,
        "monthly_cost_usd_current": 300.0,
        "monthly_cost_usd_suggested": 50.1,
        "quality": QUALITY,
        "samples": 50,
    }


def test_nothing_is_filed_when_the_benchmark_recommends_no_switch():
    benchmark = BenchmarkFactory(result=_result(model=None, more_samples_needed=40))

    replies = _finish(benchmark)

    assert replies is None
    assert not Suggestion.objects.exists()


@pytest.mark.parametrize("result", [None, {}, {"recommendation": "none"}])
def test_nothing_is_filed_from_a_result_without_a_recommendation(result):
    assert _finish(BenchmarkFactory(result=result)) is None
    assert not Suggestion.objects.exists()


def test_a_recommendation_missing_its_figures_is_still_filed():
    result = {"current_model": "gpt-4o", "recommendation": {"model": "gpt-4o-mini"}}
    benchmark = BenchmarkFactory(result=result, optimize_for="speed")

    _finish(benchmark)

    suggestion = Suggestion.objects.get()
    assert suggestion.summary == "Switch gpt-4o to gpt-4o-mini."
    assert suggestion.optimize_for == "speed"
    assert suggestion.figures["quality"] is None
    assert suggestion.figures["cost_change_pct"] is None


def test_the_same_benchmark_finishing_twice_files_one_suggestion():
    benchmark = BenchmarkFactory(result=_result())

    first, second = _finish(benchmark), _finish(benchmark)

    assert first == second
    assert Suggestion.objects.count() == 1


def test_a_newer_suggestion_supersedes_the_flows_pending_ones():
    flow = FlowFactory()
    older = SuggestionFactory(flow=flow)
    decided = SuggestionFactory(flow=flow, status=Suggestion.Status.ACCEPTED)
    elsewhere = SuggestionFactory(flow=FlowFactory(account=flow.account))

    _finish(BenchmarkFactory(flow=flow, result=_result(model="claude-haiku-4-5")))

    newest = Suggestion.objects.get(suggested_model="claude-haiku-4-5")
    older.refresh_from_db()
    assert older.status == Suggestion.Status.DISMISSED
    assert older.superseded_by == newest and older.decided_at is not None
    assert Suggestion.objects.get(pk=decided.pk).status == Suggestion.Status.ACCEPTED
    assert Suggestion.objects.get(pk=elsewhere.pk).status == Suggestion.Status.PENDING
    assert newest.status == Suggestion.Status.PENDING
