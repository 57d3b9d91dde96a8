"""The admin's dashboard: the index across accounts, a flow's page, deciding
suggestions from them, and a fixed number of queries whatever the traffic."""

import re
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from accounts import services
from flows.models import Call, Route
from llmtest import dashboard
from suggestions.models import Suggestion
from tests.factories import (
    AccountFactory,
    BenchmarkFactory,
    CallFactory,
    FlowFactory,
    SampleFactory,
    SuggestionFactory,
)
from tests.llmtest.seed import seed_month

pytestmark = pytest.mark.django_db

INDEX = "/admin/"


def _flow_page(flow_id: int) -> str:
    return f"/admin/dashboard/flow/{flow_id}/"


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    assert response.status_code == 200
    return len(queries)


def _traffic(flows: int, calls_each: int, accounts: int = 1) -> None:
    for n in range(accounts):
        account = AccountFactory(credits=Decimal("20"))
        for m in range(flows):
            flow = FlowFactory(account=account, name=f"flow-{n}-{m}")
            for k in range(calls_each):
                CallFactory(flow=flow, latency_ms=100.0 + k)
            SuggestionFactory(flow=flow)


def test_the_index_shows_spend_calls_latency_flows_suggestions_and_credits(staff):
    seeded = seed_month()

    response = staff.get(INDEX)

    page = response.content.decode()
    board = response.context["dashboard"]
    assert "Spend per day by flow, last 30 days" in page
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"' in page
    assert board["top_flows"][0].label == "support-bot"
    assert board["totals"]["calls"] == Call.objects.count()
    assert f'id="suggestion-{seeded.suggestion.pk}"' in page
    low = [a["email"] for a in board["accounts"] if a["low"]]
    assert low == ["globex@example.com"]
    assert "low on credit" in page
    # Django's own index stays: every model is still a click away.
    assert "/admin/flows/call/" in page and "Recent actions" in page


def test_the_index_takes_as_many_queries_for_a_busy_gateway_as_for_a_quiet_one(staff):
    _traffic(flows=1, calls_each=2)
    quiet = _queries(staff, INDEX)

    _traffic(flows=6, calls_each=20, accounts=3)
    busy = _queries(staff, INDEX)

    assert busy == quiet
    assert busy <= 20


def test_a_flows_page_takes_as_many_queries_however_much_it_holds(staff):
    flow = FlowFactory()
    CallFactory(flow=flow)
    quiet = _queries(staff, _flow_page(flow.pk))

    for model in ("gpt-4o", "gpt-4o-mini", "claude-haiku-4-5"):
        for _ in range(5):
            CallFactory(flow=flow, served_model=model)
    for _ in range(8):
        SampleFactory(flow=flow)
    for _ in range(4):
        BenchmarkFactory(flow=flow, result=None)
    Route.objects.create(flow=flow, from_model="gpt-4o", to_model="gpt-4o-mini")
    SuggestionFactory(flow=flow)
    busy = _queries(staff, _flow_page(flow.pk))

    assert busy == quiet
    assert busy <= 20


def test_an_empty_gateway_shows_an_empty_dashboard(staff):
    response = staff.get(INDEX)

    page = response.content.decode()
    assert "No calls in the last 30 days" in page
    assert "No suggestion waits for a decision." in page
    assert 'class="dash-card dash-low"' not in page
    assert "no accounts yet" in page


def test_an_empty_gateway_raises_no_credit_alarm(staff):
    board = staff.get(INDEX).context["dashboard"]

    assert board["totals"]["credits"] == "—"
    assert board["totals"]["days_left"] == "—"
    assert not board["totals"]["low_usd"] and not board["totals"]["low_days"]


def test_credits_that_nothing_spends_raise_no_runway_alarm(staff, settings):
    settings.CREDIT_WARNING_USD = 5.0
    AccountFactory(credits=Decimal("1"))

    response = staff.get(INDEX)

    totals = response.context["dashboard"]["totals"]
    page = response.content.decode()
    assert totals["days_left"] == "no spend in 7 days" and not totals["low_days"]
    assert totals["low_usd"]
    assert 'class="dash-card dash-low" id="card-credits"' in page
    assert 'class="dash-card" id="card-days"' in page


def test_an_overdrawn_account_heads_the_credits_list(staff):
    rich = AccountFactory(email="rich@example.com", credits=Decimal("1000"))
    call = CallFactory(flow__account=rich, cost_usd=Decimal("0.01"))
    services.charges_apply([services.Charge(rich.pk, call.id, Decimal("0.01"))])
    AccountFactory(email="idle@example.com", credits=Decimal("50"))
    overdrawn = AccountFactory(email="overdrawn@example.com", credits=Decimal("1"))
    overdrawn.credits_usd = Decimal("-5")
    overdrawn.save(update_fields=["credits_usd"])

    board = staff.get(INDEX).context["dashboard"]

    assert board["accounts"][0]["email"] == "overdrawn@example.com"
    assert board["accounts"][0]["credits"] == "-$5.00"


def test_a_flow_without_benchmarks_points_to_the_samples_endpoint(staff):
    flow = FlowFactory()

    page = staff.get(_flow_page(flow.pk)).content.decode()

    assert "it needs samples first (POST /api/samples)" in page
    assert "/api/benchmark)" not in page


def test_the_index_writes_small_amounts_without_an_exponent(staff):
    account = AccountFactory(credits=Decimal("20"))
    CallFactory(flow__account=account, cost_usd=Decimal("0.0000048"))

    page = staff.get(INDEX).content.decode()

    assert "$0.0000048" in page
    assert not re.search(r"\$[\d.,]+e[-+]", page, re.IGNORECASE)


def test_a_flows_page_shows_its_charts_models_route_samples_and_benchmarks(staff):
    seeded = seed_month()
    flow = seeded.flows["support-bot"]
    Route.objects.create(flow=flow, from_model="gpt-4.1", to_model="gpt-4o")

    response = staff.get(_flow_page(flow.pk))

    page = response.content.decode()
    context = response.context
    assert "Spend per day, last 30 days" in page
    assert "p95 latency per day, last 30 days" in page
    assert [m["model"] for m in context["models"]] == ["gpt-4o"]
    assert [(r.from_model, r.to_model) for r in context["routes"]] == [
        ("gpt-4.1", "gpt-4o")
    ]
    assert context["sample_count"]["total"] == 20
    assert "Cost against quality: challengers of gpt-4o" in page
    assert page.count('class="error-bar"') == 3
    kinds = {p["model"]: p["kind"] for p in context["points"]}
    assert kinds == {
        "gpt-4o-mini": "recommended",
        "claude-haiku-4-5": "other",
        "gpt-4.1": "other",
    }


def test_a_flows_page_plots_the_benchmark_it_is_asked_for(staff):
    seeded = seed_month()
    flow = seeded.flows["support-bot"]
    newer = BenchmarkFactory(
        flow=flow, result={**(seeded.benchmark.result or {}), "challengers": []}
    )

    newest = staff.get(_flow_page(flow.pk)).context
    asked = staff.get(f"{_flow_page(flow.pk)}?benchmark={seeded.benchmark.pk}").context

    assert newest["result"].benchmark_id == str(newer.pk)
    assert newest["points"] == []
    assert asked["result"].benchmark_id == str(seeded.benchmark.pk)
    assert len(asked["points"]) == 3


def test_the_flow_list_and_page_link_to_the_dashboard(staff):
    flow = FlowFactory()

    listing = staff.get("/admin/flows/flow/").content.decode()
    change = staff.get(f"/admin/flows/flow/{flow.pk}/change/").content.decode()

    assert f'href="{_flow_page(flow.pk)}"' in listing
    assert f'href="{_flow_page(flow.pk)}"' in change


def test_an_unknown_flow_is_a_404(staff):
    assert staff.get(_flow_page(999_999)).status_code == 404


def test_staff_who_may_not_see_calls_get_no_dashboard(client, django_user_model):
    user = django_user_model.objects.create_user("viewer", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_account"))
    client.force_login(user)
    flow = FlowFactory()

    index = client.get(INDEX)

    assert index.status_code == 200
    assert "dashboard" not in index.context
    assert client.get(_flow_page(flow.pk)).status_code == 403


def _decide(client: Client, suggestion: Suggestion, action: str, **data: Any):
    url = f"/admin/suggestions/suggestion/{suggestion.pk}/{action}/"
    return client.post(url, data)


def test_accepting_from_the_dashboard_routes_the_flow_and_comes_back(staff):
    suggestion = SuggestionFactory()

    response = _decide(staff, suggestion, "accept", next=INDEX)

    assert response.status_code == 302 and response["Location"] == INDEX
    suggestion.refresh_from_db()
    assert suggestion.status == Suggestion.Status.ACCEPTED
    assert Route.objects.filter(
        flow=suggestion.flow, from_model="gpt-4o", to_model="gpt-4o-mini", active=True
    ).exists()
    assert "No suggestion waits" in staff.get(INDEX).content.decode()


def test_dismissing_from_a_flows_page_comes_back_to_it(staff):
    suggestion = SuggestionFactory()
    page = _flow_page(suggestion.flow_id)

    response = _decide(staff, suggestion, "dismiss", next=page)

    assert response["Location"] == page
    suggestion.refresh_from_db()
    assert suggestion.status == Suggestion.Status.DISMISSED
    assert not Route.objects.exists()


def test_a_next_page_on_another_site_is_ignored(staff):
    suggestion = SuggestionFactory()

    response = _decide(staff, suggestion, "dismiss", next="https://evil.example/")

    change = f"/admin/suggestions/suggestion/{suggestion.pk}/change/"
    assert response["Location"] == change


def test_the_dashboards_buttons_carry_the_csrf_token_the_views_demand(
    django_user_model,
):
    browser = Client(enforce_csrf_checks=True)
    user = django_user_model.objects.create_superuser("admin", "admin@example.com")
    browser.force_login(user)
    suggestion = SuggestionFactory()

    forged = _decide(browser, suggestion, "accept", next=INDEX)
    page = browser.get(INDEX)
    token = page.context["csrf_token"]
    accepted = _decide(
        browser, suggestion, "accept", next=INDEX, csrfmiddlewaretoken=str(token)
    )

    assert forged.status_code == 403
    assert 'name="csrfmiddlewaretoken"' in page.content.decode()
    assert accepted.status_code == 302
    suggestion.refresh_from_db()
    assert suggestion.status == Suggestion.Status.ACCEPTED


def test_days_left_reads_as_words_at_the_ends():
    assert dashboard.days_left(None) == "no spend in 7 days"
    assert dashboard.days_left(400.0) == "over a year"
    assert dashboard.days_left(12.34) == "12.3 days"
