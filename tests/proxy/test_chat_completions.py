"""The OpenAI-compatible endpoint, driven by the official `openai` SDK over HTTP."""

import time
from decimal import Decimal

import openai
import pytest

from accounts.models import Account, CreditEntry
from flows.models import Call
from proxy.models import PriceOverride
from tests.conftest import settle
from tests.fakes.providers import (
    JsonReply,
    OpenAIUsage,
    StreamReply,
    openai_chunk,
    sse,
)

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Where is my order?"}]


@pytest.fixture
def client(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/v1",
        api_key=api_key,
        default_headers={"X-Flow": "support-bot"},
        max_retries=0,
    )


@pytest.fixture
def priced_mini() -> PriceOverride:
    # Round prices so every expected amount below can be checked by hand.
    return PriceOverride.objects.create(
        model="gpt-4o-mini",
        input_per_mtok=Decimal("1.00"),
        cached_input_per_mtok=Decimal("0.50"),
        output_per_mtok=Decimal("4.00"),
    )


def test_a_call_comes_back_unchanged_and_is_recorded_with_its_exact_cost(
    client, fake_openai, account, priced_mini
):
    fake_openai.enqueue(
        JsonReply(content="It ships today.", usage=OpenAIUsage(1000, 200, None, 400))
    )

    reply = client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    settle()

    assert reply.choices[0].message.content == "It ships today."
    call = Call.objects.get()
    assert call.flow.name == "support-bot"
    assert (call.input_tokens, call.cached_input_tokens, call.output_tokens) == (
        1000,
        400,
        200,
    )
    # 600 uncached at $1/M + 400 cached at $0.50/M + 200 output at $4/M.
    assert call.cost_usd == Decimal("0.0006") + Decimal("0.0002") + Decimal("0.0008")
    assert call.priced and call.outcome == Call.Outcome.OK and call.http_status == 200
    account.refresh_from_db()
    assert account.credits_usd == Decimal("10") - call.cost_usd
    assert account.total_spent == call.cost_usd
    assert CreditEntry.objects.get(call_id=call.pk).amount_usd == -call.cost_usd


def test_fields_the_gateway_does_not_need_reach_the_provider_untouched(
    client, fake_openai
):
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {}}}]

    client.chat.completions.create(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
        tools=tools,
        tool_choice="auto",
        response_format={"type": "json_object"},
        seed=7,
        n=2,
    )

    sent = fake_openai.last_request.json
    assert sent["tools"] == tools
    assert sent["tool_choice"] == "auto"
    assert sent["response_format"] == {"type": "json_object"}
    assert (sent["seed"], sent["n"]) == (7, 2)
    assert sent["messages"][0]["content"] == [{"type": "text", "text": "hi"}]


def test_the_client_key_never_reaches_the_provider(client, fake_openai, api_key):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    headers = fake_openai.last_request.headers
    assert headers["authorization"] == "Bearer sk-test-openai-provider-key-0000"
    assert api_key not in str(headers)


def test_a_stream_is_relayed_and_its_usage_priced_without_showing_the_usage_chunk(
    client, fake_openai, priced_mini
):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    chunks = list(stream)
    settle()

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from fake gpt-4o-mini"
    assert all(c.usage is None for c in chunks)
    assert fake_openai.last_request.json["stream_options"] == {"include_usage": True}
    call = Call.objects.get()
    assert call.stream and call.ttft_ms is not None and call.ttft_ms <= call.latency_ms
    assert (call.input_tokens, call.output_tokens) == (12, 5)
    assert call.cost_usd == Decimal("0.000012") + Decimal("0.000020")


def test_a_client_that_asks_for_usage_gets_the_usage_chunk(client, fake_openai):
    stream = client.chat.completions.create(
        model="gpt-4o-mini",
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )

    chunks = list(stream)

    assert chunks[-1].choices == []
    assert chunks[-1].usage.total_tokens == 17


def test_stream_events_are_relayed_as_they_arrive_not_buffered(client, fake_openai):
    pieces = [sse(openai_chunk(f"part{i} ")) for i in range(3)]
    # Chunks 1 s apart: a loaded machine cannot blur relayed with buffered.
    fake_openai.enqueue(StreamReply(chunks=[*pieces, b"data: [DONE]\n\n"], delay_s=1.0))

    start = time.monotonic()
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    first = next(iter(stream))
    first_after = time.monotonic() - start
    rest = list(stream)

    assert first.choices[0].delta.content == "part0 "
    assert first_after < 0.7
    assert len(rest) == 2


def test_a_model_with_no_known_price_is_recorded_as_unpriced_not_free(
    client, fake_openai, settings
):
    reply = client.chat.completions.create(model="local/my-finetune", messages=MESSAGES)
    settle()

    assert reply.choices[0].message.content
    assert fake_openai.last_request.json["model"] == "my-finetune"
    call = Call.objects.get()
    assert call.provider == "local" and call.served_model == "my-finetune"
    assert call.cost_usd is None and call.priced is False
    assert CreditEntry.objects.filter(kind=CreditEntry.Kind.CHARGE).count() == 0


def test_a_catalog_model_is_priced_from_the_catalog(client, fake_openai):
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    settle()

    call = Call.objects.get()
    assert call.priced and call.cost_usd > 0


def test_models_lists_what_the_gateway_can_serve(client, priced_mini):
    ids = {model.id for model in client.models.list()}

    assert "gpt-4o-mini" in ids
    assert any(model_id.startswith("claude-") for model_id in ids)


def test_an_account_without_credits_is_refused_before_any_upstream_call(
    gateway, fake_openai
):
    from tests.factories import AccountFactory, api_key_for

    broke = AccountFactory()
    client = openai.OpenAI(
        base_url=f"{gateway.url}/v1", api_key=api_key_for(broke), max_retries=0
    )

    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert caught.value.status_code == 402
    assert fake_openai.requests == []
    assert Account.objects.get(pk=broke.pk).credits_usd == 0


def test_usage_no_call_could_reach_is_not_charged_but_recorded_unpriced(
    client, fake_openai, priced_mini, account
):
    fake_openai.enqueue(JsonReply(usage=OpenAIUsage(10**15, 5)))

    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    settle()

    call = Call.objects.get()
    assert call.outcome == Call.Outcome.OK
    assert call.cost_usd is None and not call.priced
    assert call.input_tokens == 0
    account.refresh_from_db()
    assert account.credits_usd == Decimal("10")


def test_a_default_provider_that_is_not_configured_is_named_in_the_error(
    client, settings
):
    settings.DEFAULT_PROVIDER = "nowhere"

    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="llama-3-8b", messages=MESSAGES)

    assert "'nowhere'" in caught.value.message
