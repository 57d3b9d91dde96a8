"""Reads over calls and flows, always scoped to one account."""

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import (
    Aggregate,
    Count,
    F,
    FloatField,
    Max,
    Q,
    QuerySet,
    Sum,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber, TruncDate
from django.utils import timezone

from accounts.selectors import ZERO_USD
from flows.models import Call, Flow, Route, Sample


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


# --- the admin dashboard: every account, over a window of days ------------------------
#
# These read across accounts (the operator's view) and aggregate in SQL: one row per
# flow, day or model comes back, never one per call, so a page costs a fixed number
# of queries whatever the traffic.


@dataclass(frozen=True, slots=True)
class FlowSpend:
    flow_id: int
    flow: str
    account: str
    spend_usd: Decimal
    # Proxied calls only: what the flow's app sent, not its benchmarks.
    calls: int
    p95_latency_ms: float | None


@dataclass(frozen=True, slots=True)
class DailySpend:
    """Spend per day over `days` (oldest first) for the top flows and the rest,
    and the totals over the days."""

    days: list[date]
    flows: list[FlowSpend]
    per_flow: dict[int, list[Decimal]]
    others: list[Decimal]
    spend_usd: Decimal
    # Proxied calls, and their p95 latency.
    calls: int
    p95_latency_ms: float | None


@dataclass(frozen=True, slots=True)
class FlowDay:
    day: date
    spend_usd: Decimal
    calls: int
    p95_latency_ms: float | None


@dataclass(frozen=True, slots=True)
class FlowModelUse:
    model: str
    calls: int
    spend_usd: Decimal
    p50_latency_ms: float | None
    p95_latency_ms: float | None
    last_call_at: datetime


def window_days(days: int, today: date | None = None) -> list[date]:
    """The last `days` calendar days (UTC), oldest first, today included."""
    today = today or timezone.now().date()
    return [today - timedelta(days=back) for back in range(days - 1, -1, -1)]


def _since(days: list[date]) -> datetime:
    first = days[0]
    return datetime(first.year, first.month, first.day, tzinfo=UTC)


class _PercentileDisc(Aggregate):
    """PostgreSQL's ordered-set aggregate: the first value whose share of the
    ordered group reaches the fraction, i.e. the nearest-rank percentile."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()


def latency_percentile_by(
    calls: QuerySet[Call], keys: Sequence[str], pct: int
) -> dict[tuple[Any, ...], float]:
    """The nearest-rank `pct` percentile of latency for each group of `keys`
    (fields or annotations of `calls`), computed by the database; one row per group
    comes back. No keys: one group, under the key ().

    PostgreSQL sorts each group once (PERCENTILE_DISC). Elsewhere (SQLite) a window
    numbers each group's calls by latency and keeps the one at rank ceil(pct% of n),
    several times slower on a large table but the same answer.
    """
    if connections[calls.db].vendor == "postgresql":
        fraction = _PercentileDisc("latency_ms", fraction=f"{pct / 100:.4f}")
        if not keys:
            return _one_group(calls.aggregate(value=fraction)["value"])
        rows = calls.values(*keys).annotate(value=fraction).values_list(*keys, "value")
    else:
        partition = [F(key) for key in keys] or None
        ranked = calls.annotate(
            position=Window(
                RowNumber(), partition_by=partition, order_by=F("latency_ms").asc()
            ),
            size=Window(Count("id"), partition_by=partition),
        ).filter(position=(F("size") * pct + 99) / 100)
        rows = ranked.values_list(*keys, "latency_ms")
    return {tuple(row[:-1]): round(row[-1], 1) for row in rows if row[-1] is not None}


def _one_group(value: float | None) -> dict[tuple[Any, ...], float]:
    return {} if value is None else {(): round(value, 1)}


def spend_per_day(days: list[date], top: int) -> DailySpend:
    """Every account's spend per day (calls of every source: what credits paid
    for) for the `top` flows by spend over the days and the other flows summed, the
    top flows' proxied calls and p95 latency, and the totals.

    Four queries: spend and calls per flow and day in one scan (flows x days rows
    come back, never a row per call), the top flows' names, their p95, and the p95
    of every proxied call.
    """
    calls = Call.objects.filter(created_at__gte=_since(days))
    grouped = (
        calls.annotate(day=TruncDate("created_at"))
        .values("flow_id", "day")
        .annotate(
            spend=Coalesce(Sum("cost_usd"), ZERO_USD),
            proxied=Count("id", filter=Q(source=Call.Source.PROXY)),
        )
        .values_list("flow_id", "day", "spend", "proxied")
    )
    index = {day: i for i, day in enumerate(days)}
    per_flow: dict[int, list[Decimal]] = defaultdict(lambda: [Decimal(0)] * len(days))
    spent: dict[int, Decimal] = defaultdict(Decimal)
    proxied: dict[int, int] = defaultdict(int)
    for flow_id, day, spend, count in grouped:
        if day in index:
            per_flow[flow_id][index[day]] = spend
            spent[flow_id] += spend
            proxied[flow_id] += count

    ids = sorted(spent, key=lambda flow_id: (-spent[flow_id], flow_id))[:top]
    others = [
        sum((per_flow[f][i] for f in per_flow if f not in ids), Decimal(0))
        for i in range(len(days))
    ]
    proxy = calls.filter(source=Call.Source.PROXY)
    flows = _flow_spend(ids, spent, proxied, proxy.filter(flow_id__in=ids))
    overall = latency_percentile_by(proxy, [], 95)
    return DailySpend(
        days=days,
        flows=flows,
        per_flow={flow_id: per_flow[flow_id] for flow_id in ids},
        others=others,
        spend_usd=sum(spent.values(), Decimal(0)),
        calls=sum(proxied.values()),
        p95_latency_ms=overall.get(()),
    )


def _flow_spend(
    ids: list[int],
    spent: dict[int, Decimal],
    proxied: dict[int, int],
    calls: QuerySet[Call],
) -> list[FlowSpend]:
    names = {
        pk: (name, email)
        for pk, name, email in Flow.objects.filter(pk__in=ids).values_list(
            "pk", "name", "account__email"
        )
    }
    p95 = latency_percentile_by(calls, ["flow_id"], 95)
    return [
        FlowSpend(
            flow_id=flow_id,
            flow=names[flow_id][0],
            account=names[flow_id][1],
            spend_usd=spent[flow_id],
            calls=proxied[flow_id],
            p95_latency_ms=p95.get((flow_id,)),
        )
        for flow_id in ids
    ]


def flow_days(flow_id: int, days: list[date]) -> list[FlowDay]:
    """One flow's spend (every source), proxied calls and p95 latency per day."""
    calls = Call.objects.filter(flow_id=flow_id, created_at__gte=_since(days))
    daily = calls.annotate(day=TruncDate("created_at"))
    totals = {
        row["day"]: row
        for row in daily.values("day").annotate(
            spend=Coalesce(Sum("cost_usd"), ZERO_USD),
            proxied=Count("id", filter=Q(source=Call.Source.PROXY)),
        )
    }
    p95 = latency_percentile_by(daily.filter(source=Call.Source.PROXY), ["day"], 95)
    return [
        FlowDay(
            day=day,
            spend_usd=totals[day]["spend"] if day in totals else Decimal(0),
            calls=totals[day]["proxied"] if day in totals else 0,
            p95_latency_ms=p95.get((day,)),
        )
        for day in days
    ]


def flow_models_used(flow_id: int, days: list[date]) -> list[FlowModelUse]:
    """The models that served the flow's proxied calls over the days, busiest
    first, with their spend and p50 / p95 latency."""
    calls = Call.objects.filter(
        flow_id=flow_id, created_at__gte=_since(days), source=Call.Source.PROXY
    )
    rows = (
        calls.values("served_model")
        .annotate(
            n=Count("id"),
            spend=Coalesce(Sum("cost_usd"), ZERO_USD),
            last=Max("created_at"),
        )
        .order_by("-n", "served_model")
    )
    p50 = latency_percentile_by(calls, ["served_model"], 50)
    p95 = latency_percentile_by(calls, ["served_model"], 95)
    return [
        FlowModelUse(
            model=row["served_model"],
            calls=row["n"],
            spend_usd=row["spend"],
            p50_latency_ms=p50.get((row["served_model"],)),
            p95_latency_ms=p95.get((row["served_model"],)),
            last_call_at=row["last"],
        )
        for row in rows
    ]


def flow_active_routes(flow_id: int) -> list[Route]:
    """The routes serving the flow now, one per requested model."""
    return list(
        Route.objects.filter(flow_id=flow_id, active=True).order_by("from_model")
    )


def flow_recent_samples(flow_id: int, limit: int) -> list[Sample]:
    return list(
        Sample.objects.filter(flow_id=flow_id).order_by("-created_at", "-id")[:limit]
    )


def flow_sample_count(flow_id: int) -> dict[str, int]:
    """How many samples the flow has, by source, and in all."""
    counts = Sample.objects.filter(flow_id=flow_id).aggregate(
        captured=Count("id", filter=Q(source=Sample.Source.CAPTURED)),
        seeded=Count("id", filter=Q(source=Sample.Source.SEEDED)),
    )
    return {**counts, "total": counts["captured"] + counts["seeded"]}
