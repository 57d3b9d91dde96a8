"""Upstream event streams of every shape, relayed through the live gateway.

The fake providers write each chunk with a separate network write, so the gateway
sees the stream split exactly where a test splits it. Each test checks what the
client receives and what the gateway recorded.
"""

import json
import time
from collections.abc import Callable
from decimal import Decimal

import anthropic
import httpx
import openai
import pytest

from flows.models import Call
from proxy.models import PriceOverride
from proxy.sse import SSEComment, SSEDecoder, SSEEvent
from tests.conftest import settle
from tests.fakes.providers import (
    AnthropicUsage,
    CloseMidStreamReply,
    HangReply,
    OpenAIUsage,
    StreamReply,
    anthropic_sse,
    anthropic_stream,
    openai_chunk,
    openai_stream,
    rechunk,
    sse,
)

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Where is my order?"}]
CHAT_BODY = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
USAGE = OpenAIUsage(prompt_tokens=30, completion_tokens=7)
DONE = sse("[DONE]")


def answer(*texts: str) -> list[dict]:
    """The chunks of a streamed answer: its text pieces, the finish, the usage."""
    return [
        *(openai_chunk(text) for text in texts),
        openai_chunk(finish_reason="stop"),
        openai_chunk(usage=USAGE, choices_empty=True),
    ]


def streamed_text(client: openai.OpenAI) -> str:
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    return "".join(c.choices[0].delta.content or "" for c in stream if c.choices)


def raw_stream(http: httpx.Client, body: dict = CHAT_BODY) -> bytes:
    with http.stream("POST", "/v1/chat/completions", json=body) as response:
        assert response.status_code == 200
        return response.read()


def decode(raw: bytes) -> list[SSEEvent | SSEComment]:
    decoder = SSEDecoder()
    return decoder.feed(raw) + decoder.close()


def recorded_call() -> Call:
    settle()
    return Call.objects.get()


def assert_recorded_ok(input_tokens: int = 30, output_tokens: int = 7) -> None:
    call = recorded_call()
    assert call.outcome == Call.Outcome.OK and call.http_status == 200
    assert (call.input_tokens, call.output_tokens) == (input_tokens, output_tokens)


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def wait_for_call() -> Call:
    """The one call record, once the gateway has noticed the hang-up and written it."""

    def written() -> bool:
        settle()
        return Call.objects.exists()

    assert wait_until(written), "the call was not recorded"
    return Call.objects.get()


# --- the shapes an upstream stream can take ---------------------------------------


def test_comment_lines_are_relayed_as_comments_and_ignored_by_the_sdk(
    client, http, fake_openai
):
    events = [sse(c) for c in answer("Hel", "lo")]
    events = [b": ping\n\n", *events[:2], b": keep-alive\n\n", *events[2:], DONE]
    fake_openai.enqueue(StreamReply(chunks=events))
    fake_openai.enqueue(StreamReply(chunks=events))

    text = streamed_text(client)
    raw = raw_stream(http)

    assert text == "Hello"
    comments = [item for item in decode(raw) if isinstance(item, SSEComment)]
    assert comments == [SSEComment(" ping"), SSEComment(" keep-alive")]
    settle()
    assert [c.output_tokens for c in Call.objects.all()] == [7, 7]


def test_data_fields_without_a_space_after_the_colon_are_read(client, fake_openai):
    events = [f"data:{json.dumps(c)}\n\n".encode() for c in answer("Hel", "lo")]
    fake_openai.enqueue(StreamReply(chunks=[*events, b"data:[DONE]\n\n"]))

    text = streamed_text(client)

    assert text == "Hello"
    assert_recorded_ok()


@pytest.mark.parametrize("line_end", ["\r\n", "\r"], ids=["CRLF", "lone CR"])
def test_other_line_endings_are_read(client, fake_openai, line_end):
    events = [sse(c, line_end=line_end) for c in answer("Hel", "lo")]
    fake_openai.enqueue(
        StreamReply(chunks=[*events, sse("[DONE]", line_end=line_end)], delay_s=0.01)
    )

    text = streamed_text(client)

    assert text == "Hello"
    assert_recorded_ok()


def test_an_event_whose_data_spans_several_lines_is_read_whole(
    client, http, fake_openai
):
    # json.dumps with indent puts every key on its own line: one data line each.
    events = [sse(json.dumps(c, indent=1)) for c in answer("Hel", "lo")]
    fake_openai.enqueue(StreamReply(chunks=[*events, DONE]))
    fake_openai.enqueue(StreamReply(chunks=[*events, DONE]))

    text = streamed_text(client)
    raw = raw_stream(http)

    assert text == "Hello"
    first = decode(raw)[0]
    assert isinstance(first, SSEEvent) and "\n" in first.data
    assert json.loads(first.data)["choices"][0]["delta"]["content"] == "Hel"
    settle()
    assert [c.output_tokens for c in Call.objects.all()] == [7, 7]


def test_events_with_only_an_id_or_retry_field_are_not_relayed(http, fake_openai):
    events = [sse(c) for c in answer("Hel", "lo")]
    fake_openai.enqueue(
        StreamReply(chunks=[b"retry: 3000\n\n", events[0], b"id: 7\n\n", *events[1:]])
    )

    raw = raw_stream(http)

    relayed = decode(raw)
    assert all(isinstance(item, SSEEvent) for item in relayed)
    contents = [
        json.loads(item.data)["choices"][0]["delta"].get("content") for item in relayed
    ]
    assert contents == ["Hel", "lo", None]
    assert b"retry" not in raw
    assert_recorded_ok()


def test_events_split_across_network_reads_are_put_back_together(client, fake_openai):
    events = [*(sse(c) for c in answer("Hel", "lo", " there")), DONE]
    # 17 bytes cut through field names, JSON and the blank line between events.
    fake_openai.enqueue(StreamReply(chunks=rechunk(events, 17), delay_s=0.002))

    text = streamed_text(client)

    assert text == "Hello there"
    assert_recorded_ok()


def test_a_character_split_across_network_reads_arrives_intact(
    client, http, fake_openai
):
    content = "Grüße 😀 日本"
    # Unescaped, as providers send it, so the character is on the wire as UTF-8.
    data = json.dumps(openai_chunk(content), ensure_ascii=False)
    event = f"data: {data}\n\n".encode()
    cut = event.index("😀".encode()) + 2  # inside the emoji's four bytes
    pieces = [event[:cut], event[cut:], *(sse(c) for c in answer()), DONE]
    fake_openai.enqueue(StreamReply(chunks=pieces, delay_s=0.05))
    fake_openai.enqueue(StreamReply(chunks=pieces, delay_s=0.05))

    text = streamed_text(client)
    raw = raw_stream(http)

    assert text == content
    assert content.encode() in raw
    assert "\ufffd" not in raw.decode()


def test_a_stream_that_ends_without_done_ends_cleanly(client, http, fake_openai):
    events = [sse(c) for c in answer("Hel", "lo")]
    fake_openai.enqueue(StreamReply(chunks=events))
    fake_openai.enqueue(StreamReply(chunks=events))

    text = streamed_text(client)
    raw = raw_stream(http)

    assert text == "Hello"
    assert b"[DONE]" not in raw
    settle()
    assert {(c.outcome, c.output_tokens) for c in Call.objects.all()} == {
        (Call.Outcome.OK, 7)
    }


def test_usage_on_a_final_chunk_that_still_has_choices_is_counted(client, fake_openai):
    events = [
        sse(openai_chunk("Hel")),
        sse(openai_chunk("lo", finish_reason="stop", usage=USAGE)),
        DONE,
    ]
    fake_openai.enqueue(StreamReply(chunks=events))

    chunks = list(
        client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        )
    )

    assert "".join(c.choices[0].delta.content for c in chunks) == "Hello"
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert_recorded_ok()


def test_usage_repeated_on_every_chunk_counts_the_last_not_the_sum(client, fake_openai):
    pieces = ["It", " ships", " today", "."]
    events = [
        sse(openai_chunk(piece, usage=OpenAIUsage(30, index)))
        for index, piece in enumerate(pieces, start=1)
    ]
    fake_openai.enqueue(StreamReply(chunks=[*events, DONE]))

    text = streamed_text(client)

    assert text == "It ships today."
    assert_recorded_ok(input_tokens=30, output_tokens=4)


# --- errors inside a stream ---------------------------------------------------------


def test_an_error_event_from_the_provider_is_relayed_and_recorded(client, fake_openai):
    error = {"error": {"message": "The server is overloaded", "type": "server_error"}}
    fake_openai.enqueue(StreamReply(chunks=[sse(openai_chunk("Hel")), sse(error)]))

    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=MESSAGES, stream=True
    )
    with pytest.raises(openai.APIError) as caught:
        list(stream)

    assert caught.value.message == "The server is overloaded"
    assert recorded_call().outcome == Call.Outcome.UPSTREAM_ERROR


def test_an_anthropic_error_event_reaches_the_anthropic_sdk_and_is_recorded(
    claude, fake_anthropic
):
    events = anthropic_stream("claude-sonnet-4-6", "It ships today.")[:3]
    overloaded = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    fake_anthropic.enqueue(StreamReply(chunks=[*events, anthropic_sse(overloaded)]))

    with (
        pytest.raises(anthropic.APIError) as caught,
        claude.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=MESSAGES
        ) as stream,
    ):
        stream.get_final_message()

    assert "Overloaded" in str(caught.value)
    call = recorded_call()
    assert call.outcome == Call.Outcome.UPSTREAM_ERROR
    assert call.input_tokens == 12


def test_an_anthropic_error_event_reaches_an_openai_client_translated(
    client, fake_anthropic
):
    events = anthropic_stream("claude-sonnet-4-6", "It ships today.")[:4]
    overloaded = {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }
    fake_anthropic.enqueue(StreamReply(chunks=[*events, anthropic_sse(overloaded)]))

    stream = client.chat.completions.create(
        model="claude-sonnet-4-6", messages=MESSAGES, stream=True
    )
    with pytest.raises(openai.APIError) as caught:
        list(stream)

    assert caught.value.message == "Overloaded"
    assert recorded_call().outcome == Call.Outcome.UPSTREAM_ERROR


def test_an_openai_error_event_reaches_an_anthropic_client_translated(
    claude, fake_openai
):
    error = {"error": {"message": "The server is overloaded", "type": "server_error"}}
    fake_openai.enqueue(StreamReply(chunks=[sse(openai_chunk("Hel")), sse(error)]))

    with (
        pytest.raises(anthropic.APIError) as caught,
        claude.messages.stream(
            model="local/some-model", max_tokens=64, messages=MESSAGES
        ) as stream,
    ):
        stream.get_final_message()

    assert "The server is overloaded" in str(caught.value)
    assert "{'message'" not in str(caught.value)
    assert recorded_call().outcome == Call.Outcome.UPSTREAM_ERROR


def test_a_provider_that_drops_the_stream_gives_an_error_event_and_bills_what_it_sent(
    client, fake_openai
):
    PriceOverride.objects.create(
        model="gpt-4o-mini",
        input_per_mtok=Decimal("1.00"),
        output_per_mtok=Decimal("4.00"),
    )
    events = [
        sse(openai_chunk("Hel", usage=OpenAIUsage(30, 1))),
        sse(openai_chunk("lo", usage=OpenAIUsage(30, 2))),
    ]
    fake_openai.enqueue(CloseMidStreamReply(chunks=events))

    received = []
    with pytest.raises(openai.APIError) as caught:
        for chunk in client.chat.completions.create(
            model="gpt-4o-mini", messages=MESSAGES, stream=True
        ):
            received.append(chunk.choices[0].delta.content)

    assert received == ["Hel", "lo"]
    assert caught.value.message == "The provider closed the stream before it ended."
    call = recorded_call()
    assert (call.outcome, call.http_status) == (Call.Outcome.UPSTREAM_ERROR, 502)
    assert (call.input_tokens, call.output_tokens) == (30, 2)
    # 30 input at $1/M + 2 output at $4/M.
    assert call.cost_usd == Decimal("0.000038")


def test_an_anthropic_stream_dropped_midway_keeps_the_usage_seen_so_far(
    claude, fake_anthropic
):
    usage = AnthropicUsage(input_tokens=40, output_tokens=9)
    fake_anthropic.enqueue(
        CloseMidStreamReply(
            chunks=anthropic_stream("claude-sonnet-4-6", "a b", usage)[:4]
        )
    )

    with (
        pytest.raises(anthropic.APIError),
        claude.messages.stream(
            model="claude-sonnet-4-6", max_tokens=64, messages=MESSAGES
        ) as stream,
    ):
        stream.get_final_message()

    call = recorded_call()
    assert (call.outcome, call.http_status) == (Call.Outcome.UPSTREAM_ERROR, 502)
    assert call.input_tokens == 40


def test_a_provider_that_goes_silent_mid_stream_times_out_with_an_error_event(
    http, fake_openai, settings
):
    settings.UPSTREAM_TIMEOUT_S = 0.3
    events = [sse(openai_chunk("Hel")), sse(openai_chunk("lo")), DONE]
    fake_openai.enqueue(StreamReply(chunks=events, delay_s=2))

    started = time.monotonic()
    raw = raw_stream(http)
    elapsed = time.monotonic() - started

    relayed = [item for item in decode(raw) if isinstance(item, SSEEvent)]
    assert json.loads(relayed[0].data)["choices"][0]["delta"]["content"] == "Hel"
    assert json.loads(relayed[-1].data)["error"]["code"] == "upstream_timeout"
    assert elapsed < 1.5
    call = recorded_call()
    assert (call.outcome, call.http_status) == (Call.Outcome.TIMEOUT, 504)


# --- the client's side ----------------------------------------------------------------


def test_a_client_that_hangs_up_mid_stream_is_charged_the_usage_reported_later(
    gateway, api_key, fake_openai, settings
):
    events = [sse(c) for c in answer(*(f"word{i} " for i in range(10)))]
    fake_openai.enqueue(StreamReply(chunks=[*events, DONE], delay_s=0.05))
    headers = {"Authorization": f"Bearer {api_key}"}

    with httpx.stream(
        "POST", f"{gateway.url}/v1/chat/completions", json=CHAT_BODY, headers=headers
    ) as response:
        first = next(response.iter_raw())

    assert b"word0" in first
    call = wait_for_call()
    assert (call.outcome, call.http_status) == (Call.Outcome.CANCELLED, 499)
    assert (call.input_tokens, call.output_tokens) == (30, 7)
    assert call.priced and call.cost_usd > 0


def test_an_abandoned_stream_is_read_no_longer_than_the_drain_limit(
    gateway, api_key, fake_openai, settings
):
    settings.ABANDONED_STREAM_DRAIN_S = 0.3
    events = [sse(openai_chunk(f"word{i} ")) for i in range(20)]
    fake_openai.enqueue(StreamReply(chunks=[*events, DONE], delay_s=0.1))
    headers = {"Authorization": f"Bearer {api_key}"}

    with httpx.stream(
        "POST", f"{gateway.url}/v1/chat/completions", json=CHAT_BODY, headers=headers
    ) as response:
        next(response.iter_raw())

    call = wait_for_call()
    assert (call.outcome, call.http_status) == (Call.Outcome.CANCELLED, 499)
    assert call.latency_ms < 1500
    upstream = fake_openai.last_request
    assert wait_until(lambda: upstream.client_disconnected)


def test_a_client_that_gives_up_on_a_slow_answer_is_recorded_as_cancelled(
    http, fake_openai
):
    fake_openai.enqueue(HangReply(3))

    with pytest.raises(httpx.ReadTimeout):
        http.post(
            "/v1/chat/completions",
            json={**CHAT_BODY, "stream": False},
            timeout=0.3,
        )

    call = wait_for_call()
    assert (call.outcome, call.http_status) == (Call.Outcome.CANCELLED, 499)
    assert not call.stream


def test_a_client_that_leaves_at_done_is_recorded_as_a_complete_call(
    client, fake_openai
):
    events = [*(sse(c) for c in answer("Hel", "lo")), DONE]
    # The provider keeps the connection open a while after [DONE].
    fake_openai.enqueue(StreamReply(chunks=[b"".join(events)], delay_s=1))

    text = streamed_text(client)

    assert text == "Hello"
    call = wait_for_call()
    assert (call.outcome, call.http_status) == (Call.Outcome.OK, 200)
    assert call.output_tokens == 7


@pytest.mark.parametrize(
    ("path", "body", "provider"),
    [
        ("/v1/chat/completions", CHAT_BODY, "openai"),
        (
            "/v1/chat/completions",
            {**CHAT_BODY, "model": "claude-sonnet-4-6"},
            "anthropic",
        ),
        (
            "/v1/messages",
            {"model": "claude-sonnet-4-6", "max_tokens": 64, "messages": MESSAGES},
            "anthropic",
        ),
        (
            "/v1/messages",
            {"model": "local/some-model", "max_tokens": 64, "messages": MESSAGES},
            "openai",
        ),
    ],
    ids=[
        "chat to openai",
        "chat to anthropic",
        "messages to anthropic",
        "messages to openai",
    ],
)
def test_each_event_reaches_the_client_as_soon_as_the_provider_sends_it(
    http, fake_openai, fake_anthropic, path, body, provider
):
    if provider == "openai":
        events = openai_stream("m", "one two", include_usage=True)
        fake = fake_openai
    else:
        events = anthropic_stream("m", "one two")
        fake = fake_anthropic
    # The opening events, then the rest of the answer 1.5 s later: wide enough
    # apart that a loaded machine cannot blur relayed with buffered.
    halves = [b"".join(events[:2]), b"".join(events[2:])]
    fake.enqueue(StreamReply(chunks=halves, delay_s=1.5))

    started = time.monotonic()
    with http.stream("POST", path, json={**body, "stream": True}) as response:
        reads = response.iter_raw()
        first = next(reads)
        first_after = time.monotonic() - started
        rest = b"".join(reads)

    assert first_after < 1.0
    assert first and rest
    assert b"two" not in first and b"two" in rest
