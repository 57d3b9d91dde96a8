"""The credit check sees a call's cost as soon as the call ends, before the ledger."""

from decimal import Decimal

import openai
import pytest

from accounts.models import Account
from proxy.models import PriceOverride
from tests.conftest import settle
from tests.factories import AccountFactory, api_key_for
from tests.fakes.providers import JsonReply, OpenAIUsage

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Where is my order?"}]


def test_calls_one_after_another_stop_as_soon_as_the_credits_are_spent(
    gateway, fake_openai, settings
):
    # Records wait a full second before they are written: only the cached balance,
    # lowered when each call ends, can stop the third call.
    settings.RECORDER_FLUSH_MS = 1000
    PriceOverride.objects.create(
        model="gpt-4o-mini", input_per_mtok=Decimal("1"), output_per_mtok=Decimal("4")
    )
    account = AccountFactory(credits=Decimal("0.004"))  # two calls of $0.002
    client = openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=api_key_for(account), max_retries=0
    )
    for _ in range(10):
        fake_openai.enqueue(JsonReply(usage=OpenAIUsage(1000, 250)))
    statuses = []

    for _ in range(10):
        try:
            client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
            statuses.append(200)
        except openai.APIStatusError as error:
            statuses.append(error.status_code)
    settle()

    assert statuses == [200, 200] + [402] * 8
    assert Account.objects.get(pk=account.pk).credits_usd == 0
