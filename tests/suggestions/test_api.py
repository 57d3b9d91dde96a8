"""GET /api/suggestions, POST /api/suggestions/<id> and the status count."""

import threading
from typing import Any

import httpx
import openai
import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import Account
from flows.models import Call, Route
from llmtest.errors import GatewayError
from suggestions import services
from suggestions.models import Suggestion
from tests.conftest import settle
from tests.factories import (
    AccountFactory,
    BenchmarkFactory,
    FlowFactory,
    SuggestionFactory,
    api_key_for,
)

pytestmark = pytest.mark.django_db

SUGGESTIONS = "/api/suggestions"


def _api(account: Account) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key_for(account)}")


def _decide(account: Account, suggestion: Suggestion, action: Any) -> Any:
    body = {} if action is None else {"action": action}
    return _api(account).post(f"{SUGGESTIONS}/{suggestion.pk}", body, format="json")


def _error(response: Any) -> dict[str, Any]:
    return response.json()["error"]


@pytest.fixture
def team() -> Account:
    return AccountFactory()


@pytest.fixture
def pending(team) -> Suggestion:
    return SuggestionFactory(flow=FlowFactory(account=team, name="support-bot"))


# --- listing -------------------------------------------------------------------------


def test_the_list_shows_pending_suggestions_with_their_figures(team):
    benchmark = BenchmarkFactory(flow=FlowFactory(account=team, name="support-bot"))
    suggestion = SuggestionFactory(flow=benchmark.flow, benchmark=benchmark)

    response = _api(team).get(SUGGESTIONS)

    assert response.status_code == 200
    [row] = response.json()
    assert row == {
        "id": suggestion.pk,
        "flow": "support-bot",
        "current_model": "gpt-4o",
        "suggested_model": "gpt-4o-mini",
        "optimize_for": "balanced",
        "summary": suggestion.summary,
        "figures": {"cost_change_pct": -83.3, "samples": 50},
        "status": "pending",
        "benchmark_id": str(benchmark.pk),
        "superseded_by": None,
        "created_at": row["created_at"],
        "decided_at": None,
    }


def test_the_list_is_newest_first(team):
    flow = FlowFactory(account=team)
    older, newer = SuggestionFactory(flow=flow), SuggestionFactory(flow=flow)

    response = _api(team).get(SUGGESTIONS)

    assert [row["id"] for row in response.json()] == [newer.pk, older.pk]


@pytest.mark.parametrize("status", ["pending", "accepted", "dismissed"])
def test_the_list_filters_by_status(team, status):
    flow = FlowFactory(account=team)
    wanted = {
        name: SuggestionFactory(flow=flow, status=name).pk
        for name in ["pending", "accepted", "dismissed"]
    }[status]

    response = _api(team).get(SUGGESTIONS, {"status": status})

    assert [row["id"] for row in response.json()] == [wanted]


@pytest.mark.parametrize("status", ["open", "all", "PENDING"])
def test_an_unknown_status_is_refused(team, status):
    response = _api(team).get(SUGGESTIONS, {"status": status})

    assert response.status_code == 400
    assert _error(response)["param"] == "status"
    assert _error(response)["type"] == "invalid_request_error"


def test_the_list_holds_only_the_callers_suggestions(team, pending):
    SuggestionFactory()

    response = _api(team).get(SUGGESTIONS)

    assert [row["id"] for row in response.json()] == [pending.pk]


def test_an_empty_status_means_the_default(team, pending):
    response = _api(team).get(SUGGESTIONS, {"status": ""})

    assert [row["id"] for row in response.json()] == [pending.pk]


def test_the_list_needs_a_key():
    response = APIClient().get(SUGGESTIONS)

    assert response.status_code == 401


def test_the_status_counts_the_callers_pending_suggestions(team, pending):
    SuggestionFactory(flow=pending.flow, status=Suggestion.Status.DISMISSED)
    SuggestionFactory()

    response = _api(team).get("/api/status")

    assert response.json()["pendingSuggestions"] == 1


# --- deciding ------------------------------------------------------------------------


def test_accepting_routes_the_flows_calls_to_the_suggested_model(team, pending):
    response = _decide(team, pending, "accept")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "accepted" and body["decided_at"] is not None
    assert body["route"] == {"from_model": "gpt-4o", "to_model": "gpt-4o-mini"}
    route = Route.objects.get(flow=pending.flow, active=True)
    assert (route.from_model, route.to_model) == ("gpt-4o", "gpt-4o-mini")
    assert route.note == f"suggestion {pending.pk}"
    pending.refresh_from_db()
    assert pending.status == Suggestion.Status.ACCEPTED


def test_dismissing_marks_the_suggestion_and_routes_nothing(team, pending):
    response = _decide(team, pending, "dismiss")

    assert response.status_code == 200
    assert response.json()["status"] == "dismissed" and response.json()["route"] is None
    pending.refresh_from_db()
    assert pending.status == Suggestion.Status.DISMISSED
    assert pending.decided_at is not None
    assert not Route.objects.exists()


@pytest.mark.parametrize("action", ["approve", "", None, 1])
def test_an_unknown_or_missing_action_is_refused(team, pending, action):
    response = _decide(team, pending, action)

    assert response.status_code == 400
    assert _error(response)["param"] == "action"
    pending.refresh_from_db()
    assert pending.status == Suggestion.Status.PENDING


def test_another_accounts_suggestion_is_not_found(pending):
    response = _decide(AccountFactory(), pending, "accept")

    assert response.status_code == 404
    assert _error(response)["type"] == "not_found_error"
    pending.refresh_from_db()
    assert pending.status == Suggestion.Status.PENDING


def test_an_unknown_suggestion_is_not_found(team):
    response = _api(team).post(
        f"{SUGGESTIONS}/999999", {"action": "dismiss"}, format="json"
    )

    assert response.status_code == 404
    assert _error(response)["message"] == "No suggestion with id 999999."


@pytest.mark.parametrize("second", ["accept", "dismiss"])
def test_deciding_twice_conflicts(team, pending, second):
    _decide(team, pending, "accept")

    response = _decide(team, pending, second)

    assert response.status_code == 409
    assert _error(response)["code"] == "already_decided"
    assert (
        _error(response)["message"] == f"Suggestion {pending.pk} was already accepted."
    )
    assert Route.objects.count() == 1


def test_a_superseded_suggestion_cannot_be_accepted(team, pending):
    newer = SuggestionFactory(flow=pending.flow)
    pending.status, pending.superseded_by = Suggestion.Status.DISMISSED, newer
    pending.save()

    response = _decide(team, pending, "accept")

    assert response.status_code == 409
    assert "superseded by suggestion" in _error(response)["message"]
    assert not Route.objects.exists()


def test_a_decision_taken_meanwhile_is_not_overwritten(team, pending):
    stale = Suggestion.objects.get(pk=pending.pk)
    _decide(team, pending, "dismiss")

    with pytest.raises(GatewayError) as raised:
        services.suggestion_accept(stale)

    assert raised.value.status == 409
    assert not Route.objects.exists()
    assert Suggestion.objects.get(pk=pending.pk).status == Suggestion.Status.DISMISSED


@pytest.mark.django_db(transaction=True)
def test_of_two_concurrent_decisions_only_one_succeeds(team, pending):
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def decide(action: Any) -> None:
        try:
            suggestion = Suggestion.objects.select_related("flow").get(pk=pending.pk)
            start.wait(timeout=5)
            action(suggestion)
            outcomes.append("decided")
        except GatewayError as error:
            outcomes.append(str(error.status))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=(services.suggestion_accept,)),
        threading.Thread(target=decide, args=(services.suggestion_dismiss,)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)

    assert sorted(outcomes) == ["409", "decided"]
    pending.refresh_from_db()
    routed = Route.objects.filter(active=True).exists()
    assert routed == (pending.status == Suggestion.Status.ACCEPTED)


# --- accepted, then served -----------------------------------------------------------


@pytest.fixture
def sdk(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/v1",
        api_key=api_key,
        default_headers={"X-Flow": "support-bot"},
        max_retries=0,
    )


def _accept_over_http(gateway: Any, api_key: str, suggestion: Suggestion) -> None:
    response = httpx.post(
        f"{gateway.url}{SUGGESTIONS}/{suggestion.pk}",
        json={"action": "accept"},
        headers={"Authorization": f"Bearer {api_key}"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


@pytest.mark.django_db(transaction=True)
def test_once_accepted_the_apps_calls_are_served_by_the_suggested_model(
    gateway, sdk, api_key, account, fake_openai
):
    flow = FlowFactory(account=account, name="support-bot")
    suggestion = SuggestionFactory(flow=flow)

    _accept_over_http(gateway, api_key, suggestion)
    sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    settle()

    assert fake_openai.last_request.json["model"] == "gpt-4o-mini"
    call = Call.objects.get()
    assert (call.requested_model, call.served_model) == ("gpt-4o", "gpt-4o-mini")


@pytest.mark.django_db(transaction=True)
def test_accepting_a_switch_away_from_a_routed_model_carries_the_app_along(
    gateway, sdk, api_key, account, fake_openai
):
    flow = FlowFactory(account=account, name="support-bot")
    _accept_over_http(gateway, api_key, SuggestionFactory(flow=flow))
    then = SuggestionFactory(
        flow=flow, current_model="gpt-4o-mini", suggested_model="gpt-4.1-nano"
    )

    _accept_over_http(gateway, api_key, then)
    sdk.chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    settle()

    assert fake_openai.last_request.json["model"] == "gpt-4.1-nano"
    call = Call.objects.get()
    assert (call.requested_model, call.served_model) == ("gpt-4o", "gpt-4.1-nano")
