"""Reads over benchmarks for the admin: a flow's runs, and a result as cost against
quality."""

from dataclasses import dataclass
from typing import Any

from benchmarks.models import Benchmark
from benchmarks.results import quality_bar


@dataclass(frozen=True, slots=True)
class QualityPoint:
    """One challenger of a result: what a call costs and how it fared."""

    model: str
    mean_cost_usd: float | None
    rate: float | None
    low: float | None
    high: float | None
    recommended: bool
    # Cheaper than the current model, and its interval's lower bound clears the bar.
    better: bool
    summary: str


@dataclass(frozen=True, slots=True)
class CostQuality:
    benchmark_id: str
    optimize_for: str
    # "win_or_tie_rate", or "win_rate" for the quality goal (as the verdict uses).
    metric: str
    bar: float
    baseline_model: str
    baseline_cost_usd: float | None
    points: list[QualityPoint]
    reason: str


def flow_benchmarks(flow_id: int, limit: int) -> list[Benchmark]:
    """The flow's newest runs, newest first (one query)."""
    return list(
        Benchmark.objects.filter(flow_id=flow_id).order_by("-created_at")[:limit]
    )


def _point(
    row: dict[str, Any], metric: str, bar: float, baseline: float | None
) -> QualityPoint:
    interval = row.get("win_interval" if metric == "win_rate" else "interval") or {}
    rate, low = row.get(metric), interval.get("low")
    cost = row.get("mean_cost_usd")
    cheaper = cost is not None and baseline is not None and cost < baseline
    return QualityPoint(
        model=str(row.get("model")),
        mean_cost_usd=cost,
        rate=rate,
        low=low if rate is not None else None,
        high=interval.get("high") if rate is not None else None,
        recommended=bool(row.get("recommended")),
        better=cheaper and low is not None and rate is not None and low >= bar,
        summary=str(row.get("summary") or ""),
    )


def cost_quality(benchmark: Benchmark) -> CostQuality | None:
    """The run's result as cost per call against quality; None before it has one."""
    result = benchmark.result
    if not isinstance(result, dict) or not isinstance(result.get("baseline"), dict):
        return None
    goal = str(result.get("optimize_for") or benchmark.optimize_for)
    metric = "win_rate" if goal == Benchmark.Goal.QUALITY else "win_or_tie_rate"
    recommendation = result.get("recommendation") or {}
    quality = recommendation.get("quality") or {}
    bar = float(quality.get("bar") or quality_bar(goal))
    baseline = result["baseline"]
    baseline_cost = baseline.get("mean_cost_usd")
    rows = [r for r in result.get("challengers") or [] if isinstance(r, dict)]
    return CostQuality(
        benchmark_id=str(benchmark.pk),
        optimize_for=goal,
        metric=metric,
        bar=bar,
        baseline_model=str(baseline.get("model") or benchmark.current_model),
        baseline_cost_usd=baseline_cost,
        points=[_point(row, metric, bar, baseline_cost) for row in rows],
        reason=str(recommendation.get("reason") or ""),
    )
