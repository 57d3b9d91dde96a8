"""A benchmark's result as cost against quality, for the flow's admin page."""

import pytest

from benchmarks import selectors
from tests.factories import BenchmarkFactory
from tests.llmtest.seed import seed_month

pytestmark = pytest.mark.django_db


def test_a_result_becomes_one_point_per_challenger_with_its_interval():
    seeded = seed_month(days=3)

    result = selectors.cost_quality(seeded.benchmark)

    assert result.baseline_model == "gpt-4o"
    assert result.metric == "win_or_tie_rate" and result.bar == 0.75
    by_model = {p.model: p for p in result.points}
    mini = by_model["gpt-4o-mini"]
    assert mini.recommended and mini.better
    assert mini.rate == 0.95 and mini.low < 0.95 < mini.high
    assert result.baseline_cost_usd > mini.mean_cost_usd
    # Dearer than the current model: not a better option, however well it did.
    assert not by_model["gpt-4.1"].better
    # Cheaper, but its interval's lower bound is under the bar.
    assert not by_model["claude-haiku-4-5"].better


def test_a_quality_benchmark_is_plotted_by_its_win_rate(settings):
    settings.BENCHMARK_BAR_QUALITY = 0.5
    result = {
        "optimize_for": "quality",
        "baseline": {"model": "gpt-4o-mini", "mean_cost_usd": 0.0004},
        "challengers": [
            {
                "model": "gpt-4o",
                "mean_cost_usd": 0.006,
                "win_or_tie_rate": 0.9,
                "interval": {"low": 0.7, "high": 0.97},
                "win_rate": 0.6,
                "win_interval": {"low": 0.39, "high": 0.78},
            }
        ],
        "recommendation": {"model": None, "reason": "Evidence is insufficient."},
    }
    benchmark = BenchmarkFactory(optimize_for="quality", result=result)

    plotted = selectors.cost_quality(benchmark)

    (point,) = plotted.points
    assert (plotted.metric, plotted.bar) == ("win_rate", 0.5)
    assert (point.rate, point.low, point.high) == (0.6, 0.39, 0.78)
    assert plotted.reason == "Evidence is insufficient."


def test_a_run_without_a_result_has_nothing_to_plot():
    assert selectors.cost_quality(BenchmarkFactory(result=None)) is None
