"""The suggestion admin: reading suggestions, accepting and dismissing them."""

from typing import Any

import pytest
from django.contrib.messages import get_messages
from django.test import Client

from flows.models import Route
from suggestions.models import Suggestion
from tests.factories import BenchmarkFactory, FlowFactory, SuggestionFactory

pytestmark = pytest.mark.django_db

SUGGESTIONS = "/admin/suggestions/suggestion/"


def _act(staff: Client, action: str, *selected: Suggestion) -> list[str]:
    response = staff.post(
        SUGGESTIONS,
        {"action": action, "_selected_action": [s.pk for s in selected]},
        follow=True,
    )
    assert response.status_code == 200
    return [str(message) for message in get_messages(response.wsgi_request)]


def _status(suggestion: Suggestion) -> str:
    suggestion.refresh_from_db()
    return suggestion.status


def _routes() -> set[tuple[str, str, str]]:
    active = Route.objects.filter(active=True)
    return set(active.values_list("flow__name", "from_model", "to_model"))


def test_the_list_shows_each_switch_and_its_status(staff):
    SuggestionFactory(flow=FlowFactory(name="support-bot"))

    page = staff.get(SUGGESTIONS).content.decode()

    assert "support-bot" in page and "gpt-4o → gpt-4o-mini" in page
    assert "Pending" in page


def test_the_list_filters_by_status(staff):
    pending = SuggestionFactory()
    SuggestionFactory(status=Suggestion.Status.DISMISSED)

    response = staff.get(f"{SUGGESTIONS}?status__exact=pending")

    assert [s.pk for s in response.context["cl"].result_list] == [pending.pk]


def test_accepting_selected_suggestions_routes_their_flows(staff):
    support = SuggestionFactory(flow=FlowFactory(name="support-bot"))
    summarizer = SuggestionFactory(
        flow=FlowFactory(name="summarizer"), suggested_model="claude-haiku-4-5"
    )

    messages = _act(staff, "accept_selected", support, summarizer)

    assert messages == ["Accepted 2 suggestion(s)."]
    assert (_status(support), _status(summarizer)) == ("accepted", "accepted")
    assert _routes() == {
        ("support-bot", "gpt-4o", "gpt-4o-mini"),
        ("summarizer", "gpt-4o", "claude-haiku-4-5"),
    }


def test_deciding_selected_suggestions_skips_those_already_decided(staff):
    pending = SuggestionFactory()
    accepted = SuggestionFactory(status=Suggestion.Status.ACCEPTED)

    messages = _act(staff, "dismiss_selected", pending, accepted)

    assert messages == [
        "Dismissed 1 suggestion(s).",
        "Skipped 1 suggestion(s) already decided.",
    ]
    assert (_status(pending), _status(accepted)) == ("dismissed", "accepted")


def test_a_pending_suggestions_page_has_accept_and_dismiss_buttons(staff):
    suggestion = SuggestionFactory()

    page = staff.get(f"{SUGGESTIONS}{suggestion.pk}/change/").content.decode()

    assert f'formaction="{SUGGESTIONS}{suggestion.pk}/accept/"' in page
    assert f'formaction="{SUGGESTIONS}{suggestion.pk}/dismiss/"' in page
    assert 'name="_save"' not in page


def test_a_decided_suggestions_page_has_no_decision_buttons(staff):
    suggestion = SuggestionFactory(status=Suggestion.Status.DISMISSED)

    page = staff.get(f"{SUGGESTIONS}{suggestion.pk}/change/").content.decode()

    assert "/accept/" not in page and "/dismiss/" not in page


def test_a_suggestions_page_shows_its_figures_and_its_benchmark(staff):
    benchmark = BenchmarkFactory()
    suggestion = SuggestionFactory(
        flow=benchmark.flow, benchmark=benchmark, figures={"cost_change_pct": -50.0}
    )

    page = staff.get(f"{SUGGESTIONS}{suggestion.pk}/change/").content.decode()

    assert "&quot;cost_change_pct&quot;: -50.0" in page
    assert str(benchmark.pk) in page


def test_the_accept_button_accepts_and_comes_back_to_the_page(staff):
    suggestion = SuggestionFactory(flow=FlowFactory(name="support-bot"))

    response = staff.post(f"{SUGGESTIONS}{suggestion.pk}/accept/")

    assert response.status_code == 302
    assert response.url == f"{SUGGESTIONS}{suggestion.pk}/change/"
    assert _status(suggestion) == "accepted"
    assert _routes() == {("support-bot", "gpt-4o", "gpt-4o-mini")}


def test_the_dismiss_button_on_a_decided_suggestion_says_so(staff):
    suggestion = SuggestionFactory(status=Suggestion.Status.ACCEPTED)

    response = staff.post(f"{SUGGESTIONS}{suggestion.pk}/dismiss/", follow=True)

    messages = [str(m) for m in get_messages(response.wsgi_request)]
    assert messages == [f"Suggestion {suggestion.pk} was already accepted."]
    assert _status(suggestion) == "accepted"


@pytest.mark.parametrize("method", ["get", "put"])
def test_the_decision_urls_take_only_a_post(staff, method: str):
    suggestion = SuggestionFactory()

    response: Any = getattr(staff, method)(f"{SUGGESTIONS}{suggestion.pk}/accept/")

    assert response.status_code == 405
    assert _status(suggestion) == "pending"


def test_the_decision_urls_need_a_csrf_token(django_user_model):
    user = django_user_model.objects.create_superuser("admin", "admin@example.com")
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    suggestion = SuggestionFactory()

    response = client.post(f"{SUGGESTIONS}{suggestion.pk}/accept/")

    assert response.status_code == 403
    assert _status(suggestion) == "pending"


def test_deciding_needs_staff(client, django_user_model):
    user = django_user_model.objects.create_user("someone", password="pw-for-tests")
    client.force_login(user)
    suggestion = SuggestionFactory()

    response = client.post(f"{SUGGESTIONS}{suggestion.pk}/accept/")

    assert response.status_code == 302 and "/login/" in response.url
    assert _status(suggestion) == "pending"
