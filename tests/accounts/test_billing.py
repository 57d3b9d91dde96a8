"""Debits of proxied calls, under concurrency, through the live gateway.

The overdraft policy these tests pin down:

- A call is let through when the account's balance is above zero when it arrives.
  Its cost is known only once the provider has answered, so it cannot be reserved.
- Every call that was let through is charged in full when it finishes, even if the
  balance went below zero meanwhile. The balance can therefore end below zero, by at
  most the cost of the calls that were in flight when it crossed zero.
- Once the balance is at or below zero, the next call gets 402 before anything is
  sent upstream, until the account is topped up.
"""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import openai
import pytest
from django.db import connection, transaction
from django.db.models import Sum

from accounts import services
from accounts.models import Account, CreditEntry
from accounts.services import Charge
from flows.models import Call
from proxy.models import PriceOverride
from tests.conftest import settle
from tests.factories import AccountFactory, api_key_for
from tests.fakes.providers import JsonReply, OpenAIUsage

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Where is my order?"}]
# 1000 input tokens at $1/M and 250 output tokens at $4/M.
CALL_COST = Decimal("0.002")


@pytest.fixture(autouse=True)
def round_prices() -> PriceOverride:
    return PriceOverride.objects.create(
        model="gpt-4o-mini",
        input_per_mtok=Decimal("1"),
        output_per_mtok=Decimal("4"),
    )


def _client(gateway, account: Account) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/v1",
        api_key=api_key_for(account),
        default_headers={"X-Flow": "billing"},
        max_retries=0,
    )


def _call(client: openai.OpenAI) -> int:
    """Make one call; returns its HTTP status."""
    try:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    except openai.APIStatusError as error:
        return error.status_code
    return 200


def _all_at_once(client: openai.OpenAI, count: int) -> list[int]:
    start = threading.Barrier(count)

    def call(_: int) -> int:
        start.wait()
        return _call(client)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(call, range(count)))


def _ledger_sum(account: Account) -> Decimal:
    rows = CreditEntry.objects.filter(account=account)
    return rows.aggregate(total=Sum("amount_usd"))["total"] or Decimal(0)


def test_concurrent_calls_are_all_charged_and_no_debit_is_lost(
    gateway, fake_openai, settings
):
    settings.RECORDER_BATCH_SIZE = 3
    account = AccountFactory(credits=Decimal("10"))
    sizes = [(1000 * (i + 1), 250 * (i + 1)) for i in range(16)]
    for prompt, completion in sizes:
        fake_openai.enqueue(JsonReply(usage=OpenAIUsage(prompt, completion)))

    statuses = _all_at_once(_client(gateway, account), len(sizes))
    settle()

    account.refresh_from_db()
    costs = [call.cost_usd for call in Call.objects.filter(account=account)]
    assert statuses == [200] * len(sizes)
    assert sorted(costs) == [CALL_COST * (i + 1) for i in range(len(sizes))]
    assert account.credits_usd == Decimal("10") - sum(costs) == _ledger_sum(account)
    assert account.total_spent == sum(costs)


def test_concurrent_batches_of_charges_never_lose_a_debit():
    account = AccountFactory(credits=Decimal("1"))

    def charge_batch(_: int) -> None:
        try:
            with transaction.atomic():
                services.charges_apply(
                    Charge(account.pk, uuid.uuid4(), Decimal("0.001")) for _ in range(5)
                )
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(charge_batch, range(16)))

    account.refresh_from_db()
    assert account.credits_usd == Decimal("1") - Decimal("0.08") == _ledger_sum(account)
    assert CreditEntry.objects.filter(kind=CreditEntry.Kind.CHARGE).count() == 80


def test_calls_in_flight_when_credits_run_out_all_finish_and_are_all_charged(
    gateway, fake_openai
):
    account = AccountFactory(credits=Decimal("0.005"))
    fake_openai.default_reply = JsonReply(usage=OpenAIUsage(1000, 250), latency_s=0.3)

    statuses = _all_at_once(_client(gateway, account), 5)
    settle()

    account.refresh_from_db()
    assert statuses == [200] * 5
    assert len(fake_openai.requests) == 5
    assert account.credits_usd == Decimal("0.005") - 5 * CALL_COST
    assert account.credits_usd == _ledger_sum(account)
    # Below zero by no more than what was in flight.
    assert account.credits_usd >= -5 * CALL_COST


def test_once_the_balance_is_below_zero_concurrent_calls_get_402_without_upstream(
    gateway, fake_openai
):
    account = AccountFactory(credits=Decimal("0.001"))
    client = _client(gateway, account)
    fake_openai.default_reply = JsonReply(usage=OpenAIUsage(1000, 250))
    assert _call(client) == 200
    settle()
    fake_openai.reset()

    statuses = _all_at_once(client, 4)

    account.refresh_from_db()
    assert statuses == [402] * 4
    assert fake_openai.requests == []
    assert account.credits_usd == Decimal("-0.001") == _ledger_sum(account)


def test_a_balance_of_exactly_zero_gets_402(gateway, fake_openai):
    account = AccountFactory(credits=2 * CALL_COST)
    client = _client(gateway, account)
    fake_openai.default_reply = JsonReply(usage=OpenAIUsage(1000, 250))
    for _ in range(2):
        assert _call(client) == 200
        settle()
    fake_openai.reset()

    status = _call(client)

    account.refresh_from_db()
    assert account.credits_usd == 0
    assert status == 402
    assert fake_openai.requests == []


def test_the_402_body_says_why_in_the_openai_error_shape(gateway, fake_openai):
    client = _client(gateway, AccountFactory())

    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    error = caught.value.body
    assert caught.value.status_code == 402
    assert set(error) == {"message", "type", "code", "param"}
    assert error["code"] == "insufficient_credits"


def test_a_top_up_lets_a_refused_account_call_again(gateway, fake_openai):
    account = AccountFactory()
    client = _client(gateway, account)
    assert _call(client) == 402

    services.credits_add(account, Decimal("1"), CreditEntry.Kind.TOPUP)
    status = _call(client)

    assert status == 200
    assert len(fake_openai.requests) == 1


def test_top_ups_and_proxied_calls_keep_the_balance_equal_to_the_ledger(
    gateway, fake_openai
):
    account = AccountFactory(credits=Decimal("0.003"))
    client = _client(gateway, account)
    fake_openai.default_reply = JsonReply(usage=OpenAIUsage(1000, 250))

    _all_at_once(client, 3)
    settle()
    services.credits_add(account, Decimal("1"), CreditEntry.Kind.TOPUP)
    _all_at_once(client, 3)
    services.credits_add(account, Decimal("-0.5"), CreditEntry.Kind.ADJUSTMENT)
    settle()
    services.credits_add(account, CALL_COST, CreditEntry.Kind.REFUND)

    account.refresh_from_db()
    assert account.credits_usd == _ledger_sum(account)
    assert account.credits_usd == Decimal("0.503") - 6 * CALL_COST + CALL_COST
    assert account.total_spent == 5 * CALL_COST
