"""Self-tests for the fake providers: raw HTTP behaviour and official-SDK parsing."""

from __future__ import annotations

import asyncio
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
import anthropic
import httpx
import openai
import pytest

from tests.fakes.providers import (
    AnthropicUsage,
    AutoReply,
    CloseMidStreamReply,
    ErrorReply,
    FakeAnthropic,
    FakeOpenAI,
    HangReply,
    JsonReply,
    OpenAIUsage,
    RawReply,
    StreamReply,
    anthropic_error,
    openai_chunk,
    openai_error,
    rechunk,
    sse,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
CHAT: list[dict[str, str]] = [{"role": "user", "content": "hi"}]


# --------------------------------------------------------------------------- helpers


def post_chat(fake: FakeOpenAI, **body: Any) -> httpx.Response:
    payload = {"model": "gpt-x", "messages": CHAT, **body}
    return httpx.post(f"{fake.base_url}/chat/completions", json=payload, timeout=5)


def post_message(fake: FakeAnthropic, **body: Any) -> httpx.Response:
    payload = {"model": "claude-x", "max_tokens": 16, "messages": CHAT, **body}
    return httpx.post(f"{fake.base_url}/v1/messages", json=payload, timeout=5)


def parse_sse(raw: bytes) -> list[tuple[str | None, str]]:
    """(event name, data) pairs; small on purpose, the fakes emit simple SSE."""
    events = []
    for block in raw.decode().replace("\r\n", "\n").split("\n\n"):
        if not block.strip():
            continue
        event, data = None, []
        for line in block.split("\n"):
            name, _, value = line.partition(": ")
            if name == "event":
                event = value
            elif name == "data":
                data.append(value)
        events.append((event, "\n".join(data)))
    return events


def openai_stream_chunks(fake: FakeOpenAI, **body: Any) -> list[Any]:
    response = post_chat(fake, stream=True, **body)
    assert response.headers["content-type"].startswith("text/event-stream")
    return [data for _, data in parse_sse(response.content)]


async def read_http_chunks(url: str) -> list[tuple[bytes, float]]:
    """Each HTTP chunk the server wrote, with its arrival time."""
    received: list[tuple[bytes, float]] = []
    buffer = b""
    async with aiohttp.ClientSession() as session, session.post(url, json={}) as resp:
        async for data, end_of_chunk in resp.content.iter_chunks():
            buffer += data
            if end_of_chunk and buffer:
                received.append((buffer, time.monotonic()))
                buffer = b""
    return received


# --------------------------------------------------------------------------- JSON


def test_default_openai_json_reply_echoes_model(fake_openai: FakeOpenAI) -> None:
    response = post_chat(fake_openai)

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "chat.completion"
    assert body["id"].startswith("chatcmpl-")
    assert body["model"] == "gpt-x"
    choice = body["choices"][0]
    assert choice["message"] == {
        "role": "assistant",
        "content": "Hello from fake gpt-x",
        "refusal": None,
    }
    assert choice["finish_reason"] == "stop"
    assert body["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
    }


def test_requests_are_recorded(fake_openai: FakeOpenAI) -> None:
    httpx.post(
        f"{fake_openai.base_url}/chat/completions?trace=1",
        json={"model": "gpt-x", "messages": CHAT},
        headers={"Authorization": "Bearer sk-test"},
    )

    [recorded] = fake_openai.requests
    assert (recorded.method, recorded.path) == ("POST", "/v1/chat/completions")
    assert recorded.json == {"model": "gpt-x", "messages": CHAT}
    assert json.loads(recorded.body) == recorded.json
    assert recorded.query == {"trace": "1"}
    # Header lookups ignore case whatever the client sent.
    assert recorded.headers["authorization"] == "Bearer sk-test"
    assert recorded.headers["AUTHORIZATION"] == "Bearer sk-test"
    assert "Authorization" in recorded.headers


def test_usage_and_content_are_configurable(fake_openai: FakeOpenAI) -> None:
    usage = OpenAIUsage(prompt_tokens=100, completion_tokens=7, cached_tokens=40)
    fake_openai.enqueue(JsonReply(content="custom", usage=usage))

    body = post_chat(fake_openai).json()

    assert body["choices"][0]["message"]["content"] == "custom"
    assert body["usage"] == {
        "prompt_tokens": 100,
        "completion_tokens": 7,
        "total_tokens": 107,
        "prompt_tokens_details": {"cached_tokens": 40},
    }


def test_default_anthropic_json_reply(fake_anthropic: FakeAnthropic) -> None:
    usage = AnthropicUsage(cache_read_input_tokens=3, cache_creation_input_tokens=4)
    fake_anthropic.enqueue(JsonReply(usage=usage))

    body = post_message(fake_anthropic).json()

    assert body["type"] == "message"
    assert body["model"] == "claude-x"
    assert body["content"] == [{"type": "text", "text": "Hello from fake claude-x"}]
    assert body["stop_reason"] == "end_turn"
    assert body["usage"] == {
        "input_tokens": 12,
        "output_tokens": 5,
        "cache_read_input_tokens": 3,
        "cache_creation_input_tokens": 4,
    }


def test_explicit_json_body_is_sent_verbatim(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(JsonReply(status=201, body={"x": 1}, headers={"X-Y": "z"}))

    response = post_chat(fake_openai)

    assert (response.status_code, response.json()) == (201, {"x": 1})
    assert response.headers["x-y"] == "z"


def test_models_endpoint(fake_openai: FakeOpenAI) -> None:
    fake_openai.models = ["a", "b"]

    body = httpx.get(f"{fake_openai.base_url}/models").json()

    assert [model["id"] for model in body["data"]] == ["a", "b"]


def test_the_anthropic_models_list_pages_as_the_sdk_reads_it(
    fake_anthropic: FakeAnthropic,
) -> None:
    fake_anthropic.models = ["claude-a", "claude-b", "claude-c"]
    sdk = anthropic.Anthropic(base_url=fake_anthropic.url, api_key="k", max_retries=0)

    ids = [model.id for model in sdk.models.list(limit=2)]

    assert ids == ["claude-a", "claude-b", "claude-c"]
    assert len(fake_anthropic.requests) == 2


def test_the_openai_models_list_takes_extra_fields(fake_openai: FakeOpenAI) -> None:
    fake_openai.models = [{"id": "qwen", "max_model_len": 32768}]

    (model,) = httpx.get(f"{fake_openai.base_url}/models").json()["data"]

    assert model["id"] == "qwen" and model["max_model_len"] == 32768


def test_unknown_route_is_recorded_and_404(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(JsonReply(body={"kept": True}))

    response = httpx.post(f"{fake_anthropic.url}/v1/complete", json={})

    assert response.status_code == 404
    assert response.json()["type"] == "error"
    assert fake_anthropic.last_request.path == "/v1/complete"
    # The scripted reply is still waiting for a real endpoint call.
    assert fake_anthropic.pending_replies == 1


def test_wrong_usage_type_is_rejected_at_enqueue(fake_openai: FakeOpenAI) -> None:
    with pytest.raises(TypeError, match="OpenAIUsage"):
        fake_openai.enqueue(HangReply(0, then=JsonReply(usage=AnthropicUsage())))


# --------------------------------------------------------------------------- streams


def test_default_openai_stream_with_include_usage(fake_openai: FakeOpenAI) -> None:
    data = openai_stream_chunks(fake_openai, stream_options={"include_usage": True})

    assert data[-1] == "[DONE]"
    chunks = [json.loads(item) for item in data[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant", "content": ""}
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks[:-1])
    assert text == "Hello from fake gpt-x"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert all(c["usage"] is None for c in chunks[:-1])
    assert chunks[-1]["choices"] == []
    assert chunks[-1]["usage"] == {
        "prompt_tokens": 12,
        "completion_tokens": 5,
        "total_tokens": 17,
    }


def test_default_openai_stream_without_usage(fake_openai: FakeOpenAI) -> None:
    data = openai_stream_chunks(fake_openai)

    chunks = [json.loads(item) for item in data[:-1]]
    assert all("usage" not in chunk and chunk["choices"] for chunk in chunks)


def test_default_anthropic_stream(fake_anthropic: FakeAnthropic) -> None:
    response = post_message(fake_anthropic, stream=True)

    events = parse_sse(response.content)
    names = [name for name, _ in events]
    assert names[:3] == ["message_start", "content_block_start", "ping"]
    assert names[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    payloads = [json.loads(data) for _, data in events]
    assert [p["type"] for p in payloads] == names
    assert payloads[0]["message"]["usage"]["output_tokens"] == 1
    assert payloads[0]["message"]["usage"]["input_tokens"] == 12
    deltas = [
        p["delta"]["text"] for p in payloads if p["type"] == "content_block_delta"
    ]
    assert "".join(deltas) == "Hello from fake claude-x"
    assert payloads[-2]["delta"]["stop_reason"] == "end_turn"
    assert payloads[-2]["usage"]["output_tokens"] == 5


def test_chunks_arrive_split_as_scripted(fake_openai: FakeOpenAI) -> None:
    event = sse(openai_chunk("hi"))
    # One event split mid-JSON, then two events glued into one write.
    chunks = [event[:9], event[9:], event + sse("[DONE]")]
    fake_openai.enqueue(StreamReply(chunks=chunks, delay_s=0.05))

    received = asyncio.run(read_http_chunks(f"{fake_openai.base_url}/chat/completions"))

    assert [data for data, _ in received] == chunks
    gaps = [
        later - earlier for (_, earlier), (_, later) in itertools.pairwise(received)
    ]
    assert all(gap >= 0.03 for gap in gaps)


def test_rechunk_splits_at_byte_boundaries() -> None:
    assert rechunk([b"abc", b"de"], 2) == [b"ab", b"cd", b"e"]


def test_sse_helper_formats() -> None:
    assert sse({"a": 1}) == b'data: {"a":1}\n\n'
    assert sse("[DONE]", line_end="\r\n") == b"data: [DONE]\r\n\r\n"
    assert (
        sse({"type": "ping"}, event="ping") == b'event: ping\ndata: {"type":"ping"}\n\n'
    )
    assert sse("a\nb") == b"data: a\ndata: b\n\n"


# --------------------------------------------------------------------------- failures


def test_enqueued_429_keeps_retry_after(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(ErrorReply(429, headers={"Retry-After": "7"}))

    limited = post_chat(fake_openai)
    after = post_chat(fake_openai)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "7"
    error = limited.json()["error"]
    assert set(error) >= {"message", "type", "code"}
    assert error["code"] == "rate_limit_exceeded"
    # The queue is drained, so the default reply takes over again.
    assert after.status_code == 200


def test_replies_are_fifo(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(ErrorReply(500))
    fake_openai.enqueue(ErrorReply(503))

    statuses = [post_chat(fake_openai).status_code for _ in range(3)]

    assert statuses == [500, 503, 200]


def test_anthropic_error_shape(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.enqueue(ErrorReply(400, message="bad max_tokens"))

    response = post_message(fake_anthropic)

    assert response.status_code == 400
    assert response.json() == {
        "type": "error",
        "error": {"type": "invalid_request_error", "message": "bad max_tokens"},
    }


def test_raw_reply(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(RawReply(502, b"<html>bad gateway</html>", "text/html"))

    response = post_chat(fake_openai)

    assert response.status_code == 502
    assert response.text == "<html>bad gateway</html>"


def test_close_mid_stream_makes_client_fail(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(CloseMidStreamReply([sse(openai_chunk("partial"))]))
    received: list[bytes] = []

    with (
        pytest.raises(httpx.RemoteProtocolError),
        httpx.stream(
            "POST", f"{fake_openai.base_url}/chat/completions", json={"stream": True}
        ) as response,
    ):
        received.extend(response.iter_raw())

    assert b"partial" in b"".join(received)


def test_hang_reply_outlasts_client_timeout(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(HangReply(5))
    started = time.monotonic()

    with pytest.raises(httpx.ReadTimeout):
        httpx.post(f"{fake_openai.base_url}/chat/completions", json={}, timeout=0.2)

    assert time.monotonic() - started < 2
    [recorded] = fake_openai.wait_for_requests(1)
    deadline = time.monotonic() + 2
    while not recorded.client_disconnected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert recorded.client_disconnected


def test_hang_reply_then_answers(fake_openai: FakeOpenAI) -> None:
    fake_openai.enqueue(HangReply(0.05, then=ErrorReply(500)))

    assert post_chat(fake_openai).status_code == 500


def test_default_latency_applies_to_default_replies_only(
    fake_openai: FakeOpenAI,
) -> None:
    fake_openai.default_latency_s = 0.5
    fake_openai.enqueue(JsonReply())

    started = time.monotonic()
    post_chat(fake_openai)
    scripted = time.monotonic() - started
    post_chat(fake_openai)
    default = time.monotonic() - started - scripted

    assert scripted < 0.4 < 0.5 <= default


def test_reply_latency(fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.default_reply = AutoReply(latency_s=0.1)

    started = time.monotonic()
    post_message(fake_anthropic, stream=True)

    assert time.monotonic() - started >= 0.1


def test_start_stop_and_context_manager() -> None:
    with FakeOpenAI() as fake:
        url = fake.base_url
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert httpx.get(f"{url}/models").status_code == 200
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/models")
    fake.stop()  # stopping twice is harmless


# --------------------------------------------------------------------------- SDKs


def test_openai_sdk_parses_completion(fake_openai: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=fake_openai.base_url, api_key="x")

    completion = client.chat.completions.create(
        model="gpt-x", messages=[{"role": "user", "content": "hi"}]
    )

    assert completion.choices[0].message.content == "Hello from fake gpt-x"
    assert completion.usage is not None
    assert completion.usage.total_tokens == 17
    assert fake_openai.last_request.headers["authorization"] == "Bearer x"


def test_openai_sdk_parses_stream(fake_openai: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=fake_openai.base_url, api_key="x")

    stream = client.chat.completions.create(
        model="gpt-x",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == "Hello from fake gpt-x"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5


def test_openai_sdk_sees_rate_limit(fake_openai: FakeOpenAI) -> None:
    client = openai.OpenAI(base_url=fake_openai.base_url, api_key="x", max_retries=0)
    body = openai_error(429, "slow down")
    fake_openai.enqueue(ErrorReply(429, body=body, headers={"Retry-After": "7"}))

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(
            model="gpt-x", messages=[{"role": "user", "content": "hi"}]
        )

    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"


def test_anthropic_sdk_parses_message(fake_anthropic: FakeAnthropic) -> None:
    client = anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="x")

    message = client.messages.create(
        model="claude-x", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    )

    assert message.content[0].type == "text"
    assert message.content[0].text == "Hello from fake claude-x"
    assert (message.usage.input_tokens, message.usage.output_tokens) == (12, 5)
    headers = fake_anthropic.last_request.headers
    assert "anthropic-version" in headers
    # SDK versions differ in how they send the key; either way it must arrive.
    assert "x" in (headers.get("x-api-key"), headers.get("authorization", "")[7:])


def test_anthropic_sdk_parses_stream(fake_anthropic: FakeAnthropic) -> None:
    client = anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="x")

    events = list(
        client.messages.create(
            model="claude-x",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
            stream=True,
        )
    )

    assert events[0].type == "message_start"
    assert events[-1].type == "message_stop"
    with client.messages.stream(
        model="claude-x", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
    ) as stream:
        final = stream.get_final_message()
    assert final.content[0].type == "text"
    assert final.content[0].text == "Hello from fake claude-x"
    assert final.usage.output_tokens == 5


def test_anthropic_sdk_sees_error(fake_anthropic: FakeAnthropic) -> None:
    client = anthropic.Anthropic(base_url=fake_anthropic.base_url, api_key="x")
    fake_anthropic.enqueue(ErrorReply(400, body=anthropic_error(400, "nope")))

    with pytest.raises(anthropic.BadRequestError, match="nope"):
        client.messages.create(
            model="claude-x",
            max_tokens=16,
            messages=[{"role": "user", "content": "hi"}],
        )


# --------------------------------------------------------------------------- CLI


def test_cli_serves_in_foreground() -> None:
    command = [sys.executable, "-m", "tests.fakes.providers", "--kind", "anthropic"]
    process = subprocess.Popen(  # noqa: S603 - fixed argv, our own module
        [*command, "--port", "0", "--latency-ms", "10"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().split()[-1]
        response = httpx.post(
            f"{base_url}/v1/messages", json={"model": "m", "messages": []}
        )
        assert response.json()["content"][0]["text"] == "Hello from fake m"
    finally:
        process.terminate()
        process.wait(timeout=5)
