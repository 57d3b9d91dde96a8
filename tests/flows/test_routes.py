"""Routes: the services that write them, and their admin pages."""

import pytest
from django.test import Client

from flows import config, routes
from flows.models import Flow, Route
from proxy import providers
from tests.factories import FlowFactory

pytestmark = pytest.mark.django_db

ROUTES = "/admin/flows/route/"


@pytest.fixture
def flow() -> Flow:
    return FlowFactory(name="support-bot")


def _active(flow: Flow) -> set[tuple[str, str]]:
    return set(
        Route.objects.filter(flow=flow, active=True).values_list(
            "from_model", "to_model"
        )
    )


# --- services ------------------------------------------------------------------------


def test_setting_a_route_makes_it_the_active_one_for_its_model(flow):
    route = routes.route_set(flow, "gpt-4o", "gpt-4o-mini", note="cheaper")

    assert route.active and route.note == "cheaper"
    assert _active(flow) == {("gpt-4o", "gpt-4o-mini")}


def test_setting_a_route_again_switches_the_previous_one_off(flow):
    first = routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    second = routes.route_set(flow, "gpt-4o", "claude-haiku-4-5")

    first.refresh_from_db()
    assert not first.active and second.active
    assert _active(flow) == {("gpt-4o", "claude-haiku-4-5")}


def test_a_route_from_a_model_to_itself_is_refused(flow):
    with pytest.raises(ValueError, match="itself"):
        routes.route_set(flow, "gpt-4o", "gpt-4o")

    assert not Route.objects.exists()


def test_a_route_to_a_model_already_routed_elsewhere_carries_the_chain_along(flow):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    routes.route_set(flow, "gpt-4o-mini", "claude-haiku-4-5", note="suggestion 2")

    assert _active(flow) == {
        ("gpt-4o", "claude-haiku-4-5"),
        ("gpt-4o-mini", "claude-haiku-4-5"),
    }
    old = Route.objects.get(flow=flow, from_model="gpt-4o", to_model="gpt-4o-mini")
    assert not old.active
    chained = Route.objects.get(flow=flow, from_model="gpt-4o", active=True)
    assert chained.note == "suggestion 2 (was gpt-4o -> gpt-4o-mini)"


def test_a_chain_that_would_lead_back_to_its_own_model_is_switched_off(flow):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    routes.route_set(flow, "gpt-4o-mini", "gpt-4o")

    assert _active(flow) == {("gpt-4o-mini", "gpt-4o")}


def test_another_flows_routes_are_left_alone(flow):
    other = FlowFactory(account=flow.account, name="summarizer")
    routes.route_set(other, "gpt-4o", "gpt-4o-mini")

    routes.route_set(flow, "gpt-4o-mini", "claude-haiku-4-5")

    assert _active(other) == {("gpt-4o", "gpt-4o-mini")}


def test_disabling_a_route_leaves_the_model_unrouted(flow):
    route = routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    routes.route_disable(route)

    route.refresh_from_db()
    assert not route.active
    assert _active(flow) == set()


def test_enabling_a_route_switches_off_the_one_that_replaced_it(flow):
    first = routes.route_set(flow, "gpt-4o", "gpt-4o-mini")
    routes.route_set(flow, "gpt-4o", "claude-haiku-4-5")

    routes.route_enable(first)

    assert _active(flow) == {("gpt-4o", "gpt-4o-mini")}


def test_the_proxys_snapshot_sees_a_change_once_it_commits(
    flow, django_capture_on_commit_callbacks
):
    assert config.config().route(flow.account_id, "support-bot", "gpt-4o") is None

    with django_capture_on_commit_callbacks(execute=True):
        route = routes.route_set(flow, "gpt-4o", "gpt-4o-mini")
    routed = config.config().route(flow.account_id, "support-bot", "gpt-4o")
    with django_capture_on_commit_callbacks(execute=True):
        routes.route_disable(route)
    unrouted = config.config().route(flow.account_id, "support-bot", "gpt-4o")

    assert (routed, unrouted) == ("gpt-4o-mini", None)


# --- admin ---------------------------------------------------------------------------


def _act(staff: Client, action: str, *selected: Route) -> None:
    response = staff.post(
        ROUTES,
        {"action": action, "_selected_action": [route.pk for route in selected]},
    )
    assert response.status_code == 302


def test_the_route_list_shows_each_route_and_whether_it_is_on(staff, flow):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini", note="accepted by hand")

    response = staff.get(ROUTES)

    page = response.content.decode()
    assert response.status_code == 200
    assert "gpt-4o → gpt-4o-mini" in page and "accepted by hand" in page


def test_switching_a_route_off_and_on_in_the_admin_is_reversible(staff, flow):
    route = routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    _act(staff, "switch_off", route)
    off = _active(flow)
    _act(staff, "switch_on", route)

    assert off == set()
    assert _active(flow) == {("gpt-4o", "gpt-4o-mini")}


def test_switching_an_old_route_on_in_the_admin_replaces_the_newer_one(staff, flow):
    old = routes.route_set(flow, "gpt-4o", "gpt-4o-mini")
    routes.route_set(flow, "gpt-4o", "claude-haiku-4-5")

    _act(staff, "switch_on", old)

    assert _active(flow) == {("gpt-4o", "gpt-4o-mini")}


@pytest.fixture
def providers_configured(settings):
    settings.OPENAI_API_KEY = "sk-test-openai-provider-key-0000"
    settings.ANTHROPIC_API_KEY = "sk-ant-test-anthropic-provider-key-0000"
    providers.invalidate()
    yield
    providers.invalidate()


def test_a_route_added_in_the_admin_replaces_the_models_active_one(
    staff, flow, providers_configured
):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini")
    routes.route_set(flow, "gpt-4o-mini", "gpt-4.1-mini")

    response = staff.post(
        f"{ROUTES}add/",
        {
            "flow": flow.pk,
            "from_model": "gpt-4o",
            "to_model": "claude-haiku-4-5",
            "note": "by hand",
        },
    )

    assert response.status_code == 302
    assert _active(flow) == {
        ("gpt-4o", "claude-haiku-4-5"),
        ("gpt-4o-mini", "gpt-4.1-mini"),
    }


@pytest.mark.parametrize(
    ("to_model", "why"),
    [("nope/model-x", "No configured provider"), ("mystery-9", "No configured")],
)
def test_the_admin_refuses_a_route_to_a_model_nothing_serves(
    staff, flow, providers_configured, to_model, why
):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    response = staff.post(
        f"{ROUTES}add/",
        {"flow": flow.pk, "from_model": "gpt-4o-mini", "to_model": to_model},
    )

    assert response.status_code == 200
    assert why in response.content.decode()
    # Nothing changed: the route that led to gpt-4o-mini was not repointed.
    assert _active(flow) == {("gpt-4o", "gpt-4o-mini")}


def test_the_admin_refuses_a_route_to_a_provider_without_a_key(staff, flow, settings):
    settings.ANTHROPIC_API_KEY = ""
    providers.invalidate()

    response = staff.post(
        f"{ROUTES}add/",
        {"flow": flow.pk, "from_model": "gpt-4o", "to_model": "claude-haiku-4-5"},
    )

    assert response.status_code == 200
    assert "no API key" in response.content.decode()
    assert not Route.objects.exists()


def test_the_admin_refuses_a_route_from_a_model_to_itself(staff, flow):
    response = staff.post(
        f"{ROUTES}add/",
        {"flow": flow.pk, "from_model": "gpt-4o", "to_model": "gpt-4o"},
    )

    assert response.status_code == 200
    assert "changes nothing" in response.content.decode()
    assert not Route.objects.exists()


def test_only_a_saved_routes_note_can_be_edited_in_the_admin(staff, flow):
    route = routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    staff.post(
        f"{ROUTES}{route.pk}/change/",
        {"note": "kept after review", "to_model": "gpt-4.1", "active": ""},
    )

    route.refresh_from_db()
    assert (route.note, route.to_model, route.active) == (
        "kept after review",
        "gpt-4o-mini",
        True,
    )
