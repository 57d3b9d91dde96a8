"""The admin pages of samples, the capture settings of flows, and what saving them
does to the proxy's flow snapshot."""

from typing import Any

import pytest
from django.test import Client

from flows import config as flow_config
from flows.models import Flow, Route, Sample
from flows.samples import sample_digest
from tests.factories import AccountFactory, FlowFactory

pytestmark = pytest.mark.django_db

SAMPLES = "/admin/flows/sample/"


def _sample(flow: Flow, text: str, source: str = Sample.Source.SEEDED) -> Sample:
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": text},
    ]
    return Sample.objects.create(
        flow=flow,
        messages=messages,
        answer="Done.",
        source=source,
        digest=sample_digest(messages),
    )


@pytest.fixture
def stored() -> dict[str, Any]:
    account = AccountFactory(email="owner@corp.test")
    support = FlowFactory(account=account, name="support-bot")
    billing = FlowFactory(account=account, name="billing")
    return {
        "login": _sample(support, "I can't log in."),
        "refund": _sample(support, "I want a refund.", Sample.Source.CAPTURED),
        "invoice": _sample(billing, "Send my invoice.", Sample.Source.CAPTURED),
    }


def _listed(staff: Client, query: str = "") -> set[int]:
    response = staff.get(f"{SAMPLES}?{query}")
    assert response.status_code == 200
    return {sample.pk for sample in response.context["cl"].result_list}


def test_the_sample_list_filters_by_source_and_flow(staff, stored):
    captured = _listed(staff, "source=captured")
    billing = _listed(staff, "flow__name=billing")

    assert captured == {stored["refund"].pk, stored["invoice"].pk}
    assert billing == {stored["invoice"].pk}


def test_the_sample_list_searches_the_messages(staff, stored):
    assert _listed(staff, "q=refund") == {stored["refund"].pk}


def test_the_sample_list_shows_the_opening_user_message(staff, stored):
    page = staff.get(SAMPLES).content.decode()

    assert "I can&#x27;t log in." in page
    assert "owner@corp.test" in page


def test_a_sample_shows_its_messages_readably_and_its_digest_read_only(staff, stored):
    sample = stored["login"]

    page = staff.get(f"{SAMPLES}{sample.pk}/change/").content.decode()

    assert "<strong>system</strong>" in page
    assert "Be brief." in page
    assert sample.digest in page
    assert 'name="digest"' not in page
    assert 'name="answer"' in page


def test_samples_are_not_added_in_the_admin(staff):
    assert staff.get(f"{SAMPLES}add/").status_code == 403


def test_the_flow_form_edits_the_capture_settings(staff, stored):
    flow = Flow.objects.get(name="support-bot")
    url = f"/admin/flows/flow/{flow.pk}/change/"

    response = staff.post(
        url,
        {
            "account": flow.account_id,
            "name": flow.name,
            "created_at_0": "2026-03-02",
            "created_at_1": "12:00:00",
            "capture_rate": "0.5",
            "capture_cap": "20",
        },
    )

    flow.refresh_from_db()
    assert response.status_code == 302
    assert (flow.capture_rate, flow.capture_cap) == (0.5, 20)


@pytest.mark.django_db(transaction=True)
def test_saving_a_flows_capture_settings_reaches_the_snapshot_at_once(settings):
    settings.SAMPLE_CAPTURE_RATE = 0.05
    flow = FlowFactory()
    flow_config.invalidate()
    assert flow_config.config().capture_rate(flow.account_id, flow.name) == 0.05

    flow.capture_rate = 1.0
    flow.capture_cap = 7
    flow.save()

    snapshot = flow_config.config()
    assert snapshot.capture_rate(flow.account_id, flow.name) == 1.0
    assert snapshot.capture_cap(flow.account_id, flow.name) == 7


@pytest.mark.django_db(transaction=True)
def test_saving_and_deleting_a_route_reaches_the_snapshot_at_once():
    flow = FlowFactory()
    flow_config.invalidate()
    assert flow_config.config().route(flow.account_id, flow.name, "a") is None

    route = Route.objects.create(flow=flow, from_model="a", to_model="b")
    routed = flow_config.config().route(flow.account_id, flow.name, "a")
    route.delete()

    assert routed == "b"
    assert flow_config.config().route(flow.account_id, flow.name, "a") is None
