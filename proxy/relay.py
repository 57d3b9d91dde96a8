"""Forwarding one call: to the provider, back to the client, and into the records.

There are four ways through, by the API the client speaks and the one the provider
speaks; each is a `_Route` that shapes the upstream body and turns the provider's
answer (a JSON body or a stream of SSE events) into the client's.
"""

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from accounts.keycache import KeyIdentity
from flows import recorder
from flows.models import Call
from flows.recorder import CallRecord
from llmtest.errors import GatewayError, error_body
from proxy import upstream
from proxy.pricing import TokenUsage
from proxy.providers import Resolved, Snapshot
from proxy.sse import SSEComment, SSEDecoder, SSEEvent
from proxy.translate import (
    AnthropicStreamToOpenAI,
    OpenAIStreamToAnthropic,
    anthropic_request_to_openai,
    anthropic_response_to_openai,
    openai_request_to_anthropic,
    openai_response_to_anthropic,
)

logger = logging.getLogger(__name__)

CHAT = "chat.completions"
MESSAGES = "messages"
# Status recorded for a call whose client went away before the answer (nginx's code).
_CLIENT_CLOSED = 499
_STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass(slots=True)
class Exchange:
    """One call in flight: what was asked, and what has been measured so far."""

    identity: KeyIdentity
    flow: str
    api: str
    body: dict[str, Any]
    resolved: Resolved
    snapshot: Snapshot
    client_headers: dict[str, str]
    started: float = field(default_factory=time.perf_counter)
    created_at: Any = field(default_factory=timezone.now)
    usage: TokenUsage | None = None
    ttft_ms: float | None = None
    finished: bool = False

    @property
    def requested_model(self) -> str:
        return str(self.body["model"])

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    def first_token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000

    def finish(self, outcome: str, status: int) -> None:
        """Price the call and hand it to the recorder; only the first call counts."""
        if self.finished:
            return
        self.finished = True
        usage = self.usage or TokenUsage()
        cost = self.snapshot.price(self.resolved, usage) if self.usage else None
        priced = cost is not None or self.usage is None
        recorder.record(
            CallRecord(
                account_id=self.identity.account_id,
                flow=self.flow,
                api=self.api,
                requested_model=self.requested_model,
                served_model=self.resolved.model,
                provider=self.resolved.provider.name,
                stream=self.stream,
                outcome=outcome,
                http_status=status,
                latency_ms=round((time.perf_counter() - self.started) * 1000, 3),
                ttft_ms=None if self.ttft_ms is None else round(self.ttft_ms, 3),
                input_tokens=usage.input_tokens,
                cached_input_tokens=usage.cached_input_tokens,
                cache_write_tokens=usage.cache_write_tokens,
                output_tokens=usage.output_tokens,
                reasoning_tokens=usage.reasoning_tokens,
                cost_usd=cost,
                priced=priced and cost is not None,
                created_at=self.created_at,
            )
        )


def _outcome_for(status: int) -> str:
    return Call.Outcome.TIMEOUT if status == 504 else Call.Outcome.UPSTREAM_ERROR


# --- the four routes ----------------------------------------------------------------


class _Stream:
    """Turns upstream SSE items into bytes for the client, noting usage on the way."""

    failed = False

    def item(self, item: SSEEvent | SSEComment) -> bytes | None:
        raise NotImplementedError

    def end(self) -> bytes | None:
        return None


class _Route:
    upstream_api = CHAT

    def __init__(self, exchange: Exchange) -> None:
        self.ex = exchange

    def upstream_body(self) -> dict[str, Any]:
        raise NotImplementedError

    def reply(self, raw: bytes, data: dict[str, Any]) -> bytes:
        raise NotImplementedError

    def stream(self) -> _Stream:
        raise NotImplementedError

    def error_event(self, error: GatewayError) -> bytes:
        return _sse(json.dumps(error.body()))


def _sse(data: str, event: str | None = None) -> bytes:
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def _relay_item(item: SSEEvent | SSEComment) -> bytes:
    if isinstance(item, SSEComment):
        return f":{item.text}\n\n".encode()
    event = item.event if item.event != "message" else None
    return _sse(item.data.replace("\n", "\ndata: "), event)


class _OpenAIPassthrough(_Route):
    """OpenAI format in, OpenAI-compatible provider out: bytes pass unchanged."""

    def upstream_body(self) -> dict[str, Any]:
        body = {**self.ex.body, "model": self.ex.resolved.model}
        if self.ex.stream:
            # Ask for usage so the call can be priced; removed again if unasked.
            options = body.get("stream_options") or {}
            body["stream_options"] = {**options, "include_usage": True}
        return body

    def reply(self, raw: bytes, data: dict[str, Any]) -> bytes:
        self.ex.usage = TokenUsage.from_openai(data.get("usage"))
        return raw

    def stream(self) -> _Stream:
        options = self.ex.body.get("stream_options") or {}
        wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return _OpenAIRelay(self.ex, wants_usage)


class _OpenAIRelay(_Stream):
    def __init__(self, exchange: Exchange, wants_usage: bool) -> None:
        self.ex = exchange
        self.wants_usage = wants_usage

    def item(self, item: SSEEvent | SSEComment) -> bytes | None:
        if isinstance(item, SSEComment) or item.data == "[DONE]":
            return _relay_item(item)
        self.ex.first_token()
        data = item.data
        # Most chunks carry neither: skip decoding them.
        if '"usage"' not in data and '"error"' not in data:
            return _relay_item(item)
        return self._inspect(item)

    def _inspect(self, item: SSEEvent) -> bytes | None:
        try:
            chunk = json.loads(item.data)
        except ValueError:
            return _relay_item(item)
        if not isinstance(chunk, dict):
            return _relay_item(item)
        if chunk.get("error"):
            self.failed = True
        usage = TokenUsage.from_openai(chunk.get("usage"))
        if usage is not None:
            # Providers that repeat cumulative usage on every chunk: the last counts.
            self.ex.usage = usage
            if not chunk.get("choices") and not self.wants_usage:
                return None
        return _relay_item(item)


class _ChatViaAnthropic(_Route):
    """OpenAI format in, Anthropic's Messages API out, translated both ways."""

    upstream_api = MESSAGES

    def upstream_body(self) -> dict[str, Any]:
        body = openai_request_to_anthropic(self.ex.body)
        body["model"] = self.ex.resolved.model
        return body

    def reply(self, raw: bytes, data: dict[str, Any]) -> bytes:
        self.ex.usage = TokenUsage.from_anthropic(data.get("usage"))
        return json.dumps(
            anthropic_response_to_openai(data, self.ex.resolved.model)
        ).encode()

    def stream(self) -> _Stream:
        options = self.ex.body.get("stream_options") or {}
        wants_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        return _AnthropicToOpenAIStream(self.ex, wants_usage)


class _AnthropicToOpenAIStream(_Stream):
    def __init__(self, exchange: Exchange, wants_usage: bool) -> None:
        self.ex = exchange
        self.translator = AnthropicStreamToOpenAI(exchange.resolved.model, wants_usage)

    def item(self, item: SSEEvent | SSEComment) -> bytes | None:
        if isinstance(item, SSEComment):
            return _relay_item(item)
        data = _json_or_none(item.data)
        if data is None:
            return None
        event_type = item.event if item.event != "message" else data.get("type", "")
        if event_type == "error":
            self.failed = True
        chunks = self.translator.event(event_type, data)
        self.ex.usage = TokenUsage.from_anthropic(self.translator.usage)
        if chunks:
            self.ex.first_token()
        return b"".join(_sse(json.dumps(chunk)) for chunk in chunks) or None

    def end(self) -> bytes | None:
        return b"data: [DONE]\n\n"


class _MessagesPassthrough(_Route):
    """Anthropic format in, Anthropic out: events pass through, usage is read."""

    upstream_api = MESSAGES

    def upstream_body(self) -> dict[str, Any]:
        return {**self.ex.body, "model": self.ex.resolved.model}

    def reply(self, raw: bytes, data: dict[str, Any]) -> bytes:
        self.ex.usage = TokenUsage.from_anthropic(data.get("usage"))
        return raw

    def stream(self) -> _Stream:
        return _AnthropicRelay(self.ex)

    def error_event(self, error: GatewayError) -> bytes:
        return _sse(json.dumps(error.body()), "error")


class _AnthropicRelay(_Stream):
    def __init__(self, exchange: Exchange) -> None:
        self.ex = exchange
        self.usage: dict[str, Any] = {}

    def item(self, item: SSEEvent | SSEComment) -> bytes | None:
        if isinstance(item, SSEComment):
            return _relay_item(item)
        if item.event in ("message_start", "message_delta", "error"):
            self._inspect(item)
        elif item.event == "content_block_start":
            self.ex.first_token()
        return _relay_item(item)

    def _inspect(self, item: SSEEvent) -> None:
        data = _json_or_none(item.data) or {}
        if item.event == "error":
            self.failed = True
            return
        if item.event == "message_start":
            message = data.get("message") or {}
            self.usage.update(message.get("usage") or {})
        else:
            # The final message_delta holds the real output count; message_start's
            # is a placeholder.
            self.usage.update(
                {k: v for k, v in (data.get("usage") or {}).items() if v is not None}
            )
        self.ex.usage = TokenUsage.from_anthropic(self.usage)


class _MessagesViaOpenAI(_Route):
    """Anthropic format in, OpenAI-compatible provider out, translated both ways."""

    def upstream_body(self) -> dict[str, Any]:
        body = anthropic_request_to_openai(self.ex.body)
        body["model"] = self.ex.resolved.model
        return body

    def reply(self, raw: bytes, data: dict[str, Any]) -> bytes:
        self.ex.usage = TokenUsage.from_openai(data.get("usage"))
        return json.dumps(
            openai_response_to_anthropic(data, self.ex.resolved.model)
        ).encode()

    def stream(self) -> _Stream:
        return _OpenAIToAnthropicStream(self.ex)

    def error_event(self, error: GatewayError) -> bytes:
        return _sse(json.dumps(error.body()), "error")


class _OpenAIToAnthropicStream(_Stream):
    def __init__(self, exchange: Exchange) -> None:
        self.ex = exchange
        self.translator = OpenAIStreamToAnthropic(exchange.resolved.model)

    def item(self, item: SSEEvent | SSEComment) -> bytes | None:
        if isinstance(item, SSEComment):
            return _relay_item(item)
        data = _json_or_none(item.data)
        if data is None:
            return None
        if data.get("error"):
            self.failed = True
            return _sse(json.dumps(error_body(str(data["error"]))), "error")
        usage = TokenUsage.from_openai(data.get("usage"))
        if usage is not None:
            self.ex.usage = usage
        self.ex.first_token()
        return (
            b"".join(_sse(json.dumps(d), e) for e, d in self.translator.chunk(data))
            or None
        )

    def end(self) -> bytes | None:
        return (
            b"".join(_sse(json.dumps(d), e) for e, d in self.translator.finish())
            or None
        )


def _json_or_none(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _route_for(exchange: Exchange) -> _Route:
    openai_provider = exchange.resolved.provider.speaks_openai
    if exchange.api == CHAT:
        return (
            _OpenAIPassthrough(exchange)
            if openai_provider
            else _ChatViaAnthropic(exchange)
        )
    return (
        _MessagesViaOpenAI(exchange)
        if openai_provider
        else _MessagesPassthrough(exchange)
    )


# --- forwarding ---------------------------------------------------------------------


async def forward(exchange: Exchange) -> HttpResponse | StreamingHttpResponse:
    """Send the call upstream and build the client's response. Records the call."""
    route = _route_for(exchange)
    provider = exchange.resolved.provider
    upstream.require_key(provider)
    url = upstream.endpoint(provider, route.upstream_api)
    headers = upstream.headers_for(provider, exchange.client_headers)

    try:
        response = await upstream.post(url, route.upstream_body(), headers)
    except GatewayError as error:
        exchange.finish(_outcome_for(error.status), error.status)
        raise
    except asyncio.CancelledError:
        exchange.finish(Call.Outcome.CANCELLED, _CLIENT_CLOSED)
        raise

    if response.status >= 400:
        return await _upstream_failed(exchange, route, response)
    if exchange.stream:
        return _streaming_response(exchange, route, response)
    return await _json_response(exchange, route, response)


async def _upstream_failed(
    exchange: Exchange, route: _Route, response: aiohttp.ClientResponse
) -> HttpResponse:
    try:
        raw = await response.read()
    except (TimeoutError, aiohttp.ClientError):
        raw = b""
    finally:
        response.release()
    data = _json_or_none(raw.decode(errors="replace")) or {}
    usage = data.get("usage")
    if isinstance(usage, dict):
        # A provider that reports usage on an error did bill for it.
        parse = (
            TokenUsage.from_openai
            if route.upstream_api == CHAT
            else TokenUsage.from_anthropic
        )
        exchange.usage = parse(usage)
    exchange.finish(Call.Outcome.UPSTREAM_ERROR, response.status)
    error = upstream.error_from_upstream(
        response.status, raw, upstream.passed_headers(response)
    )
    raise error


async def _json_response(
    exchange: Exchange, route: _Route, response: aiohttp.ClientResponse
) -> HttpResponse:
    try:
        raw = await response.read()
    except TimeoutError as error:
        exchange.finish(Call.Outcome.TIMEOUT, 504)
        raise upstream.upstream_timeout() from error
    except aiohttp.ClientError as error:
        exchange.finish(Call.Outcome.UPSTREAM_ERROR, 502)
        raise GatewayError(502, "The provider closed the connection.") from error
    except asyncio.CancelledError:
        exchange.finish(Call.Outcome.CANCELLED, _CLIENT_CLOSED)
        raise
    finally:
        response.release()

    data = _json_or_none(raw.decode(errors="replace"))
    if data is None:
        exchange.finish(Call.Outcome.UPSTREAM_ERROR, 502)
        raise GatewayError(502, "The provider sent a reply that is not JSON.")
    body = route.reply(raw, data)
    exchange.finish(Call.Outcome.OK, response.status)
    return HttpResponse(
        body,
        status=response.status,
        content_type="application/json",
        headers=upstream.passed_headers(response),
    )


def _streaming_response(
    exchange: Exchange, route: _Route, response: aiohttp.ClientResponse
) -> StreamingHttpResponse:
    headers = {**_STREAM_HEADERS, **upstream.passed_headers(response)}
    return StreamingHttpResponse(
        _relay(exchange, route, response),
        status=response.status,
        content_type="text/event-stream; charset=utf-8",
        headers=headers,
    )


async def _relay(
    exchange: Exchange, route: _Route, response: aiohttp.ClientResponse
) -> AsyncIterator[bytes]:
    """Relay each event as it arrives. Always records the call, however it ends."""
    decoder = SSEDecoder()
    stream = route.stream()
    outcome, status = Call.Outcome.CANCELLED, _CLIENT_CLOSED
    try:
        async for chunk in response.content.iter_any():
            for item in decoder.feed(chunk):
                out = stream.item(item)
                if out:
                    yield out
        for item in decoder.close():
            out = stream.item(item)
            if out:
                yield out
        tail = stream.end()
        if tail:
            yield tail
        outcome = Call.Outcome.UPSTREAM_ERROR if stream.failed else Call.Outcome.OK
        status = response.status
    except TimeoutError:
        outcome, status = Call.Outcome.TIMEOUT, 504
        yield route.error_event(upstream.upstream_timeout())
    except aiohttp.ClientError:
        logger.warning("upstream.stream_broken", extra={"flow": exchange.flow})
        outcome, status = Call.Outcome.UPSTREAM_ERROR, 502
        yield route.error_event(
            GatewayError(502, "The provider closed the stream before it ended.")
        )
    finally:
        if outcome == Call.Outcome.CANCELLED:
            # The rest of the answer is unwanted: drop the connection, not reuse it.
            response.close()
        else:
            response.release()
        exchange.finish(outcome, status)
