"""GET /api/flows and GET /api/status: per-flow figures, scoped to the caller."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts.models import Account
from flows.models import Call, Flow
from tests.factories import AccountFactory, CallFactory, FlowFactory, api_key_for

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def _api(account: Account) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key_for(account)}")


def _money(value: float | str) -> Decimal:
    return Decimal(str(value))


@pytest.fixture
def busy_account() -> Account:
    """Two flows: six mini calls (one timed out), two unpriced calls, one more."""
    account = AccountFactory()
    support = FlowFactory(account=account, name="support-bot")
    summarizer = FlowFactory(account=account, name="summarizer")
    for minute, latency in enumerate([100.0, 200.0, 300.0, 400.0, 1000.0]):
        CallFactory(
            flow=support,
            latency_ms=latency,
            created_at=NOON + timedelta(minutes=minute),
        )
    CallFactory(
        flow=support,
        latency_ms=2000.0,
        outcome=Call.Outcome.TIMEOUT,
        http_status=504,
        cost_usd=Decimal("0.0005"),
        created_at=NOON + timedelta(hours=1),
    )
    for latency in [80.0, 120.0]:
        CallFactory(
            flow=support,
            requested_model="local/my-finetune",
            served_model="my-finetune",
            provider="local",
            latency_ms=latency,
            cost_usd=None,
            priced=False,
            created_at=NOON,
        )
    CallFactory(flow=summarizer, input_tokens=700, output_tokens=300, created_at=NOON)
    return account


def test_flows_lists_one_row_per_flow_and_model_busiest_first(busy_account):
    response = _api(busy_account).get("/api/flows")

    rows = response.json()
    assert response.status_code == 200
    assert [(row["flow"], row["model"], row["calls"]) for row in rows] == [
        ("support-bot", "gpt-4o-mini", 6),
        ("support-bot", "my-finetune", 2),
        ("summarizer", "gpt-4o-mini", 1),
    ]


def test_flows_rows_carry_the_contract_fields_and_the_extra_figures(busy_account):
    rows = _api(busy_account).get("/api/flows").json()

    assert set(rows[0]) == {
        "flow",
        "model",
        "calls",
        "avg_latency_ms",
        "total_cost_usd",
        "p50_latency_ms",
        "p95_latency_ms",
        "failed_calls",
        "unpriced_calls",
        "estimated_calls",
        "input_tokens",
        "output_tokens",
        "last_call_at",
    }


def test_flows_figures_count_failed_calls_and_their_latency_and_cost(busy_account):
    mini = _api(busy_account).get("/api/flows").json()[0]

    # Latencies 100, 200, 300, 400, 1000 and 2000 ms; nearest-rank percentiles.
    assert mini["avg_latency_ms"] == 666.7
    assert (mini["p50_latency_ms"], mini["p95_latency_ms"]) == (300.0, 2000.0)
    assert _money(mini["total_cost_usd"]) == Decimal("0.0055")
    assert (mini["failed_calls"], mini["unpriced_calls"]) == (1, 0)
    assert (mini["input_tokens"], mini["output_tokens"]) == (60, 30)
    assert mini["last_call_at"] == "2026-03-02T13:00:00Z"


def test_flows_figures_count_the_calls_priced_from_estimated_usage(busy_account):
    flow = Flow.objects.get(account=busy_account, name="summarizer")
    CallFactory(flow=flow, usage_estimated=True, created_at=NOON)

    rows = _api(busy_account).get("/api/flows").json()
    (summarizer,) = [row for row in rows if row["flow"] == "summarizer"]

    assert (summarizer["calls"], summarizer["estimated_calls"]) == (2, 1)
    assert summarizer["unpriced_calls"] == 0


def test_flows_figures_show_unpriced_calls_as_unpriced_not_free(busy_account):
    unpriced = _api(busy_account).get("/api/flows").json()[1]

    assert unpriced["unpriced_calls"] == 2
    assert _money(unpriced["total_cost_usd"]) == 0
    assert unpriced["failed_calls"] == 0
    assert unpriced["avg_latency_ms"] == 100.0
    assert (unpriced["p50_latency_ms"], unpriced["p95_latency_ms"]) == (80.0, 120.0)


def test_a_failed_call_that_used_no_tokens_is_failed_not_unpriced():
    account = AccountFactory()
    flow = FlowFactory(account=account)
    CallFactory(flow=flow)
    # The proxy records a failure with no usage as costing exactly nothing.
    CallFactory(
        flow=flow,
        outcome=Call.Outcome.UPSTREAM_ERROR,
        http_status=429,
        input_tokens=0,
        output_tokens=0,
        cost_usd=Decimal(0),
        priced=True,
    )
    CallFactory(
        flow=flow,
        outcome=Call.Outcome.UPSTREAM_ERROR,
        http_status=502,
        output_tokens=40,
        cost_usd=None,
        priced=False,
    )

    row = _api(account).get("/api/flows").json()[0]

    assert (row["calls"], row["failed_calls"], row["unpriced_calls"]) == (3, 2, 1)


def test_flows_of_a_single_call_have_that_calls_figures(busy_account):
    single = _api(busy_account).get("/api/flows").json()[2]

    assert single["avg_latency_ms"] == single["p50_latency_ms"] == 100.0
    assert single["p95_latency_ms"] == 100.0
    assert _money(single["total_cost_usd"]) == Decimal("0.001")
    assert (single["input_tokens"], single["output_tokens"]) == (700, 300)


def test_flows_is_empty_for_an_account_without_calls():
    response = _api(AccountFactory()).get("/api/flows")

    assert response.status_code == 200
    assert response.json() == []


def test_flows_of_another_account_are_never_shown(busy_account):
    other = AccountFactory()
    CallFactory(flow=FlowFactory(account=other, name="support-bot"), latency_ms=5.0)

    theirs = _api(other).get("/api/flows").json()
    mine = _api(busy_account).get("/api/flows").json()

    assert [(row["flow"], row["calls"], row["avg_latency_ms"]) for row in theirs] == [
        ("support-bot", 1, 5.0)
    ]
    assert [row["calls"] for row in mine] == [6, 2, 1]


def test_status_counts_the_callers_flows_calls_and_spend(busy_account):
    FlowFactory(account=busy_account, name="no-calls-yet")

    response = _api(busy_account).get("/api/status")

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"flows", "calls", "spend", "pendingSuggestions"}
    assert (body["flows"], body["calls"], body["pendingSuggestions"]) == (3, 9, 0)
    assert _money(body["spend"]) == Decimal("0.0065")


def test_status_of_another_account_counts_nothing_of_the_first(busy_account):
    response = _api(AccountFactory()).get("/api/status")

    body = response.json()
    assert (body["flows"], body["calls"], body["pendingSuggestions"]) == (0, 0, 0)
    assert _money(body["spend"]) == 0


def test_a_flow_name_used_by_two_accounts_is_two_flows():
    first, second = AccountFactory(), AccountFactory()

    FlowFactory(account=first, name="support-bot")
    FlowFactory(account=second, name="support-bot")

    assert Flow.objects.filter(name="support-bot").count() == 2
    assert _api(first).get("/api/status").json()["flows"] == 1
