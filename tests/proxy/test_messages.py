"""The Anthropic-compatible endpoint, and OpenAI clients in front of Anthropic.

`POST /v1/messages` is driven by the official `anthropic` SDK, to Anthropic itself
(passed through) and to an OpenAI-compatible provider (translated both ways);
`POST /v1/chat/completions` with a Claude model by the official `openai` SDK.
"""

import json
from decimal import Decimal

import anthropic
import httpx
import pytest

from accounts.models import Account, CreditEntry
from flows.models import Call
from proxy.models import PriceOverride
from proxy.sse import SSEDecoder, SSEEvent
from tests.conftest import settle
from tests.fakes.providers import (
    AnthropicUsage,
    JsonReply,
    OpenAIUsage,
    StreamReply,
    anthropic_message,
    anthropic_stream,
)

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Where is my order?"}]
SYSTEM = "You answer support questions in one sentence."
# A cached conversation: 1,000 fresh input tokens, 20,000 read from the cache and
# 4,000 written to it, 500 out.
CACHED_USAGE = AnthropicUsage(
    input_tokens=1000,
    output_tokens=500,
    cache_read_input_tokens=20_000,
    cache_creation_input_tokens=4000,
)
# At the prices of `priced_sonnet`: 1,000 x $3 + 20,000 x $0.30 + 4,000 x $3.75
# + 500 x $15, per million tokens.
CACHED_COST = Decimal("0.003") + Decimal("0.006") + Decimal("0.015") + Decimal("0.0075")
ANTHROPIC_KEY = "sk-ant-test-anthropic-provider-key-0000"


@pytest.fixture
def claude(gateway, api_key) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway.url,
        api_key=api_key,
        default_headers={"X-Flow": "support-bot"},
        max_retries=0,
    )


@pytest.fixture
def priced_sonnet() -> PriceOverride:
    # Round prices so every expected amount can be checked by hand.
    return PriceOverride.objects.create(
        model="claude-sonnet-4-6",
        input_per_mtok=Decimal("3.00"),
        cached_input_per_mtok=Decimal("0.30"),
        cache_write_per_mtok=Decimal("3.75"),
        output_per_mtok=Decimal("15.00"),
    )


@pytest.fixture
def priced_local() -> PriceOverride:
    return PriceOverride.objects.create(
        model="local/some-model",
        input_per_mtok=Decimal("1.00"),
        cached_input_per_mtok=Decimal("0.50"),
        output_per_mtok=Decimal("4.00"),
    )


def decode(raw: bytes) -> list[SSEEvent]:
    decoder = SSEDecoder()
    items = decoder.feed(raw) + decoder.close()
    return [item for item in items if isinstance(item, SSEEvent)]


def assert_cached_call_recorded(account: Account, call: Call) -> None:
    assert (call.input_tokens, call.cached_input_tokens) == (25_000, 20_000)
    assert (call.cache_write_tokens, call.output_tokens) == (4000, 500)
    assert call.cost_usd == CACHED_COST == Decimal("0.0315")
    assert call.priced and call.outcome == Call.Outcome.OK
    charge = CreditEntry.objects.get(kind=CreditEntry.Kind.CHARGE)
    assert charge.call_id == call.pk and charge.amount_usd == -CACHED_COST
    account.refresh_from_db()
    assert account.credits_usd == Decimal("10") - CACHED_COST


# --- /v1/messages to Anthropic -------------------------------------------------------


def test_a_message_to_anthropic_comes_back_unchanged_and_each_token_kind_is_priced_once(
    claude, fake_anthropic, account, priced_sonnet
):
    body = anthropic_message("claude-sonnet-4-6", "It ships today.", CACHED_USAGE)
    fake_anthropic.enqueue(JsonReply(body=body))

    raw = claude.messages.with_raw_response.create(
        model="claude-sonnet-4-6", max_tokens=256, system=SYSTEM, messages=MESSAGES
    )
    settle()

    assert raw.http_response.content == json.dumps(body, separators=(",", ":")).encode()
    reply = raw.parse()
    assert reply.content[0].text == "It ships today."
    assert reply.usage.cache_read_input_tokens == 20_000
    call = Call.objects.get()
    assert (call.api, call.provider, call.stream) == ("messages", "anthropic", False)
    assert call.flow.name == "support-bot"
    assert_cached_call_recorded(account, call)


def test_the_request_reaches_anthropic_as_sent_with_the_gateways_key(
    claude, fake_anthropic, api_key
):
    claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=256,
        system=SYSTEM,
        messages=MESSAGES,
        stop_sequences=["\n\n"],
        cache_control={"type": "ephemeral"},
        metadata={"user_id": "customer-7"},
        extra_headers={
            "anthropic-version": "2023-06-01",
            "anthropic-beta": "prompt-caching-2024-07-31",
        },
    )

    sent = fake_anthropic.last_request
    assert sent.path == "/v1/messages"
    assert sent.json == {
        "model": "claude-sonnet-4-6",
        "max_tokens": 256,
        "system": SYSTEM,
        "messages": MESSAGES,
        "stop_sequences": ["\n\n"],
        "cache_control": {"type": "ephemeral"},
        "metadata": {"user_id": "customer-7"},
    }
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert sent.headers["anthropic-version"] == "2023-06-01"
    assert sent.headers["anthropic-beta"] == "prompt-caching-2024-07-31"
    assert api_key not in str(sent.headers)


def test_a_streamed_message_is_relayed_unchanged_and_priced_from_the_final_delta(
    claude, fake_anthropic, account, priced_sonnet
):
    events = anthropic_stream("claude-sonnet-4-6", "It ships today.", CACHED_USAGE)
    fake_anthropic.enqueue(StreamReply(chunks=events))

    with claude.messages.with_streaming_response.create(
        model="claude-sonnet-4-6", max_tokens=256, messages=MESSAGES, stream=True
    ) as response:
        relayed = response.read()
    settle()

    assert relayed == b"".join(events)
    call = Call.objects.get()
    assert call.stream and call.ttft_ms is not None
    # message_start says 1 output token; the final message_delta says 500.
    assert_cached_call_recorded(account, call)


def test_the_anthropic_sdk_reads_a_relayed_stream(claude, fake_anthropic):
    fake_anthropic.enqueue(StreamReply(content="It ships today.", usage=CACHED_USAGE))

    with claude.messages.stream(
        model="claude-sonnet-4-6", max_tokens=256, messages=MESSAGES
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()

    assert text == "It ships today."
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 500
    assert final.usage.cache_read_input_tokens == 20_000


def test_a_message_with_no_output_budget_warms_the_cache_at_anthropic(
    claude, fake_anthropic
):
    fake_anthropic.enqueue(JsonReply(content="", usage=AnthropicUsage(0, 0, 0, 4000)))

    reply = claude.messages.create(
        model="claude-sonnet-4-6", max_tokens=0, system=SYSTEM, messages=MESSAGES
    )

    assert fake_anthropic.last_request.json["max_tokens"] == 0
    assert reply.usage.cache_creation_input_tokens == 4000


# --- /v1/messages to an OpenAI-compatible provider ------------------------------------


def test_a_message_to_an_openai_compatible_provider_is_translated_both_ways(
    claude, fake_openai, priced_local
):
    fake_openai.enqueue(
        JsonReply(content="It ships today.", usage=OpenAIUsage(1000, 200, None, 400))
    )

    reply = claude.messages.create(
        model="local/some-model",
        max_tokens=64,
        system=SYSTEM,
        messages=MESSAGES,
        stop_sequences=["\n\n"],
    )
    settle()

    sent = fake_openai.last_request
    assert sent.path == "/v1/chat/completions"
    assert sent.json == {
        "model": "some-model",
        "messages": [{"role": "system", "content": SYSTEM}, *MESSAGES],
        "max_completion_tokens": 64,
        "stop": ["\n\n"],
    }
    assert reply.type == "message" and reply.role == "assistant"
    assert reply.content[0].text == "It ships today."
    assert reply.stop_reason == "end_turn"
    assert (reply.usage.input_tokens, reply.usage.cache_read_input_tokens) == (600, 400)
    assert reply.usage.output_tokens == 200
    call = Call.objects.get()
    assert (call.requested_model, call.served_model) == (
        "local/some-model",
        "some-model",
    )
    assert (call.provider, call.api) == ("local", "messages")
    assert (call.input_tokens, call.cached_input_tokens, call.output_tokens) == (
        1000,
        400,
        200,
    )
    # 600 uncached at $1/M + 400 cached at $0.50/M + 200 output at $4/M.
    assert call.cost_usd == Decimal("0.0016")


def test_a_streamed_message_to_an_openai_compatible_provider_is_translated(
    claude, fake_openai, priced_local
):
    fake_openai.enqueue(
        StreamReply(content="It ships today.", usage=OpenAIUsage(1000, 200, None, 400))
    )

    with claude.messages.stream(
        model="local/some-model", max_tokens=64, messages=MESSAGES
    ) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    settle()

    sent = fake_openai.last_request.json
    assert sent["stream"] is True
    assert sent["stream_options"] == {"include_usage": True}
    assert text == "It ships today."
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens == 200
    call = Call.objects.get()
    assert call.stream and call.outcome == Call.Outcome.OK
    assert (call.provider, call.served_model) == ("local", "some-model")
    assert (call.input_tokens, call.cached_input_tokens, call.output_tokens) == (
        1000,
        400,
        200,
    )
    assert call.cost_usd == Decimal("0.0016")


def test_a_message_with_no_output_budget_is_refused_for_an_openai_provider(
    claude, fake_openai
):
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model="local/some-model", max_tokens=0, messages=MESSAGES
        )

    assert "max_tokens 0" in caught.value.message
    assert fake_openai.requests == []


def test_a_translated_stream_has_the_event_sequence_anthropic_clients_expect(
    gateway, api_key, fake_openai
):
    body = {"model": "local/some-model", "max_tokens": 64, "messages": MESSAGES}

    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/messages",
        json={**body, "stream": True},
        headers={"x-api-key": api_key},
    ) as response:
        events = decode(response.read())

    names = [event.event for event in events]
    assert names[:2] == ["message_start", "content_block_start"]
    assert set(names[2:-3]) == {"content_block_delta"}
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert all(json.loads(event.data)["type"] == event.event for event in events)


# --- /v1/chat/completions to Anthropic ------------------------------------------------


def test_a_chat_completion_for_claude_is_translated_both_ways_and_recorded(
    client, fake_anthropic, account, priced_sonnet
):
    fake_anthropic.enqueue(JsonReply(content="It ships today.", usage=CACHED_USAGE))

    reply = client.chat.completions.create(
        model="anthropic/claude-sonnet-4-6",
        messages=[{"role": "system", "content": SYSTEM}, *MESSAGES],
        max_tokens=256,
    )
    settle()

    sent = fake_anthropic.last_request
    assert sent.json == {
        "model": "claude-sonnet-4-6",
        "system": SYSTEM,
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": MESSAGES[0]["content"]}],
            }
        ],
        "max_tokens": 256,
    }
    assert sent.headers["x-api-key"] == ANTHROPIC_KEY
    assert reply.object == "chat.completion"
    assert reply.choices[0].message.content == "It ships today."
    assert reply.choices[0].finish_reason == "stop"
    assert (reply.usage.prompt_tokens, reply.usage.completion_tokens) == (25_000, 500)
    assert reply.usage.prompt_tokens_details.cached_tokens == 20_000
    call = Call.objects.get()
    assert (call.requested_model, call.served_model) == (
        "anthropic/claude-sonnet-4-6",
        "claude-sonnet-4-6",
    )
    assert (call.provider, call.api) == ("anthropic", "chat.completions")
    assert_cached_call_recorded(account, call)


def test_a_streamed_chat_completion_for_claude_is_translated_and_recorded(
    client, fake_anthropic, account, priced_sonnet
):
    fake_anthropic.enqueue(StreamReply(content="It ships today.", usage=CACHED_USAGE))

    chunks = list(
        client.chat.completions.create(
            model="claude-sonnet-4-6",
            messages=MESSAGES,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    settle()

    assert fake_anthropic.last_request.json["stream"] is True
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "It ships today."
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].choices == []
    assert (chunks[-1].usage.prompt_tokens, chunks[-1].usage.completion_tokens) == (
        25_000,
        500,
    )
    call = Call.objects.get()
    assert (call.requested_model, call.served_model, call.provider) == (
        "claude-sonnet-4-6",
        "claude-sonnet-4-6",
        "anthropic",
    )
    assert call.stream and call.ttft_ms is not None
    assert_cached_call_recorded(account, call)


def test_a_streamed_chat_completion_for_claude_ends_with_done(gateway, api_key):
    body = {"model": "claude-sonnet-4-6", "messages": MESSAGES, "stream": True}

    with httpx.stream(
        "POST",
        f"{gateway.url}/v1/chat/completions",
        json=body,
        headers={"Authorization": f"Bearer {api_key}"},
    ) as response:
        events = decode(response.read())

    assert events[-1].data == "[DONE]"
    assert [event.data for event in events].count("[DONE]") == 1
    assert all("usage" not in json.loads(event.data) for event in events[:-1])


# --- authentication -------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["x-api-key", "authorization"],
    ids=["x-api-key", "Authorization: Bearer"],
)
def test_the_messages_endpoint_takes_the_key_in_either_header(
    gateway, api_key, fake_anthropic, header
):
    value = api_key if header == "x-api-key" else f"Bearer {api_key}"
    body = {"model": "claude-sonnet-4-6", "max_tokens": 16, "messages": MESSAGES}

    response = httpx.post(
        f"{gateway.url}/v1/messages", json=body, headers={header: value}
    )

    assert response.status_code == 200
    assert response.json()["type"] == "message"
    sent = fake_anthropic.last_request.headers
    assert api_key not in str(sent)
    # A client that names no API version gets the gateway's.
    assert sent["anthropic-version"] == "2023-06-01"


def test_a_wrong_key_on_the_messages_endpoint_gets_an_anthropic_shaped_401(
    gateway, fake_anthropic
):
    claude = anthropic.Anthropic(
        base_url=gateway.url, api_key="llmt_" + "B" * 40, max_retries=0
    )

    with pytest.raises(anthropic.AuthenticationError) as caught:
        claude.messages.create(
            model="claude-sonnet-4-6", max_tokens=16, messages=MESSAGES
        )

    assert caught.value.status_code == 401
    assert caught.value.body["type"] == "error"
    assert fake_anthropic.requests == []
