"""The dashboard's reads over calls: spend per day, percentiles in SQL, models."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from flows import selectors
from flows.models import Call, Route
from tests.factories import CallFactory, FlowFactory

pytestmark = pytest.mark.django_db


def _days_ago(days: int, hours: int = 12):
    today = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    return today - timedelta(days=days) + timedelta(hours=hours)


def test_the_percentile_in_sql_is_the_nearest_rank_percentile_of_each_group():
    support, search = FlowFactory(name="support-bot"), FlowFactory(name="search")
    support_latencies = [float(v) for v in (120, 80, 300, 95, 410, 150, 90, 700)]
    for latency in support_latencies:
        CallFactory(flow=support, latency_ms=latency)
    CallFactory(flow=search, latency_ms=42.0)

    p95 = selectors.latency_percentile_by(Call.objects.all(), ["flow_id"], 95)
    p50 = selectors.latency_percentile_by(Call.objects.all(), ["flow_id"], 50)

    ordered = sorted(support_latencies)
    assert p95[(support.pk,)] == selectors.percentile(ordered, 95) == 700.0
    assert p50[(support.pk,)] == selectors.percentile(ordered, 50) == 120.0
    assert p95[(search.pk,)] == 42.0


def test_the_percentile_of_no_group_covers_every_call():
    for latency in range(1, 101):
        CallFactory(latency_ms=float(latency))

    assert selectors.latency_percentile_by(Call.objects.all(), [], 95) == {(): 95.0}


def test_spend_per_day_puts_each_flows_spend_on_its_day_and_sums_the_rest():
    days = selectors.window_days(3)
    big, small, tiny = FlowFactory(name="big"), FlowFactory(), FlowFactory()
    CallFactory(flow=big, cost_usd=Decimal("2"), created_at=_days_ago(2))
    CallFactory(flow=big, cost_usd=Decimal("1"), created_at=_days_ago(0, hours=0))
    CallFactory(flow=small, cost_usd=Decimal("0.5"), created_at=_days_ago(1))
    CallFactory(flow=tiny, cost_usd=Decimal("0.25"), created_at=_days_ago(1))
    CallFactory(flow=big, cost_usd=Decimal("9"), created_at=_days_ago(5))

    spend = selectors.spend_per_day(days, top=1)

    assert [f.flow for f in spend.flows] == ["big"]
    assert spend.flows[0].spend_usd == Decimal("3")
    assert spend.per_flow[big.pk] == [Decimal("2"), Decimal("0"), Decimal("1")]
    assert spend.others == [Decimal("0"), Decimal("0.75"), Decimal("0")]
    assert spend.spend_usd == Decimal("3.75")


def test_top_flows_count_proxied_calls_only_but_every_sources_spend():
    days = selectors.window_days(1)
    flow = FlowFactory(name="support-bot")
    CallFactory(flow=flow, cost_usd=Decimal("1"), latency_ms=100.0)
    CallFactory(
        flow=flow,
        cost_usd=Decimal("4"),
        source=Call.Source.BENCHMARK,
        latency_ms=9000.0,
    )
    CallFactory(flow=flow, cost_usd=None, priced=False, latency_ms=200.0)

    spend = selectors.spend_per_day(days, top=5)

    (row,) = spend.flows
    assert (row.flow, row.calls, row.spend_usd) == ("support-bot", 2, Decimal("5"))
    assert row.p95_latency_ms == 200.0
    assert (spend.calls, spend.spend_usd, spend.p95_latency_ms) == (
        2,
        Decimal("5"),
        200.0,
    )


def test_flow_days_has_a_row_for_every_day_with_its_p95():
    days = selectors.window_days(2)
    flow = FlowFactory()
    CallFactory(flow=flow, created_at=_days_ago(0, hours=1), latency_ms=300.0)
    CallFactory(flow=flow, created_at=_days_ago(0, hours=2), latency_ms=100.0)

    rows = selectors.flow_days(flow.pk, days)

    assert [(r.calls, r.p95_latency_ms) for r in rows] == [(0, None), (2, 300.0)]
    assert rows[1].spend_usd == Decimal("0.002")


def test_flow_models_used_lists_each_served_model_busiest_first():
    days = selectors.window_days(30)
    flow = FlowFactory()
    for latency in (100.0, 200.0, 300.0):
        CallFactory(flow=flow, served_model="gpt-4o-mini", latency_ms=latency)
    CallFactory(flow=flow, served_model="gpt-4o", latency_ms=900.0)

    rows = selectors.flow_models_used(flow.pk, days)

    assert [(r.model, r.calls, r.p50_latency_ms, r.p95_latency_ms) for r in rows] == [
        ("gpt-4o-mini", 3, 200.0, 300.0),
        ("gpt-4o", 1, 900.0, 900.0),
    ]


def test_flow_active_routes_leave_out_switched_off_ones():
    flow = FlowFactory()
    Route.objects.create(flow=flow, from_model="gpt-4o", to_model="gpt-4o-mini")
    Route.objects.create(
        flow=flow, from_model="gpt-4.1", to_model="gpt-4o", active=False
    )

    routes = selectors.flow_active_routes(flow.pk)

    assert [(r.from_model, r.to_model) for r in routes] == [("gpt-4o", "gpt-4o-mini")]
