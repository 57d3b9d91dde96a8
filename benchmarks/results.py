"""A finished benchmark's result: per challenger, how it fared, what it costs and how
fast it is, and the cautious recommendation."""

from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import Sum
from django.utils import timezone

from benchmarks.models import Answer, Benchmark, Judgment, StepStatus
from benchmarks.stats import samples_needed, wilson_interval
from flows.models import Call
from flows.selectors import percentile

# A balanced pick may cost or take this much more on one side if it saves on the other.
_BALANCED_COST_SLACK_PCT = 10.0
_BALANCED_LATENCY_SLACK_PCT = 20.0
# Smaller changes than these are noise (latency varies from run to run by more than
# this), not a reason to switch models: a challenger is cheaper when its mean cost
# is at least 5% lower, faster when its median latency is both 10% and 50 ms lower.
_MIN_SAVING_PCT = 5.0
_MIN_SPEEDUP_PCT = 10.0
_MIN_SPEEDUP_MS = 50.0


def quality_bar(goal: str) -> float:
    """The bar the lower bound of a challenger's 95% interval must clear."""
    return {
        "cost": settings.BENCHMARK_BAR_COST,
        "speed": settings.BENCHMARK_BAR_SPEED,
        "quality": settings.BENCHMARK_BAR_QUALITY,
    }.get(goal, settings.BENCHMARK_BAR_BALANCED)


def monthly_calls(benchmark: Benchmark) -> int:
    """The flow's proxied calls over the last 7 days, scaled to 30 days."""
    since = timezone.now() - timedelta(days=7)
    week = Call.objects.filter(
        flow_id=benchmark.flow_id, source=Call.Source.PROXY, created_at__gte=since
    ).count()
    return round(week * 30 / 7)


def _model_figures(answers: list[Answer], calls_per_month: int) -> dict[str, Any]:
    ok = [a for a in answers if a.status == StepStatus.DONE]
    costs = [a.cost_usd for a in ok if a.cost_usd is not None]
    latencies = sorted(a.latency_ms for a in ok if a.latency_ms is not None)
    mean_cost = sum(costs, Decimal(0)) / len(costs) if costs else None
    failed = [a for a in answers if a.status == StepStatus.FAILED]
    return {
        "answered": len(ok),
        "failed": len(failed),
        "first_error": failed[0].error if failed else None,
        "mean_cost_usd": _money(mean_cost),
        "monthly_cost_usd": _money(
            None if mean_cost is None else mean_cost * calls_per_month
        ),
        "priced": len(costs) == len(ok) and bool(ok),
        "p50_latency_ms": percentile(latencies, 50) if latencies else None,
        "p95_latency_ms": percentile(latencies, 95) if latencies else None,
        "spend_usd": _money(
            sum((a.cost_usd or Decimal(0) for a in answers), Decimal(0))
        ),
    }


def _money(value: Decimal | None) -> float | None:
    return None if value is None else float(round(value, 10))


def _change_pct(new: float | None, old: float | None) -> float | None:
    if new is None or old is None or old == 0:
        return None
    return round((new - old) / old * 100, 1)


def _summary(row: dict[str, Any]) -> str:
    parts = [
        f"{row['model']}: won {row['wins']}, tied {row['ties']}, lost {row['losses']} "
        f"of {row['judged']}"
        + (f" ({row['errors']} not judged)" if row["errors"] else "")
    ]
    change = row["cost_change_pct"]
    if change is None:
        parts.append("cost unknown")
    elif change < 0:
        parts.append(f"{-change:.0f}% cheaper")
    elif change > 0:
        parts.append(f"{change:.0f}% more expensive")
    else:
        parts.append("same cost")
    latency = row["latency_change_ms"]
    if latency is not None:
        if round(latency) < 0:
            parts.append(f"{-latency:.0f} ms faster")
        elif round(latency) > 0:
            parts.append(f"{latency:.0f} ms slower")
        else:
            parts.append("same speed")
    return " | ".join(parts)


def _challenger_row(
    model: str,
    judgments: list[Judgment],
    answers: list[Answer],
    baseline: dict[str, Any],
    calls_per_month: int,
) -> dict[str, Any]:
    counts = {verdict: 0 for verdict in Judgment.Verdict.values}
    for judgment in judgments:
        counts[judgment.verdict or Judgment.Verdict.ERROR] += 1
    wins, ties, losses = counts["win"], counts["tie"], counts["loss"]
    compared = wins + ties + losses
    low, high = wilson_interval(wins + ties, compared)
    win_low, win_high = wilson_interval(wins, compared)
    figures = _model_figures(answers, calls_per_month)
    latency_change = (
        None
        if figures["p50_latency_ms"] is None or baseline["p50_latency_ms"] is None
        else round(figures["p50_latency_ms"] - baseline["p50_latency_ms"], 1)
    )
    row = {
        "model": model,
        "wins": wins,
        "ties": ties,
        "losses": losses,
        "errors": counts["error"],
        "judged": len(judgments),
        "compared": compared,
        "win_or_tie_rate": round((wins + ties) / compared, 4) if compared else None,
        "interval": {"low": round(low, 4), "high": round(high, 4)},
        "win_rate": round(wins / compared, 4) if compared else None,
        "win_interval": {"low": round(win_low, 4), "high": round(win_high, 4)},
        **figures,
        "cost_change_pct": _change_pct(
            figures["mean_cost_usd"], baseline["mean_cost_usd"]
        ),
        "latency_change_ms": latency_change,
        "latency_change_pct": _change_pct(
            figures["p50_latency_ms"], baseline["p50_latency_ms"]
        ),
    }
    row["summary"] = _summary(row)
    return row


def _goal_direction(goal: str, row: dict[str, Any]) -> bool:
    """Whether the challenger moves the way the goal asks (quality aside)."""
    cost, latency = row["cost_change_pct"], row["latency_change_pct"]
    cheaper = cost is not None and cost <= -_MIN_SAVING_PCT
    faster = (
        latency is not None
        and latency <= -_MIN_SPEEDUP_PCT
        and row["latency_change_ms"] <= -_MIN_SPEEDUP_MS
    )
    if goal == "cost":
        return cheaper
    if goal == "speed":
        return faster
    if goal == "quality":
        return True
    return (cheaper or faster) and (
        (cost is None or cost <= _BALANCED_COST_SLACK_PCT)
        and (latency is None or latency <= _BALANCED_LATENCY_SLACK_PCT)
    )


def _quality(goal: str, row: dict[str, Any]) -> dict[str, Any]:
    metric = "win_rate" if goal == "quality" else "win_or_tie_rate"
    interval = row["win_interval"] if goal == "quality" else row["interval"]
    return {
        "metric": metric,
        "rate": row[metric],
        "low": interval["low"],
        "high": interval["high"],
        "bar": quality_bar(goal),
        "wins": row["wins"],
        "ties": row["ties"],
        "losses": row["losses"],
        "errors": row["errors"],
    }


def _best(goal: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    if goal == "cost":
        return min(rows, key=lambda r: r["mean_cost_usd"])
    if goal == "speed":
        return min(rows, key=lambda r: r["p50_latency_ms"])
    if goal == "quality":
        return max(rows, key=lambda r: r["win_interval"]["low"])
    # Balanced: cost and latency changes (in %) and quality (the lower bound of the
    # win rate, in points) weigh alike, so a challenger that wins most pairs beats
    # one that only ties at about the same price.
    return min(
        rows,
        key=lambda r: (
            (r["cost_change_pct"] or 0)
            + (r["latency_change_pct"] or 0)
            - 100 * r["win_interval"]["low"]
        ),
    )


_COMPARED = {
    "cost": "cheaper",
    "speed": "faster",
    "quality": "better",
    "balanced": "cheaper or faster",
}


def _margins(goal: str) -> str:
    cost = f"at least {_MIN_SAVING_PCT:.0f}% cheaper"
    speed = (
        f"a median latency at least {_MIN_SPEEDUP_PCT:.0f}% and "
        f"{_MIN_SPEEDUP_MS:.0f} ms lower"
    )
    return {"cost": cost, "speed": speed, "quality": "any"}.get(
        goal, f"{cost}, or {speed}"
    )


def recommend(goal: str, rows: list[dict[str, Any]], baseline: dict[str, Any]) -> dict:
    bar = quality_bar(goal)
    heading = {
        "cost": "cheaper",
        "speed": "faster",
        "quality": "better",
        "balanced": "cheaper or faster without giving up much of the other",
    }.get(goal, goal)
    metric_name = "win rate" if goal == "quality" else "win-or-tie rate"
    moving = [r for r in rows if r["compared"] and _goal_direction(goal, r)]
    cleared = [r for r in moving if _quality(goal, r)["low"] >= bar]
    empty = {
        "model": None,
        "summary": "",
        "cost_change_pct": None,
        "latency_change_ms": None,
        "monthly_cost_usd_current": baseline["monthly_cost_usd"],
        "monthly_cost_usd_suggested": None,
        "quality": None,
        "more_samples_needed": None,
    }
    if cleared:
        best = _best(goal, cleared)
        quality = _quality(goal, best)
        return {
            **empty,
            "model": best["model"],
            "summary": best["summary"],
            "reason": (
                f"{best['model']} is {heading}, and the lower bound of its 95% "
                f"interval for the {metric_name} ({quality['low']:.0%}) clears the "
                f"{bar:.0%} bar."
            ),
            "cost_change_pct": best["cost_change_pct"],
            "latency_change_ms": best["latency_change_ms"],
            "monthly_cost_usd_suggested": best["monthly_cost_usd"],
            "quality": quality,
        }
    if not any(r["compared"] for r in rows):
        errors = sum(r["errors"] for r in rows)
        return {
            **empty,
            "reason": (
                f"No answer could be compared ({errors} not judged): the judge "
                "model failed or its verdicts could not be read. Check JUDGE_MODEL "
                "and the challengers' errors."
            ),
        }
    if not moving:
        return {
            **empty,
            "reason": (
                f"No challenger was {_COMPARED[goal]} than the current model by a "
                f"margin that counts ({_margins(goal)})"
                + (
                    f", while staying within {_BALANCED_COST_SLACK_PCT:.0f}% on cost "
                    f"and {_BALANCED_LATENCY_SLACK_PCT:.0f}% on latency."
                    if goal == "balanced"
                    else "."
                )
            ),
        }
    closest = max(moving, key=lambda r: _quality(goal, r)["rate"] or 0)
    quality = _quality(goal, closest)
    needed = samples_needed(quality["rate"] or 0, bar, closest["compared"])
    if needed is None:
        advice = (
            f"its observed {metric_name} ({(quality['rate'] or 0):.0%}) is not above "
            f"the {bar:.0%} bar, so more samples would not change the verdict."
        )
        more = None
    else:
        more = needed - closest["compared"]
        advice = (
            f"about {more} more judged samples would clear the {bar:.0%} bar if its "
            f"{metric_name} of {(quality['rate'] or 0):.0%} holds."
        )
    return {
        **empty,
        "summary": closest["summary"],
        "reason": (
            f"Evidence is insufficient: the closest challenger, {closest['model']}, "
            f"has a 95% interval of {quality['low']:.0%}-{quality['high']:.0%} for "
            f"the {metric_name}; {advice}"
        ),
        "quality": quality,
        "more_samples_needed": more,
    }


def spend(benchmark_id: Any) -> dict[str, float | None]:
    """What a run's calls cost so far, the models' answers and the judge apart."""
    models = Answer.objects.filter(benchmark_id=benchmark_id).aggregate(
        total=Sum("cost_usd")
    )["total"] or Decimal(0)
    judge = Judgment.objects.filter(benchmark_id=benchmark_id).aggregate(
        total=Sum("cost_usd")
    )["total"] or Decimal(0)
    return {
        "models_usd": _money(models),
        "judge_usd": _money(judge),
        "total_usd": _money(models + judge),
    }


def aggregate(benchmark: Benchmark) -> dict[str, Any]:
    answers: dict[str, list[Answer]] = defaultdict(list)
    for answer in Answer.objects.filter(benchmark=benchmark):
        answers[answer.model].append(answer)
    judgments: dict[str, list[Judgment]] = defaultdict(list)
    judge_spend = Decimal(0)
    for judgment in Judgment.objects.filter(benchmark=benchmark):
        judgments[judgment.challenger].append(judgment)
        judge_spend += judgment.cost_usd or 0
    per_month = monthly_calls(benchmark)
    baseline = {
        "model": benchmark.current_model,
        **_model_figures(answers[benchmark.current_model], per_month),
    }
    rows = [
        _challenger_row(model, judgments[model], answers[model], baseline, per_month)
        for model in benchmark.challengers
    ]
    model_spend = sum(
        (a.cost_usd or Decimal(0) for group in answers.values() for a in group),
        Decimal(0),
    )
    recommendation = recommend(benchmark.optimize_for, rows, baseline)
    for row in rows:
        row["recommended"] = row["model"] == recommendation["model"]
    return {
        "benchmark_id": str(benchmark.pk),
        "flow": benchmark.flow.name,
        "current_model": benchmark.current_model,
        "optimize_for": benchmark.optimize_for,
        "judge_model": benchmark.judge_model,
        "samples": benchmark.samples.count(),
        "monthly_calls": per_month,
        "baseline": baseline,
        "challengers": rows,
        "recommendation": recommendation,
        "spend": {
            "models_usd": _money(model_spend),
            "judge_usd": _money(judge_spend),
            "total_usd": _money(model_spend + judge_spend),
        },
    }
