"""Reads over calls and flows, always scoped to one account."""

import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db.models import Count, Max, Q, Sum

from flows.models import Call, Flow, Sample


@dataclass(frozen=True, slots=True)
class AccountActivity:
    flows: int
    calls: int
    spend: Decimal


@dataclass(frozen=True, slots=True)
class FlowModelStats:
    flow: str
    model: str
    calls: int
    avg_latency_ms: float
    p50_latency_ms: float
    p95_latency_ms: float
    total_cost_usd: Decimal
    failed_calls: int
    unpriced_calls: int
    estimated_calls: int
    input_tokens: int
    output_tokens: int
    last_call_at: datetime


def account_activity(account_id: int) -> AccountActivity:
    totals = Call.objects.filter(account_id=account_id).aggregate(
        calls=Count("id"), spend=Sum("cost_usd")
    )
    return AccountActivity(
        flows=Flow.objects.filter(account_id=account_id).count(),
        calls=totals["calls"],
        spend=totals["spend"] or Decimal(0),
    )


def flow_model_stats(account_id: int) -> list[FlowModelStats]:
    """One row per flow and served model, busiest first: the apps' own traffic
    (benchmark and judge calls are spend, but not what the flow runs on).

    Percentiles are computed here rather than in SQL so SQLite and PostgreSQL agree;
    it reads one float per call.
    """
    calls = Call.objects.filter(account_id=account_id, source=Call.Source.PROXY)
    groups = (
        calls.values("flow__name", "served_model")
        .annotate(
            calls=Count("id"),
            total_cost=Sum("cost_usd"),
            failed=Count("id", filter=~Q(outcome=Call.Outcome.OK)),
            unpriced=Count("id", filter=Q(priced=False)),
            estimated=Count("id", filter=Q(usage_estimated=True)),
            input_tokens=Sum("input_tokens"),
            output_tokens=Sum("output_tokens"),
            last_call_at=Max("created_at"),
        )
        .order_by("-calls", "flow__name", "served_model")
    )
    latencies = _latencies_by_group(account_id)
    return [_stats_row(group, latencies) for group in groups]


def _latencies_by_group(account_id: int) -> dict[tuple[str, str], list[float]]:
    latencies: dict[tuple[str, str], list[float]] = defaultdict(list)
    rows = Call.objects.filter(
        account_id=account_id, source=Call.Source.PROXY
    ).values_list("flow__name", "served_model", "latency_ms")
    for flow, model, latency in rows.iterator(chunk_size=5000):
        latencies[(flow, model)].append(latency)
    return latencies


def _stats_row(
    group: dict, latencies: dict[tuple[str, str], list[float]]
) -> FlowModelStats:
    values = sorted(latencies[(group["flow__name"], group["served_model"])])
    return FlowModelStats(
        flow=group["flow__name"],
        model=group["served_model"],
        calls=group["calls"],
        avg_latency_ms=round(sum(values) / len(values), 1) if values else 0.0,
        p50_latency_ms=percentile(values, 50),
        p95_latency_ms=percentile(values, 95),
        total_cost_usd=group["total_cost"] or Decimal(0),
        failed_calls=group["failed"],
        unpriced_calls=group["unpriced"],
        estimated_calls=group["estimated"],
        input_tokens=group["input_tokens"] or 0,
        output_tokens=group["output_tokens"] or 0,
        last_call_at=group["last_call_at"],
    )


def percentile(sorted_values: list[float], pct: float) -> float:
    """Nearest-rank percentile of an ascending list; 0.0 for an empty one."""
    if not sorted_values:
        return 0.0
    rank = max(1, math.ceil(pct / 100 * len(sorted_values)))
    return round(sorted_values[rank - 1], 1)


@dataclass(frozen=True, slots=True)
class FlowSamples:
    flow: str
    samples: int
    captured: int
    seeded: int
    ready: bool
    needed: int
    minimum: int


def flow_sample_counts(account_id: int) -> list[FlowSamples]:
    """Every flow of the account by name, those without samples too, with how many
    more samples each needs before it can be benchmarked."""
    minimum = settings.SAMPLES_MIN_FOR_BENCHMARK
    rows = (
        Flow.objects.filter(account_id=account_id)
        .annotate(
            captured=Count("samples", filter=Q(samples__source=Sample.Source.CAPTURED)),
            seeded=Count("samples", filter=Q(samples__source=Sample.Source.SEEDED)),
        )
        .order_by("name")
        .values_list("name", "captured", "seeded")
    )
    return [
        FlowSamples(
            flow=name,
            samples=captured + seeded,
            captured=captured,
            seeded=seeded,
            ready=captured + seeded >= minimum,
            needed=max(0, minimum - captured - seeded),
            minimum=minimum,
        )
        for name, captured, seeded in rows
    ]
