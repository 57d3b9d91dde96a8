"""ASGI entry point: Django, plus the lifespan events Django itself ignores.

Two Django handlers share the URLconf. The proxy's `/v1/` routes go through a lean
one with no middleware: Django's stock middleware is synchronous, and under ASGI
each one costs a hop to a thread per request (measured: over 40% of a worker's time
at 400 requests/s). Everything else (admin, REST API, health) gets the full stack.

A request body over MAX_REQUEST_BYTES gets 413: refused from its Content-Length
before it is read, or, sent chunked, cut off as soon as it passes the limit.

On shutdown the call recorder writes what it still holds, so a worker that is
stopped gracefully loses no call record. Loading this module starts the process's
benchmark watchdog (not the lifespan startup: daphne, behind `make run`, sends
none).
"""

import asyncio
import json
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmtest.settings")

django_application = get_asgi_application()

from django.conf import settings  # noqa: E402
from django.core.handlers.asgi import ASGIHandler  # noqa: E402
from django.core.handlers.exception import convert_exception_to_response  # noqa: E402

from benchmarks import watchdog  # noqa: E402  (needs the app registry loaded above)
from flows import recorder  # noqa: E402
from llmtest.errors import request_too_large  # noqa: E402
from proxy import relay, upstream  # noqa: E402

Scope = dict[str, Any]
Receive = Any
Send = Any

# Paths served by the lean handler: the proxy endpoints only.
PROXY_PREFIX = "/v1/"


class ProxyHandler(ASGIHandler):
    """Django's ASGI handler without middleware or a thread per request.

    The proxy views are async, authenticate with gateway keys (no session or CSRF)
    and need none of the browser middleware. Django's handler also opens a new
    thread for each request's synchronous work; the few synchronous calls these
    views make (cache misses) share Django's one sync thread instead.
    """

    def load_middleware(self, is_async: bool = False) -> None:
        self._view_middleware: list[Any] = []
        self._template_response_middleware: list[Any] = []
        self._exception_middleware: list[Any] = []
        # The chain Django itself builds when MIDDLEWARE is empty.
        view_caller = self._get_response_async  # type: ignore[attr-defined]
        self._middleware_chain = convert_exception_to_response(view_caller)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.handle(scope, receive, send)


proxy_application = ProxyHandler()


class _BodyLimit:
    """The `receive` and `send` of a request sent without Content-Length (chunked),
    counting its body as it arrives.

    Past MAX_REQUEST_BYTES it tells Django the client has left: Django stops
    reading, answers nothing and returns, and the 413 is then ours to send. Under
    uvicorn, which reads the socket only as the body is asked for, a worker so
    holds little more than the limit; daphne's development server reads a whole
    request before the application sees any of it.
    """

    def __init__(self, receive: Receive, send: Send) -> None:
        self._receive = receive
        self._send = send
        self.body_bytes = 0
        self.exceeded = False
        self.response_started = False

    async def receive(self) -> dict[str, Any]:
        if self.exceeded:
            return {"type": "http.disconnect"}
        message: dict[str, Any] = await self._receive()
        if message["type"] == "http.request":
            self.body_bytes += len(message.get("body", b""))
            if self.body_bytes > settings.MAX_REQUEST_BYTES:
                self.exceeded = True
                return {"type": "http.disconnect"}
        return message

    async def send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.response_started = True
        await self._send(message)


watchdog.start_sweeper()


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
    elif scope["type"] != "http":
        await _route(scope, receive, send)
    elif _declared_too_large(scope):
        await _send_too_large(send)
    elif _content_length(scope) is None:
        await _route_counting_body(scope, receive, send)
    else:
        await _route(scope, receive, send)


async def _route(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "http" and scope["path"].startswith(PROXY_PREFIX):
        await proxy_application(scope, receive, send)
    else:
        await django_application(scope, receive, send)


async def _route_counting_body(scope: Scope, receive: Receive, send: Send) -> None:
    if not scope["path"].startswith(PROXY_PREFIX):
        await _with_content_length(scope, receive, send)
        return
    limit = _BodyLimit(receive, send)
    await _route(scope, limit.receive, limit.send)
    if limit.exceeded and not limit.response_started:
        await _send_too_large(send)


async def _with_content_length(scope: Scope, receive: Receive, send: Send) -> None:
    """A chunked request to Django's own routes (REST API, admin), read whole up to
    MAX_REQUEST_BYTES and passed on with a Content-Length: DRF reads no body
    without one. Django would hold the whole body before the view ran anyway."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > settings.MAX_REQUEST_BYTES:
            await _send_too_large(send)
            return
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(chunks)
    headers = [
        *(h for h in scope["headers"] if h[0] != b"transfer-encoding"),
        (b"content-length", str(len(body)).encode()),
    ]
    replayed = False

    async def replay() -> dict[str, Any]:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        message: dict[str, Any] = await receive()
        return message

    await django_application({**scope, "headers": headers}, replay, send)


def _content_length(scope: Scope) -> bytes | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return bytes(value)
    return None


def _declared_too_large(scope: Scope) -> bool:
    """A body announced as over the limit is refused before it is read at all."""
    value = _content_length(scope)
    if value is None:
        return False
    return value.isdigit() and int(value) > settings.MAX_REQUEST_BYTES


async def _send_too_large(send: Send) -> None:
    error = request_too_large()
    body = json.dumps(error.body()).encode()
    headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
    await send({"type": "http.response.start", "status": 413, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await relay.finish_background_tasks(timeout=30)
            await upstream.close_sessions()
            # Blocks until written: off the loop, which may still finish streams.
            await asyncio.to_thread(recorder.drain)
            await send({"type": "lifespan.shutdown.complete"})
            return
