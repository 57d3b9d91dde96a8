"""Fake OpenAI and Anthropic providers served over real loopback HTTP.

Each fake is an aiohttp server bound to 127.0.0.1 on an OS-chosen port, running
in its own thread with its own event loop, so the gateway under test talks to it
over real sockets exactly as it would to a provider. Tests script the replies
(`enqueue`), inspect what the gateway sent (`requests`), and build SSE payloads
with the helpers below.

Run one in the foreground for benchmarks in a separate process:

    python -m tests.fakes.providers --kind openai --port 9001 --latency-ms 100
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import itertools
import json
import re
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any, ClassVar, Self

from aiohttp import web

LOOPBACK = "127.0.0.1"
# A stopped fake must not keep a test waiting for a request that hangs on purpose.
SHUTDOWN_TIMEOUT_S = 0.25
# Gateways may forward large prompts; aiohttp's 1 MiB default would reject them.
MAX_REQUEST_BYTES = 64 * 1024 * 1024

JsonBody = dict[str, Any] | list[Any]


# --------------------------------------------------------------------------- usage


@dataclass(frozen=True)
class OpenAIUsage:
    """Token counts reported by FakeOpenAI (defaults: 12 + 5 = 17)."""

    prompt_tokens: int = 12
    completion_tokens: int = 5
    # None means prompt + completion; set it to test a provider with bad totals.
    total_tokens: int | None = None
    # Emitted as prompt_tokens_details.cached_tokens only when set.
    cached_tokens: int | None = None

    def as_dict(self) -> dict[str, Any]:
        total = self.total_tokens
        if total is None:
            total = self.prompt_tokens + self.completion_tokens
        usage: dict[str, Any] = {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": total,
        }
        if self.cached_tokens is not None:
            usage["prompt_tokens_details"] = {"cached_tokens": self.cached_tokens}
        return usage


@dataclass(frozen=True)
class AnthropicUsage:
    """Token counts reported by FakeAnthropic (input excludes cached tokens)."""

    input_tokens: int = 12
    output_tokens: int = 5
    cache_read_input_tokens: int = 0
    cache_creation_input_tokens: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_read_input_tokens": self.cache_read_input_tokens,
            "cache_creation_input_tokens": self.cache_creation_input_tokens,
        }


Usage = OpenAIUsage | AnthropicUsage


# --------------------------------------------------------------------------- replies


@dataclass
class JsonReply:
    """A JSON response; `body=None` generates a realistic completion."""

    status: int = 200
    body: JsonBody | None = None
    headers: dict[str, str] = field(default_factory=dict)
    content: str | None = None  # default text is "Hello from fake <model>"
    usage: Usage | None = None
    latency_s: float = 0.0  # wait before sending anything


@dataclass
class StreamReply:
    """A text/event-stream response written chunk by chunk.

    Each chunk is one `resp.write()` followed by `delay_s` of sleep, so a delay
    makes the client receive the chunks in separate network reads. `chunks=None`
    generates the provider's default stream from the request.
    """

    chunks: list[bytes] | None = None
    delay_s: float = 0.0
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    content: str | None = None
    usage: Usage | None = None
    latency_s: float = 0.0


@dataclass
class ErrorReply:
    """An error response; `body=None` uses the provider's error shape."""

    status: int
    body: JsonBody | None = None
    headers: dict[str, str] = field(default_factory=dict)
    message: str | None = None


@dataclass
class RawReply:
    """Arbitrary bytes, e.g. an HTML 502 page from a broken upstream proxy."""

    status: int = 200
    body: bytes = b""
    content_type: str = "text/plain"
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class HangReply:
    """Accept the request, sleep `seconds`, then answer with `then`."""

    seconds: float
    then: Reply | None = None  # None means AutoReply()


@dataclass
class CloseMidStreamReply:
    """Send some stream chunks, then drop the TCP connection.

    The chunked body is never terminated, like a provider that crashed
    mid-stream. `chunks=None` sends the first half of the default stream.
    """

    chunks: list[bytes] | None = None
    delay_s: float = 0.0
    status: int = 200


@dataclass
class AutoReply:
    """What a real provider would send: a stream if the request says
    `"stream": true`, else a JSON completion. This is the default reply."""

    content: str | None = None
    usage: Usage | None = None
    latency_s: float = 0.0


Reply = (
    JsonReply
    | StreamReply
    | ErrorReply
    | RawReply
    | HangReply
    | CloseMidStreamReply
    | AutoReply
)


# --------------------------------------------------------------------------- SSE


def sse(data: JsonBody | str, event: str | None = None, line_end: str = "\n") -> bytes:
    """One server-sent event: optional `event:` line, `data:` line(s), blank line."""
    text = data if isinstance(data, str) else _dumps(data)
    lines = [f"event: {event}"] if event is not None else []
    # SSE forbids raw newlines inside a field; multi-line data is several lines.
    lines.extend(f"data: {part}" for part in text.split("\n"))
    return (line_end.join(lines) + line_end + line_end).encode()


def rechunk(chunks: Iterable[bytes], size: int) -> list[bytes]:
    """Join chunks and re-split them every `size` bytes, ignoring event borders."""
    data = b"".join(chunks)
    return [data[i : i + size] for i in range(0, len(data), size)]


def split_words(text: str) -> list[str]:
    """Split text into stream deltas, keeping the leading space on each word."""
    return re.findall(r"\s*\S+(?:\s+$)?", text) or ([text] if text else [])


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


# --------------------------------------------------------------------------- OpenAI


_OPENAI_ERRORS: dict[int, tuple[str, str | None]] = {
    400: ("invalid_request_error", None),
    401: ("invalid_request_error", "invalid_api_key"),
    403: ("invalid_request_error", None),
    429: ("requests", "rate_limit_exceeded"),
}


def openai_error(
    status: int,
    message: str | None = None,
    type_: str | None = None,
    code: str | None = None,
) -> dict[str, Any]:
    """An OpenAI-shaped error body: {"error": {"message", "type", "param", "code"}}."""
    default_type, default_code = _OPENAI_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None)
    )
    return {
        "error": {
            "message": message or f"Fake OpenAI error {status}",
            "type": type_ or default_type,
            "param": None,
            "code": code or default_code,
        }
    }


def openai_completion(
    model: str,
    content: str,
    usage: OpenAIUsage | None = None,
    completion_id: str = "chatcmpl-fake",
) -> dict[str, Any]:
    """A non-streamed `chat.completion` object."""
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": (usage or OpenAIUsage()).as_dict(),
    }


def openai_chunk(
    content: str | None = None,
    *,
    role: str | None = None,
    finish_reason: str | None = None,
    usage: OpenAIUsage | dict[str, Any] | None = None,
    choices_empty: bool = False,
    model: str = "gpt-fake",
    chunk_id: str = "chatcmpl-fake",
) -> dict[str, Any]:
    """One `chat.completion.chunk`; wrap it with `sse()` to put it on the wire.

    `choices_empty=True` builds the usage-only final chunk that OpenAI sends
    when `stream_options.include_usage` is set.
    """
    chunk: dict[str, Any] = {
        "id": chunk_id,
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": "fp_fake",
        "choices": []
        if choices_empty
        else [_openai_choice(content, role, finish_reason)],
    }
    if usage is not None:
        chunk["usage"] = usage.as_dict() if isinstance(usage, OpenAIUsage) else usage
    return chunk


def _openai_choice(
    content: str | None, role: str | None, finish_reason: str | None
) -> dict[str, Any]:
    delta: dict[str, Any] = {}
    if role is not None:
        delta["role"] = role
    if content is not None:
        delta["content"] = content
    return {
        "index": 0,
        "delta": delta,
        "logprobs": None,
        "finish_reason": finish_reason,
    }


def openai_stream(
    model: str,
    content: str,
    usage: OpenAIUsage | None = None,
    include_usage: bool = False,
    completion_id: str = "chatcmpl-fake",
) -> list[bytes]:
    """The SSE events of a streamed chat completion, one event per list item."""
    chunk_of = functools.partial(openai_chunk, model=model, chunk_id=completion_id)
    chunks = [chunk_of("", role="assistant")]
    chunks += [chunk_of(word) for word in split_words(content)]
    chunks.append(chunk_of(finish_reason="stop"))
    if include_usage:
        # Real OpenAI sends "usage": null on every chunk before the usage chunk.
        for chunk in chunks:
            chunk["usage"] = None
        usage = usage or OpenAIUsage()
        chunks.append(chunk_of(usage=usage, choices_empty=True))
    return [sse(chunk) for chunk in chunks] + [sse("[DONE]")]


# --------------------------------------------------------------------------- Anthropic


_ANTHROPIC_ERRORS: dict[int, str] = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    529: "overloaded_error",
}


def anthropic_error(
    status: int, message: str | None = None, type_: str | None = None
) -> dict[str, Any]:
    """An Anthropic-shaped error body: {"type": "error", "error": {...}}."""
    default_type = _ANTHROPIC_ERRORS.get(
        status, "api_error" if status >= 500 else "invalid_request_error"
    )
    return {
        "type": "error",
        "error": {
            "type": type_ or default_type,
            "message": message or f"Fake Anthropic error {status}",
        },
    }


def anthropic_message(
    model: str,
    content: str,
    usage: AnthropicUsage | None = None,
    message_id: str = "msg_fake",
) -> dict[str, Any]:
    """A non-streamed Messages API `message` object with one text block."""
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": content}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": (usage or AnthropicUsage()).as_dict(),
    }


def anthropic_sse(payload: dict[str, Any]) -> bytes:
    """An Anthropic stream event; the `event:` name always equals payload type."""
    return sse(payload, event=payload["type"])


def anthropic_stream(
    model: str,
    content: str,
    usage: AnthropicUsage | None = None,
    message_id: str = "msg_fake",
) -> list[bytes]:
    """The SSE events of a streamed message, one event per list item."""
    usage = usage or AnthropicUsage()
    start = anthropic_message(model, "", replace(usage, output_tokens=1), message_id)
    # message_start carries an empty message and the placeholder output count.
    start.update(content=[], stop_reason=None)
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": start},
        {
            "type": "content_block_start",
            "index": 0,
            "content_block": {"type": "text", "text": ""},
        },
        {"type": "ping"},
    ]
    events += [_anthropic_text_delta(word) for word in split_words(content)]
    events += [
        {"type": "content_block_stop", "index": 0},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "end_turn", "stop_sequence": None},
            "usage": {"output_tokens": usage.output_tokens},
        },
        {"type": "message_stop"},
    ]
    return [anthropic_sse(event) for event in events]


def _anthropic_text_delta(text: str) -> dict[str, Any]:
    return {
        "type": "content_block_delta",
        "index": 0,
        "delta": {"type": "text_delta", "text": text},
    }


# --------------------------------------------------------------------------- recording


class HeaderDict(dict[str, str]):
    """A dict of request headers stored lower-case and looked up case-insensitively,
    so tests need not know how the gateway's HTTP client spells header names."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        super().__init__((key.lower(), value) for key, value in items)

    def __getitem__(self, key: str) -> str:
        return super().__getitem__(key.lower())

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and super().__contains__(key.lower())

    def get(self, key: str, default: Any = None) -> Any:
        return super().get(key.lower(), default)


@dataclass
class RecordedRequest:
    """One request as the fake received it."""

    method: str
    path: str
    headers: HeaderDict
    json: Any  # parsed body, or None if empty or not JSON
    body: bytes
    query: dict[str, str] = field(default_factory=dict)
    # Set when the client hung up before the fake finished answering.
    client_disconnected: bool = False


def _parse_json(body: bytes) -> Any:
    if not body:
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


# --------------------------------------------------------------------------- server


class FakeProvider:
    """Base fake: lifecycle, recording, the reply queue and reply rendering.

    Subclasses declare their ROUTES and how to build default bodies, streams
    and error bodies from a request.
    """

    ROUTES: ClassVar[frozenset[tuple[str, str]]] = frozenset()
    BASE_PATH: ClassVar[str] = ""
    DEFAULT_MODEL: ClassVar[str] = "fake-model"
    USAGE_TYPE: ClassVar[type[OpenAIUsage] | type[AnthropicUsage]] = OpenAIUsage
    ID_PREFIX: ClassVar[str] = "fake-"

    def __init__(
        self, port: int = 0, host: str = LOOPBACK, record: bool = True
    ) -> None:
        self.host = host
        self.port = port
        # Benchmarks turn recording off so memory stays flat over millions of calls.
        self.record = record
        self.requests: list[RecordedRequest] = []
        self.default_reply: Reply = AutoReply()
        self.default_latency_s = 0.0
        # Picks the reply from the request when nothing is queued (None: default).
        self.responder: Callable[[RecordedRequest], Reply | None] | None = None
        self._queue: deque[Reply] = deque()
        self._lock = threading.Condition()
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None

    # ---- public API

    @property
    def url(self) -> str:
        """Server root, without the API prefix."""
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """What an SDK's `base_url` should be set to for this provider."""
        return self.url + self.BASE_PATH

    def enqueue(self, reply: Reply) -> None:
        """The next request gets `reply` (FIFO); an empty queue means default."""
        self._check_usage_type(reply)
        with self._lock:
            self._queue.append(reply)

    def reset(self) -> None:
        """Forget recorded requests and pending replies."""
        with self._lock:
            self.requests.clear()
            self._queue.clear()

    def reset_settings(self) -> None:
        """Restore the default reply and latency (shared fixtures call this)."""
        self.default_reply = AutoReply()
        self.default_latency_s = 0.0
        self.responder = None

    @property
    def pending_replies(self) -> int:
        with self._lock:
            return len(self._queue)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            return self.requests[-1]

    def wait_for_requests(
        self, count: int, timeout: float = 5.0
    ) -> list[RecordedRequest]:
        """Block until at least `count` requests arrived (gateways may call late)."""
        with self._lock:
            if not self._lock.wait_for(lambda: len(self.requests) >= count, timeout):
                got = len(self.requests)
                raise TimeoutError(f"expected {count} requests, got {got}")
            return list(self.requests)

    def start(self) -> Self:
        """Bind the port and serve from a background thread; returns self."""
        if self._thread is not None:
            raise RuntimeError(f"{type(self).__name__} already started")
        ready = threading.Event()
        errors: list[BaseException] = []
        self._thread = threading.Thread(
            target=self._thread_main,
            args=(ready, errors),
            name=f"{type(self).__name__}-{id(self):x}",
            daemon=True,  # a test that forgets stop() must not hang the run
        )
        self._thread.start()
        ready.wait()
        if errors:
            self._thread.join()
            self._thread = None
            raise RuntimeError(f"{type(self).__name__} failed to start") from errors[0]
        return self

    def stop(self) -> None:
        """Stop serving, cutting in-flight requests after a short grace period."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join()
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def serve_forever(self) -> None:
        """Serve in the foreground until SIGINT/SIGTERM (the CLI entry point)."""
        try:
            import uvloop  # optional speed-up for benchmarks
        except ImportError:
            asyncio.run(self._serve_until_signal())
            return
        uvloop.run(self._serve_until_signal())

    # ---- subclass hooks

    def default_body(
        self, request: RecordedRequest, content: str | None, usage: Usage | None
    ) -> JsonBody:
        raise NotImplementedError

    def default_stream(
        self, request: RecordedRequest, content: str | None, usage: Usage | None
    ) -> list[bytes]:
        raise NotImplementedError

    def error_body(self, status: int, message: str | None) -> JsonBody:
        raise NotImplementedError

    # ---- helpers for subclasses

    def model_of(self, request: RecordedRequest) -> str:
        body = request.json
        model = body.get("model") if isinstance(body, dict) else None
        return model if isinstance(model, str) else self.DEFAULT_MODEL

    def text_for(self, request: RecordedRequest, content: str | None) -> str:
        return (
            content
            if content is not None
            else f"Hello from fake {self.model_of(request)}"
        )

    def new_id(self) -> str:
        return f"{self.ID_PREFIX}{next(self._ids):06d}"

    # ---- server lifecycle

    def _thread_main(self, ready: threading.Event, errors: list[BaseException]) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self._loop = loop
        try:
            loop.run_until_complete(self._start_site())
        except BaseException as exc:  # reported to start() in the caller's thread
            errors.append(exc)
            loop.run_until_complete(self._cleanup())
            loop.close()
            ready.set()
            return
        ready.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._cleanup())
            loop.close()

    async def _start_site(self) -> None:
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        # One catch-all route: unknown paths are recorded too, which makes a
        # gateway that calls the wrong URL easy to diagnose.
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app,
            access_log=None,  # logging every request would cap benchmark throughput
            handler_cancellation=True,  # a client hang-up ends a HangReply early
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def _cleanup(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _serve_until_signal(self) -> None:
        await self._start_site()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        print(f"{type(self).__name__} listening on {self.base_url}", flush=True)
        await stop.wait()
        await self._cleanup()

    # ---- request handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        recorded = await self._record(request)
        if (request.method, request.path) not in self.ROUTES:
            message = f"Unknown route {request.method} {request.path}"
            return self._json(404, self.error_body(404, message), {})
        reply, is_default = self._next_reply(recorded)
        try:
            if is_default and self.default_latency_s > 0:
                await asyncio.sleep(self.default_latency_s)
            return await self._respond(request, recorded, reply)
        except asyncio.CancelledError:
            recorded.client_disconnected = True
            raise

    async def _record(self, request: web.Request) -> RecordedRequest:
        body = await request.read()
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            headers=HeaderDict(request.headers.items()),
            json=_parse_json(body),
            body=body,
            query=dict(request.query),
        )
        if self.record:
            with self._lock:
                self.requests.append(recorded)
                self._lock.notify_all()
        return recorded

    def _next_reply(self, recorded: RecordedRequest) -> tuple[Reply, bool]:
        with self._lock:
            if self._queue:
                return self._queue.popleft(), False
        if self.responder is not None:
            reply = self.responder(recorded)
            if reply is not None:
                return reply, True
        return self.default_reply, True

    async def _respond(
        self, request: web.Request, recorded: RecordedRequest, reply: Reply
    ) -> web.StreamResponse:
        match reply:
            case AutoReply():
                return await self._respond(
                    request, recorded, self._resolve_auto(recorded, reply)
                )
            case JsonReply():
                return await self._send_json_reply(recorded, reply)
            case StreamReply():
                return await self._send_stream_reply(request, recorded, reply)
            case ErrorReply():
                body = (
                    reply.body
                    if reply.body is not None
                    else self.error_body(reply.status, reply.message)
                )
                return self._json(reply.status, body, reply.headers)
            case RawReply():
                return self._raw(reply)
            case HangReply():
                await asyncio.sleep(reply.seconds)
                return await self._respond(request, recorded, reply.then or AutoReply())
            case CloseMidStreamReply():
                return await self._close_mid_stream(request, recorded, reply)
        raise TypeError(f"not a reply: {reply!r}")

    def _resolve_auto(self, recorded: RecordedRequest, reply: AutoReply) -> Reply:
        wants_stream = (
            isinstance(recorded.json, dict) and recorded.json.get("stream") is True
        )
        kind = StreamReply if wants_stream else JsonReply
        return kind(content=reply.content, usage=reply.usage, latency_s=reply.latency_s)

    async def _send_json_reply(
        self, recorded: RecordedRequest, reply: JsonReply
    ) -> web.StreamResponse:
        if reply.latency_s > 0:
            await asyncio.sleep(reply.latency_s)
        body = reply.body
        if body is None:
            body = self.default_body(recorded, reply.content, reply.usage)
        return self._json(reply.status, body, reply.headers)

    async def _send_stream_reply(
        self, request: web.Request, recorded: RecordedRequest, reply: StreamReply
    ) -> web.StreamResponse:
        if reply.latency_s > 0:
            await asyncio.sleep(reply.latency_s)
        chunks = reply.chunks
        if chunks is None:
            chunks = self.default_stream(recorded, reply.content, reply.usage)
        resp = self._stream_response(reply.status, reply.headers)
        await resp.prepare(request)
        try:
            await self._write_chunks(resp, chunks, reply.delay_s)
            await resp.write_eof()
        except ConnectionResetError:
            # The gateway hung up mid-stream: note it; aiohttp tidies up the rest.
            recorded.client_disconnected = True
        return resp

    async def _close_mid_stream(
        self,
        request: web.Request,
        recorded: RecordedRequest,
        reply: CloseMidStreamReply,
    ) -> web.StreamResponse:
        chunks = reply.chunks
        if chunks is None:
            full = self.default_stream(recorded, None, None)
            chunks = full[: len(full) // 2]
        resp = self._stream_response(reply.status, {})
        await resp.prepare(request)
        with contextlib.suppress(ConnectionResetError):
            await self._write_chunks(resp, chunks, reply.delay_s)
        # abort() drops the socket at once, without the final zero-length chunk,
        # so the client sees a truncated body, as when a provider process dies.
        if request.transport is not None:
            request.transport.abort()
        return resp

    @staticmethod
    async def _write_chunks(
        resp: web.StreamResponse, chunks: list[bytes], delay_s: float
    ) -> None:
        for chunk in chunks:
            # An empty write would be framed as the chunked terminator.
            if chunk:
                await resp.write(chunk)
            if delay_s > 0:
                await asyncio.sleep(delay_s)

    @staticmethod
    def _stream_response(status: int, headers: dict[str, str]) -> web.StreamResponse:
        base = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        return web.StreamResponse(status=status, headers={**base, **headers})

    @staticmethod
    def _json(status: int, body: JsonBody, headers: dict[str, str]) -> web.Response:
        all_headers = {"Content-Type": "application/json", **headers}
        return web.Response(
            status=status, body=_dumps(body).encode(), headers=all_headers
        )

    @staticmethod
    def _raw(reply: RawReply) -> web.Response:
        headers = {"Content-Type": reply.content_type, **reply.headers}
        return web.Response(status=reply.status, body=reply.body, headers=headers)

    def _check_usage_type(self, reply: Reply) -> None:
        # Fail in the test that enqueued the reply, not as a 500 in the server thread.
        usage = getattr(reply, "usage", None)
        if usage is not None and not isinstance(usage, self.USAGE_TYPE):
            raise TypeError(
                f"{type(self).__name__} needs {self.USAGE_TYPE.__name__}, "
                f"got {type(usage).__name__}"
            )
        if isinstance(reply, HangReply) and reply.then is not None:
            self._check_usage_type(reply.then)


# What the fake OpenAI lists at GET /v1/models by default: a line-up like OpenAI's
# (it answers any model id), plus its own default model.
OPENAI_MODELS = (
    "gpt-fake",
    "gpt-4o",
    "gpt-4o-mini",
    "gpt-4.1",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5",
    "gpt-5-mini",
    "gpt-5-nano",
    "o3",
    "o3-mini",
    "o4-mini",
    "o1",
    "gpt-4-turbo",
)
# The same for the fake Anthropic.
ANTHROPIC_MODELS = (
    "claude-fake",
    "claude-3-haiku-20240307",
    "claude-3-5-haiku-latest",
    "claude-haiku-4-5",
    "claude-sonnet-4-5",
    "claude-opus-4-1",
)


class FakeOpenAI(FakeProvider):
    """Serves POST /v1/chat/completions and GET /v1/models."""

    ROUTES = frozenset({("POST", "/v1/chat/completions"), ("GET", "/v1/models")})
    BASE_PATH = "/v1"
    DEFAULT_MODEL = "gpt-fake"
    USAGE_TYPE = OpenAIUsage
    ID_PREFIX = "chatcmpl-fake"

    def __init__(
        self, port: int = 0, host: str = LOOPBACK, record: bool = True
    ) -> None:
        super().__init__(port=port, host=host, record=record)
        # An id, or a dict of fields to list it with (e.g. vLLM's max_model_len).
        self.models: list[str | dict[str, Any]] = list(OPENAI_MODELS)
        # False: like llama.cpp's server, no usage chunk in a stream even when
        # `stream_options.include_usage` asks for one; and none in a JSON reply.
        self.usage_in_streams = True
        self.usage_in_replies = True

    def reset_settings(self) -> None:
        super().reset_settings()
        self.models = list(OPENAI_MODELS)
        self.usage_in_streams = True
        self.usage_in_replies = True

    def default_body(
        self, request: RecordedRequest, content: str | None, usage: Usage | None
    ) -> JsonBody:
        if request.path == "/v1/models":
            return self._model_list()
        body = openai_completion(
            self.model_of(request),
            self.text_for(request, content),
            usage,  # type: ignore[arg-type]  # checked by enqueue()
            self.new_id(),
        )
        if not self.usage_in_replies:
            del body["usage"]
        return body

    def default_stream(
        self, request: RecordedRequest, content: str | None, usage: Usage | None
    ) -> list[bytes]:
        return openai_stream(
            self.model_of(request),
            self.text_for(request, content),
            usage,  # type: ignore[arg-type]  # checked by enqueue()
            include_usage=self.usage_in_streams and _wants_usage(request),
            completion_id=self.new_id(),
        )

    def error_body(self, status: int, message: str | None) -> JsonBody:
        return openai_error(status, message)

    def _model_list(self) -> dict[str, Any]:
        data = [
            {"object": "model", "created": 1700000000, "owned_by": "fake"}
            | (model if isinstance(model, dict) else {"id": model})
            for model in self.models
        ]
        return {"object": "list", "data": data}


def _wants_usage(request: RecordedRequest) -> bool:
    body = request.json if isinstance(request.json, dict) else {}
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


class FakeAnthropic(FakeProvider):
    """Serves POST /v1/messages (the Anthropic Messages API) and GET /v1/models."""

    ROUTES = frozenset({("POST", "/v1/messages"), ("GET", "/v1/models")})
    BASE_PATH = ""  # the Anthropic SDK appends /v1/messages itself
    DEFAULT_MODEL = "claude-fake"
    USAGE_TYPE = AnthropicUsage
    ID_PREFIX = "msg_fake"
    # When every listed model says it was released (Anthropic's created_at).
    RELEASED_AT = "2025-02-24T00:00:00Z"

    def __init__(
        self, port: int = 0, host: str = LOOPBACK, record: bool = True
    ) -> None:
        super().__init__(port=port, host=host, record=record)
        self.models: list[str] = list(ANTHROPIC_MODELS)

    def reset_settings(self) -> None:
        super().reset_settings()
        self.models = list(ANTHROPIC_MODELS)

    def default_body(
        self, request: RecordedRequest, content: str | None, usage: Usage | None
    ) -> JsonBody:
        if request.path == "/v1/models":
            return self._model_page(request)
        return anthropic_message(
            self.model_of(request),
            self.text_for(request, content),
            usage,  # type: ignore[arg-type]  # checked by enqueue()
            self.new_id(),
        )

    def default_stream(
        self, request: RecordedRequest, content: str | None, usage: Usage | None
    ) -> list[bytes]:
        return anthropic_stream(
            self.model_of(request),
            self.text_for(request, content),
            usage,  # type: ignore[arg-type]  # checked by enqueue()
            self.new_id(),
        )

    def error_body(self, status: int, message: str | None) -> JsonBody:
        return anthropic_error(status, message)

    def _model_page(self, request: RecordedRequest) -> dict[str, Any]:
        """One page of the list, paged by `limit` and `after_id` as Anthropic does."""
        limit = int(request.query.get("limit", "20"))
        after = request.query.get("after_id")
        start = self.models.index(after) + 1 if after in self.models else 0
        page = self.models[start : start + limit]
        data = [
            {
                "type": "model",
                "id": model,
                "display_name": model.replace("-", " ").title(),
                "created_at": self.RELEASED_AT,
            }
            for model in page
        ]
        return {
            "data": data,
            "has_more": start + limit < len(self.models),
            "first_id": page[0] if page else None,
            "last_id": page[-1] if page else None,
        }


PROVIDERS: dict[str, type[FakeProvider]] = {
    "openai": FakeOpenAI,
    "anthropic": FakeAnthropic,
}


# --------------------------------------------------------------------------- CLI


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Run a fake LLM provider.")
    parser.add_argument("--kind", choices=sorted(PROVIDERS), default="openai")
    parser.add_argument("--host", default=LOOPBACK)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay before each reply"
    )
    parser.add_argument(
        "--record", action="store_true", help="keep requests in memory (grows!)"
    )
    parser.add_argument(
        "--judge",
        default="",
        help="answer benchmark judge prompts: first, tie, unreadable, or "
        "prefer:<word> (the answer containing the word wins)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = _parse_args(argv)
    fake = PROVIDERS[args.kind](port=args.port, host=args.host, record=args.record)
    fake.default_latency_s = args.latency_ms / 1000
    if args.judge:
        from tests.fakes import judges

        verdict = (
            judges.prefers(args.judge.partition(":")[2])
            if args.judge.startswith("prefer:")
            else judges.JUDGES[args.judge]
        )
        fake.responder = judges.judge_responder(verdict, reply_type=AutoReply)
    fake.serve_forever()


if __name__ == "__main__":
    main()
