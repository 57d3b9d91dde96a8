"""ASGI entry point: Django, plus the lifespan events Django itself ignores.

On shutdown the call recorder writes what it still holds, so a worker that is
stopped gracefully loses no call record.
"""

import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmtest.settings")

django_application = get_asgi_application()

from flows import recorder  # noqa: E402  (needs the app registry loaded above)
from proxy import upstream  # noqa: E402

Scope = dict[str, Any]
Receive = Any
Send = Any


async def application(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    await django_application(scope, receive, send)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await upstream.close_sessions()
            recorder.drain()
            await send({"type": "lifespan.shutdown.complete"})
            return
