"""Model calls the gateway makes itself (benchmarks, the judge).

They take the same path as a proxied call: the provider registry resolves the
model, `relay.forward` sends it and reads the answer, and the call is priced,
recorded and charged to the account like any other, under its own source.

Callers are synchronous (Celery tasks, the in-process runner); the calls run on
one event loop per process, in a thread of its own, so aiohttp's connection pool
is shared by every task of the process.
"""

import asyncio
import atexit
import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

from accounts import services as accounts
from accounts.keycache import KeyIdentity
from flows.models import Call
from llmtest.errors import GatewayError
from proxy import providers, relay, upstream
from proxy.translate import TranslationError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Completion:
    """The outcome of one call: its text when it succeeded, its error when not."""

    ok: bool
    call_id: uuid.UUID | None
    text: str = ""
    cost_usd: Decimal | None = None
    latency_ms: float | None = None
    error: str = ""
    code: str | None = None
    status: int = 200


async def acomplete(
    *,
    account_id: int,
    flow: str,
    model: str,
    messages: list[dict[str, Any]],
    source: str,
    max_tokens: int | None = None,
    response_format: dict[str, Any] | None = None,
) -> Completion:
    """One chat completion, not streamed. A model no provider takes, or messages its
    provider's format cannot carry, come back as a failed Completion (status 400),
    like any provider error; raises GatewayError(402) when the account has no
    credits left."""
    snapshot = await providers.asnapshot()
    try:
        resolved = snapshot.resolve(model)
    except GatewayError as error:
        return Completion(
            ok=False,
            call_id=None,
            error=error.message,
            code=error.code or error.error_type,
            status=error.status,
        )
    await accounts.aensure_credits(account_id)
    body: dict[str, Any] = {"model": model, "messages": messages}
    if max_tokens:
        body["max_tokens"] = max_tokens
    if response_format:
        body["response_format"] = response_format
    exchange = relay.Exchange(
        identity=KeyIdentity(0, account_id, ""),
        flow=flow,
        api=relay.CHAT,
        body=body,
        resolved=resolved,
        snapshot=snapshot,
        client_headers={},
        source=source,
    )
    started = time.perf_counter()
    try:
        response = await relay.forward(exchange)
    except GatewayError as error:
        return Completion(
            ok=False,
            call_id=exchange.call_id if exchange.finished else None,
            cost_usd=exchange.cost,
            latency_ms=(time.perf_counter() - started) * 1000,
            error=error.message,
            code=error.code or error.error_type,
            status=error.status,
        )
    except TranslationError as error:
        # A conversation one provider cannot take (a `function` message sent to
        # Anthropic) fails this call only, as the /v1 endpoints answer it with 400.
        return Completion(
            ok=False, call_id=None, error=str(error), code="untranslatable", status=400
        )
    latency_ms = (time.perf_counter() - started) * 1000
    text = _text_of(response.content)
    if text is None:
        # Answered, recorded and charged, but no completion: not an empty answer
        # a judge could find as good as another.
        return Completion(
            ok=False,
            call_id=exchange.call_id,
            cost_usd=exchange.cost,
            latency_ms=latency_ms,
            error="The provider's reply could not be read as a chat completion.",
            code="unreadable_reply",
            status=502,
        )
    return Completion(
        ok=True,
        call_id=exchange.call_id,
        text=text,
        cost_usd=exchange.cost,
        latency_ms=latency_ms,
    )


def _text_of(raw: bytes) -> str | None:
    """The answer's text from an OpenAI-format completion body ("" when it holds
    none, e.g. only tool calls); None when the body is no completion."""
    try:
        data = json.loads(raw)
        content = data["choices"][0]["message"].get("content")
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            part.get("text", "") for part in content if isinstance(part, dict)
        )
    return ""


def complete(**kwargs: Any) -> Completion:
    """`acomplete` for synchronous callers."""
    return run(acomplete(**kwargs))


def complete_many(calls: list[dict[str, Any]]) -> list[Completion | BaseException]:
    """Several `acomplete` calls at once; each result or the error it raised."""

    async def gather() -> list[Completion | BaseException]:
        return await asyncio.gather(
            *(acomplete(**kwargs) for kwargs in calls), return_exceptions=True
        )

    return run(gather())


class _LoopThread:
    """One event loop per process, started on first use (and again after a fork)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._pid = 0

    def loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                threading.Thread(
                    target=loop.run_forever, name="model-calls", daemon=True
                ).start()
                self._loop, self._pid = loop, os.getpid()
            return self._loop

    def started(self) -> asyncio.AbstractEventLoop | None:
        """This process's loop, if one was started."""
        return self._loop if self._pid == os.getpid() else None


_loop_thread = _LoopThread()


def _close_sessions() -> None:
    """At exit, close the connections the model-call loop holds."""
    loop = _loop_thread.started()
    if loop is not None and loop.is_running():
        future = asyncio.run_coroutine_threadsafe(upstream.close_sessions(), loop)
        with contextlib.suppress(Exception):
            future.result(timeout=5)


atexit.register(_close_sessions)


def run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run_coroutine_threadsafe(work, _loop_thread.loop()).result()


BENCHMARK = Call.Source.BENCHMARK
JUDGE = Call.Source.JUDGE
