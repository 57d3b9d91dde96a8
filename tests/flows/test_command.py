"""manage.py flows: the flows table, per account or for all of them."""

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from flows.models import Call, Flow
from tests.benchmarks.conftest import add_samples
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _flows(*args: str) -> str:
    out = StringIO()
    call_command("flows", *args, stdout=out)
    return out.getvalue()


def _call(flow: Flow, model: str, latency_ms: float, cost: str) -> Call:
    return Call.objects.create(
        account=flow.account,
        flow=flow,
        requested_model=model,
        served_model=model,
        provider="openai",
        outcome=Call.Outcome.OK,
        http_status=200,
        input_tokens=1200,
        output_tokens=300,
        latency_ms=latency_ms,
        cost_usd=Decimal(cost),
        priced=True,
        created_at=timezone.now() - timedelta(minutes=5),
    )


def _line(out: str, *words: str) -> str:
    return next(line for line in out.splitlines() if all(w in line for w in words))


def test_it_prints_each_flow_and_model_with_calls_latency_and_cost():
    account = AccountFactory(email="team@example.com", credits=Decimal("5"))
    bot = Flow.objects.create(account=account, name="support-bot")
    _call(bot, "gpt-4o", 400, "0.0025")
    _call(bot, "gpt-4o", 600, "0.0035")
    _call(bot, "gpt-4o-mini", 200, "0.0001")
    add_samples(bot, 3)

    out = _flows()

    assert "team@example.com: $5.000000 of credits left" in out
    row = _line(out, "support-bot", "gpt-4o ")
    assert row.split("│")[3].strip() == "2"  # calls
    assert "500" in row  # average latency
    assert "2,400/600" in row
    assert "$0.006000" in row
    assert row.split("│")[10].strip() == "3"  # samples
    assert "$0.000100" in _line(out, "support-bot", "gpt-4o-mini")


def test_a_flow_with_samples_and_no_traffic_is_listed_too():
    account = AccountFactory()
    add_samples(Flow.objects.create(account=account, name="billing"), 2)

    row = _line(_flows(), "billing")

    assert row.split("│")[2].strip() == "-"
    assert row.split("│")[10].strip() == "2"


def test_every_account_is_shown_unless_one_is_named():
    for email in ("a@example.com", "b@example.com"):
        account = AccountFactory(email=email)
        _call(
            Flow.objects.create(account=account, name=f"flow-{email[0]}"), "m", 1, "0"
        )

    everyone = _flows()
    one = _flows("--account", "B@example.com")

    assert "flow-a" in everyone and "flow-b" in everyone
    assert "flow-b" in one and "a@example.com" not in one


def test_an_account_without_flows_says_so():
    AccountFactory(email="new@example.com")

    assert "new@example.com: no flows yet." in _flows()


def test_no_account_at_all_says_so():
    assert _flows().strip() == "There is no account yet."


def test_an_unknown_account_is_an_error():
    AccountFactory()

    with pytest.raises(CommandError, match=r"There is no account x@example.com"):
        _flows("--account", "x@example.com")
