"""The admin pages of flows and calls."""

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from flows.models import Call
from tests.factories import AccountFactory, CallFactory, FlowFactory

pytestmark = pytest.mark.django_db

CALLS = "/admin/flows/call/"


@pytest.fixture
def calls() -> dict[str, Any]:
    account = AccountFactory()
    support = FlowFactory(account=account, name="support-bot")
    summarizer = FlowFactory(account=account, name="summarizer")
    return {
        "support ok": CallFactory(flow=support),
        "support timeout": CallFactory(
            flow=support, outcome=Call.Outcome.TIMEOUT, http_status=504
        ),
        "support finetune": CallFactory(
            flow=support, served_model="my-finetune", cost_usd=None, priced=False
        ),
        "summarizer ok": CallFactory(flow=summarizer, served_model="claude-haiku-4-5"),
    }


def _listed(staff: Client, query: str = "") -> set[str]:
    response = staff.get(f"{CALLS}?{query}")
    assert response.status_code == 200
    return {str(call.pk) for call in response.context["cl"].result_list}


def _ids(calls: dict[str, Call], *names: str) -> set[str]:
    return {str(calls[name].pk) for name in names}


def test_the_call_list_shows_every_call(staff, calls):
    assert _listed(staff) == _ids(calls, *calls)


def test_the_call_list_shows_each_calls_account(staff, calls):
    other = CallFactory(flow=FlowFactory(account=AccountFactory(email="x@corp.test")))

    response = staff.get(CALLS)

    page = response.content.decode()
    assert response.status_code == 200
    assert "column-account" in page
    assert other.account.email in page
    assert calls["support ok"].account.email in page


def test_the_call_list_filters_by_flow(staff, calls):
    listed = _listed(staff, "flow__name=summarizer")

    assert listed == _ids(calls, "summarizer ok")


def test_the_call_list_filters_by_served_model(staff, calls):
    listed = _listed(staff, "served_model=my-finetune")

    assert listed == _ids(calls, "support finetune")


def test_the_call_list_filters_by_outcome(staff, calls):
    listed = _listed(staff, "outcome=timeout")

    assert listed == _ids(calls, "support timeout")


def test_the_call_list_combines_filters(staff, calls):
    listed = _listed(
        staff, "flow__name=support-bot&outcome=ok&served_model=gpt-4o-mini"
    )

    assert listed == _ids(calls, "support ok")


def test_the_call_list_searches_by_account_email(staff, calls):
    other = CallFactory(flow=FlowFactory(account=AccountFactory(email="x@corp.test")))

    listed = _listed(staff, "q=x%40corp.test")

    assert listed == {str(other.pk)}


def test_a_call_can_be_viewed_but_not_changed(staff, calls):
    call = calls["support ok"]
    url = f"{CALLS}{call.pk}/change/"

    view = staff.get(url)
    change = staff.post(url, {"served_model": "gpt-5", "cost_usd": "0"})

    assert view.status_code == 200
    assert b'type="submit"' not in view.content.split(b'id="content-main"')[1]
    assert change.status_code == 403
    call.refresh_from_db()
    assert (call.served_model, call.cost_usd) == ("gpt-4o-mini", Decimal("0.001"))


def test_calls_cannot_be_added_or_deleted(staff, calls):
    call = calls["support ok"]

    add = staff.get(f"{CALLS}add/")
    delete = staff.post(f"{CALLS}{call.pk}/delete/", {"post": "yes"})
    bulk = staff.post(
        CALLS, {"action": "delete_selected", "_selected_action": [str(call.pk)]}
    )

    assert (add.status_code, delete.status_code) == (403, 403)
    assert bulk.status_code in (200, 302)
    assert Call.objects.filter(pk=call.pk).exists()


def test_the_flow_list_shows_flows_with_their_account(staff, calls):
    response = staff.get("/admin/flows/flow/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "support-bot" in page and "summarizer" in page
    assert calls["support ok"].account.email in page
