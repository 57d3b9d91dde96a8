"""The OpenAI- and Anthropic-compatible endpoints under /v1/.

These are plain async Django views rather than DRF views: they sit on the hot path,
and DRF's request handling is synchronous.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, time
from functools import wraps
from typing import Any

from asgiref.sync import sync_to_async
from django.core.exceptions import DisallowedHost
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.views.decorators.csrf import csrf_exempt

from accounts import services as accounts
from accounts.keycache import KeyIdentity
from flows import config as flow_config
from llmtest.errors import GatewayError, internal_error
from proxy import catalog, providers, relay, validation
from proxy.translate import TranslationError

logger = logging.getLogger(__name__)

AsyncView = Callable[..., Awaitable[HttpResponse | StreamingHttpResponse]]


def _endpoint(method: str) -> Callable[[AsyncView], Any]:
    """Make an async view a gateway endpoint: one HTTP method, no CSRF (keys, not
    cookies, authenticate), and every error in the gateway's error shape.

    Returns Any because URL patterns are typed for synchronous views.
    """

    def decorate(view: AsyncView) -> Any:
        return csrf_exempt(_gateway_errors(view, method))

    return decorate


def _gateway_errors(view: AsyncView, method: str) -> AsyncView:
    @wraps(view)
    async def wrapper(
        request: HttpRequest, *args: object
    ) -> HttpResponse | StreamingHttpResponse:
        try:
            # Django checks the Host header against ALLOWED_HOSTS here; the
            # middleware that would do it elsewhere is not on this path.
            request.get_host()
            if request.method != method:
                raise GatewayError(
                    405,
                    f"{request.path} only accepts {method}.",
                    headers={"Allow": method},
                )
            return await view(request, *args)
        except GatewayError as error:
            return error.response()
        except DisallowedHost:
            return GatewayError(400, "The Host header is not allowed.").response()
        except (OperationalError, InterfaceError):
            # Only reached on a cache miss: known keys and balances need no database.
            logger.exception("proxy.database_unavailable")
            message = "The gateway's database is unavailable; try again shortly."
            return GatewayError(503, message, code="database_unavailable").response()
        except TranslationError as error:
            return GatewayError(400, str(error), code="untranslatable").response()
        except Exception:
            # Django's own 500 page is HTML no SDK can read; the error is logged here.
            logger.exception("proxy.unhandled_error", extra={"path": request.path})
            return internal_error().response()

    return wrapper


async def _identity(request: HttpRequest) -> KeyIdentity:
    raw = accounts.key_from_headers(
        request.headers.get("authorization"), request.headers.get("x-api-key")
    )
    return await accounts.aauthenticate(raw)


def _serve(
    body: dict[str, Any],
    target: str | None,
    snapshot: providers.Snapshot,
    flow: str,
) -> tuple[dict[str, Any], providers.Resolved, str | None]:
    """The body to forward, its provider, and the model the client asked for when
    a route (to `target`) serves it with another, else None.

    A route to a model no configured provider serves is ignored and logged: a
    provider removed after a switch was accepted must not break the flow.
    """
    if target is not None:
        try:
            return {**body, "model": target}, snapshot.resolve(target), body["model"]
        except GatewayError:
            logger.warning(
                "proxy.route_unservable", extra={"flow": flow, "model": target}
            )
    return body, snapshot.resolve(body["model"]), None


async def _proxied(
    request: HttpRequest, api: str
) -> HttpResponse | StreamingHttpResponse:
    identity = await _identity(request)
    flow = validation.flow_name(request)
    body = validation.json_body(request)
    if api == relay.CHAT:
        validation.check_chat(body)
    else:
        validation.check_messages(body)

    snapshot, flows, _ = await asyncio.gather(
        providers.asnapshot(),
        flow_config.aconfig(),
        accounts.aensure_credits(identity.account_id),
    )
    target = flows.route(identity.account_id, flow, body["model"])
    body, resolved, requested = _serve(body, target, snapshot, flow)
    exchange = relay.Exchange(
        identity=identity,
        flow=flow,
        api=api,
        body=body,
        resolved=resolved,
        snapshot=snapshot,
        client_headers={k.lower(): v for k, v in request.headers.items()},
        requested=requested,
    )
    return await relay.forward(exchange)


@_endpoint("POST")
async def chat_completions(
    request: HttpRequest,
) -> HttpResponse | StreamingHttpResponse:
    return await _proxied(request, relay.CHAT)


@_endpoint("POST")
async def messages(request: HttpRequest) -> HttpResponse | StreamingHttpResponse:
    return await _proxied(request, relay.MESSAGES)


@_endpoint("GET")
async def models(request: HttpRequest) -> HttpResponse:
    await _identity(request)
    snapshot = await providers.asnapshot()
    lists = await catalog.alisted(snapshot)
    served = await sync_to_async(catalog.served_now)(snapshot, lists)
    data = [
        {
            "id": model.id,
            "object": "model",
            "created": _created(model.entry),
            "owned_by": model.provider,
        }
        for model in served
    ]
    return JsonResponse({"object": "list", "data": data})


def _created(entry: catalog.Entry) -> int:
    """Unix time of the model's release, else of when this gateway first saw it."""
    if entry.release_date is not None:
        released = datetime.combine(entry.release_date, time.min, tzinfo=UTC)
        return int(released.timestamp())
    if entry.first_seen_at is not None:
        return int(entry.first_seen_at.timestamp())
    return 0
