"""Forwarding one call: to the provider, back to the client, and into the records.

There are four ways through, by the API the client speaks and the one the provider
speaks; each is a `_Route` that shapes the upstream body and turns the provider's
answer (a JSON body or a stream of SSE events) into the client's.

A share of each flow's proxied calls is captured as samples: the call's record then
carries the conversation and the answer's text, read from what the client was sent.

A provider that reports no usage (llama.cpp's server never does in a stream) still
has its answered calls priced: from token counts estimated from the request's
messages and the answer's text (`proxy.estimate`), recorded as estimated.
"""

import asyncio
import json
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from accounts import keycache
from accounts.keycache import KeyIdentity
from flows import config as flow_config
from flows import recorder
from flows.models import Call
from flows.recorder import CallRecord
from llmtest.errors import GatewayError
from proxy import estimate, upstream
from proxy.estimate import text_of
from proxy.pricing import TokenUsage
from proxy.providers import ProviderConfig, Resolved, Snapshot
from proxy.sse import SSEComment, SSEDecoder, SSEEvent
from proxy.translate import (
    AnthropicStreamToOpenAI,
    OpenAIStreamToAnthropic,
    TranslationError,
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
# The event that ends an OpenAI stream.
_OPENAI_DONE = b"data: [DONE]\n\n"
# Work a call leaves behind: abandoned streams still read for their usage, cached
# balances being lowered. Held here so the tasks are not collected mid-way.
_background: set[asyncio.Task[None]] = set()
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
    call_id: uuid.UUID = field(default_factory=uuid.uuid4)
    source: str = Call.Source.PROXY
    # The model the client asked for, when a route serves it with another.
    requested: str | None = None
    # Set by finish(): the call's exact cost (None when unknown).
    cost: Decimal | None = None
    # Whether the call is kept as a sample, and the text of a JSON answer.
    capture: bool = False
    answer: list[str] = field(default_factory=list)
    # What the client was sent of a stream, read for the answer's text at the end.
    output: list[bytes] = field(default_factory=list)
    # Set by finish(): the usage was estimated, the provider having reported none.
    usage_estimated: bool = False

    @property
    def requested_model(self) -> str:
        return self.requested or str(self.body["model"])

    @property
    def stream(self) -> bool:
        return bool(self.body.get("stream"))

    @property
    def wants_usage(self) -> bool:
        """Whether an OpenAI-format client asked for the usage chunk of a stream."""
        options = self.body.get("stream_options") or {}
        return isinstance(options, dict) and bool(options.get("include_usage"))

    def first_token(self) -> None:
        if self.ttft_ms is None:
            self.ttft_ms = (time.perf_counter() - self.started) * 1000

    def finish(self, outcome: str, status: int) -> None:
        """Price the call and hand it to the recorder; only the first call counts."""
        if self.finished:
            return
        self.finished = True
        captured = self.capture and outcome == Call.Outcome.OK
        answer = self._answer_text() if captured or self.usage is None else ""
        self._estimate_missing_usage(outcome, answer)
        self._distrust_implausible_usage()
        usage = self.usage or TokenUsage()
        cost = self.cost = self._cost(outcome)
        recorder.record(
            CallRecord(
                id=self.call_id,
                source=self.source,
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
                priced=cost is not None,
                usage_estimated=self.usage_estimated,
                created_at=self.created_at,
                sample_messages=self._conversation() if captured else None,
                sample_answer=answer if captured else "",
            )
        )
        if cost:
            _spawn(keycache.abalance_debit(self.identity.account_id, cost))

    def _answer_text(self) -> str:
        """The answer's text: of a stream, read from what its client was sent."""
        if self.output:
            reader = _AnswerReader(self.api)
            for out in self.output:
                reader.feed(out)
            self.answer, self.output = reader.parts, []
        return "".join(self.answer)

    def _estimate_missing_usage(self, outcome: str, answer: str) -> None:
        # An answer (whole, or cut off by a client that left) with no usage
        # reported: the provider did the work, so the call is priced from an
        # estimate rather than left unpriced. Failed calls keep costing nothing.
        if self.usage is not None:
            return
        answered = outcome == Call.Outcome.OK or (
            outcome == Call.Outcome.CANCELLED and bool(answer)
        )
        if answered:
            self.usage = estimate.usage_for(self.body, answer)
            self.usage_estimated = True

    def _conversation(self) -> list[dict[str, Any]]:
        """The request's messages; of an Anthropic request, as {role, content}
        messages after its system prompt."""
        messages = self.body.get("messages") or []
        if self.api != MESSAGES:
            return list(messages)
        system = text_of(self.body.get("system"))
        turns = [
            {"role": message.get("role"), "content": message.get("content")}
            for message in messages
            if isinstance(message, dict)
        ]
        return [{"role": "system", "content": system}, *turns] if system else turns

    def _distrust_implausible_usage(self) -> None:
        # Billions of tokens in one call is a provider's bug: charging it would drain
        # the account and overflow the record. The call stays, unpriced and flagged.
        if self.usage is not None and not self.usage.plausible:
            logger.warning(
                "proxy.implausible_usage",
                extra={"flow": self.flow, "provider": self.resolved.provider.name},
            )
            self.usage = None

    def _cost(self, outcome: str) -> Decimal | None:
        """The call's exact cost; None when it cannot be known."""
        if self.usage is not None:
            return self.snapshot.price(self.resolved, self.usage)
        if outcome in (Call.Outcome.UPSTREAM_ERROR, Call.Outcome.TIMEOUT):
            # A failed call whose provider reported no usage billed nothing.
            return Decimal(0)
        # Answered (or abandoned) with no usage reported: the cost is unknown.
        return None


def _outcome_for(status: int) -> str:
    return Call.Outcome.TIMEOUT if status == 504 else Call.Outcome.UPSTREAM_ERROR


# --- the answer's text --------------------------------------------------------------


def _answer_of(api: str, reply: bytes) -> str:
    """The answer's text in a client-format JSON reply."""
    data = _json_or_none(reply.decode(errors="replace")) or {}
    if api == MESSAGES:
        return text_of(data.get("content"))
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    message = choices[0].get("message")
    return text_of(message.get("content")) if isinstance(message, dict) else ""


def _delta_text(api: str, event: SSEEvent) -> str:
    """The answer's text in one client-format stream event ("" for most)."""
    if api == MESSAGES:
        if event.event != "content_block_delta":
            return ""
        delta = (_json_or_none(event.data) or {}).get("delta")
        if not isinstance(delta, dict) or delta.get("type") != "text_delta":
            return ""
        text = delta.get("text")
        return text if isinstance(text, str) else ""
    # Usage and role chunks carry no content: skip decoding them.
    if '"content"' not in event.data:
        return ""
    choices = (_json_or_none(event.data) or {}).get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return ""
    delta = choices[0].get("delta")
    content = delta.get("content") if isinstance(delta, dict) else None
    return content if isinstance(content, str) else ""


class _AnswerReader:
    """Reads an answer's text out of the stream events its client was sent."""

    def __init__(self, api: str) -> None:
        self.api = api
        self.decoder = SSEDecoder()
        self.parts: list[str] = []

    def feed(self, out: bytes) -> None:
        for item in self.decoder.feed(out):
            if isinstance(item, SSEEvent):
                text = _delta_text(self.api, item)
                if text:
                    self.parts.append(text)


# --- the four routes ----------------------------------------------------------------


class _Stream:
    """Turns upstream SSE items into bytes for the client, noting usage on the way.

    `failed` is set by an error event, `done` by the event that ends the answer.
    """

    failed = False
    done = False

    @property
    def outcome(self) -> str:
        return Call.Outcome.UPSTREAM_ERROR if self.failed else Call.Outcome.OK

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
        return _OpenAIRelay(self.ex, self.ex.wants_usage)


class _OpenAIRelay(_Stream):
    def __init__(self, exchange: Exchange, wants_usage: bool) -> None:
        self.ex = exchange
        self.wants_usage = wants_usage

    def item(self, item: SSEEvent | SSEComment) -> bytes | None:
        if isinstance(item, SSEComment):
            return _relay_item(item)
        if item.data == "[DONE]":
            self.done = True
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
        return _AnthropicToOpenAIStream(self.ex, self.ex.wants_usage)


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
        out = b"".join(_sse(json.dumps(chunk)) for chunk in chunks)
        if event_type == "message_stop":
            self.done = True
            out += _OPENAI_DONE
        return out or None

    def end(self) -> bytes | None:
        return None if self.done else _OPENAI_DONE


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
        elif item.event == "message_stop":
            self.done = True
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
        if self.ex.body.get("max_tokens") == 0:
            # Anthropic's "only write the prompt cache"; the translation would drop
            # the limit and have the provider answer in full instead.
            raise TranslationError("max_tokens 0 is only supported by Anthropic")
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
        if item.data == "[DONE]":
            self.done = True
            return _anthropic_events(self.translator.finish())
        data = _json_or_none(item.data)
        if data is None:
            return None
        error = data.get("error")
        if error:
            self.failed = True
            # Through the translator, so that nothing follows the error event.
            error = error if isinstance(error, dict) else {"message": str(error)}
            return _anthropic_events(self.translator.chunk({"error": error}))
        usage = TokenUsage.from_openai(data.get("usage"))
        if usage is not None:
            self.ex.usage = usage
        self.ex.first_token()
        return _anthropic_events(self.translator.chunk(data))

    def end(self) -> bytes | None:
        return _anthropic_events(self.translator.finish())


def _anthropic_events(events: list[tuple[str, dict[str, Any]]]) -> bytes | None:
    return b"".join(_sse(json.dumps(data), name) for name, data in events) or None


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

    body = _upstream_body(route)
    exchange.capture = await _captures(exchange)

    try:
        response = await upstream.post(url, body, headers)
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


async def _captures(exchange: Exchange) -> bool:
    """Whether to keep this call as a sample: a share of each flow's proxied calls
    (never a benchmark's), until the flow has as many as its cap allows."""
    if exchange.source != Call.Source.PROXY:
        return False
    account_id = exchange.identity.account_id
    rate = (await flow_config.aconfig()).capture_rate(account_id, exchange.flow)
    # A sampling decision, not a secret: the standard generator is the right tool.
    if random.random() >= rate:  # noqa: S311
        return False
    return not recorder.capture_full(account_id, exchange.flow)


def _upstream_body(route: _Route) -> dict[str, Any]:
    """The provider's request body; raises GatewayError(400) for a malformed field.

    Translation reads the fields it needs without checking each; one that is missing
    or of the wrong type is the client's mistake, not the gateway's.
    """
    try:
        return route.upstream_body()
    except TranslationError:
        raise
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        detail = f" (missing {error})" if isinstance(error, KeyError) else ""
        raise GatewayError(
            400,
            f"The request has a malformed field the provider's API needs{detail}.",
            code="untranslatable",
        ) from error


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
    raise upstream.error_from_upstream(
        exchange.resolved.provider,
        response.status,
        raw,
        upstream.passed_headers(response),
    )


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
    try:
        body = route.reply(raw, data)
    except Exception as error:
        # Any shape the translation trips on: the provider broke its own API.
        logger.exception("upstream.unreadable_reply", extra={"flow": exchange.flow})
        exchange.finish(Call.Outcome.UPSTREAM_ERROR, 502)
        raise _unreadable() from error
    if exchange.capture or exchange.usage is None:
        exchange.answer.append(_answer_of(exchange.api, body))
    exchange.finish(Call.Outcome.OK, response.status)
    return HttpResponse(
        body,
        status=response.status,
        content_type="application/json",
        headers=upstream.passed_headers(response),
    )


def _unreadable() -> GatewayError:
    return GatewayError(
        502,
        "The provider sent a reply the gateway could not read.",
        code="upstream_unreadable",
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
    """Relay each network read as it arrives. Always records the call.

    The call is recorded before its last bytes go out: a client that has the whole
    answer, or an error event, may hang up at once.
    """
    decoder = SSEDecoder()
    stream = route.stream()
    provider = exchange.resolved.provider
    failure: GatewayError | None = None
    try:
        async for chunk in response.content.iter_any():
            out = _translated(stream, decoder.feed(chunk), provider)
            if out:
                exchange.output.append(out)
            if stream.done or stream.failed:
                # The client can stop reading here. Reading on past the end only
                # lets the connection be reused.
                exchange.finish(stream.outcome, response.status)
            if out:
                yield out
        out = _translated(stream, decoder.close(), provider) + (stream.end() or b"")
        if out:
            exchange.output.append(out)
        exchange.finish(stream.outcome, response.status)
        if out:
            yield out
    except TimeoutError:
        failure = upstream.upstream_timeout()
    except aiohttp.ClientError:
        logger.warning("upstream.stream_broken", extra={"flow": exchange.flow})
        failure = GatewayError(502, "The provider closed the stream before it ended.")
    except Exception:
        # An event whose shape the translation trips on: end the stream cleanly.
        logger.exception("upstream.unreadable_event", extra={"flow": exchange.flow})
        failure = _unreadable()
    finally:
        if failure is not None:
            exchange.finish(_outcome_for(failure.status), failure.status)
        if exchange.finished:
            response.release()
        else:
            _drain_abandoned(exchange, stream, decoder, response)
    if failure is not None:
        yield route.error_event(failure)


def _drain_abandoned(
    exchange: Exchange,
    stream: _Stream,
    decoder: SSEDecoder,
    response: aiohttp.ClientResponse,
) -> None:
    """The client left mid-answer: read on in the background for the usage.

    The provider bills what it generated whether or not anyone reads it, and it
    reports how much only at the end; without it the call could not be charged.
    Reading stops after ABANDONED_STREAM_DRAIN_S; a stream cut off there is
    recorded with whatever usage it showed by then.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:  # no loop left to read on: record what was seen
        response.close()
        exchange.finish(Call.Outcome.CANCELLED, _CLIENT_CLOSED)
        return
    _spawn(_drain(exchange, stream, decoder, response))


def _spawn(work: Coroutine[Any, Any, None]) -> None:
    try:
        task = asyncio.get_running_loop().create_task(work)
    except RuntimeError:  # the loop is gone (shutdown): the work is moot
        work.close()
        return
    _background.add(task)
    task.add_done_callback(_background.discard)


async def _drain(
    exchange: Exchange,
    stream: _Stream,
    decoder: SSEDecoder,
    response: aiohttp.ClientResponse,
) -> None:
    try:
        async with asyncio.timeout(settings.ABANDONED_STREAM_DRAIN_S):
            async for chunk in response.content.iter_any():
                for item in decoder.feed(chunk):
                    # Kept, so an answer with no usage at its end can be estimated.
                    out = stream.item(item)
                    if out:
                        exchange.output.append(out)
                if stream.done or stream.failed:
                    break
    except (TimeoutError, aiohttp.ClientError):
        pass
    except Exception:
        logger.exception("upstream.drain_failed", extra={"flow": exchange.flow})
    finally:
        response.close()
        exchange.finish(Call.Outcome.CANCELLED, _CLIENT_CLOSED)


async def finish_background_tasks(timeout: float) -> None:
    """Wait (bounded) for abandoned streams and balance updates (at shutdown)."""
    if _background:
        await asyncio.wait(set(_background), timeout=timeout)


def _translated(
    stream: _Stream, items: list[SSEEvent | SSEComment], provider: ProviderConfig
) -> bytes:
    out = b"".join(stream.item(item) or b"" for item in items)
    if out and stream.failed:
        # Error events are relayed too, and some providers echo the key in them.
        return upstream.redact(out.decode(), provider).encode()
    return out
