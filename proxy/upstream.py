"""HTTP to the providers: one aiohttp session per event loop, and error mapping.

aiohttp was chosen over httpx by measurement (see bench/upstream_clients.py and the
README): on this path it adds less latency and sustains several times the rate.
"""

import asyncio
import json
import logging
from collections.abc import Mapping
from typing import Any

import aiohttp
from django.conf import settings

from llmtest.errors import GatewayError
from proxy.providers import ProviderConfig

logger = logging.getLogger(__name__)

# Upstream response headers worth handing back to the client.
_PASSED_HEADERS = ("retry-after", "x-request-id", "request-id")
# What stands in for a provider key found in a provider's error.
_REDACTED = "[redacted]"
# Characters; shorter "keys" (test placeholders, "none") could match ordinary words.
_MIN_REDACTED_KEY_CHARS = 8
_sessions: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}


def session() -> aiohttp.ClientSession:
    """The session of the running loop; made on first use, reused for keep-alive.

    It outlives any change to the timeout settings, so it holds no timeout: each
    request states its own (see `_timeout`).
    """
    loop = asyncio.get_running_loop()
    current = _sessions.get(loop)
    if current is None or current.closed:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        current = aiohttp.ClientSession(
            connector=connector,
            json_serialize=json.dumps,
            auto_decompress=True,
        )
        _sessions[loop] = current
    return current


def _timeout() -> aiohttp.ClientTimeout:
    # No total: a long answer that keeps streaming is fine; a silent provider is not.
    return aiohttp.ClientTimeout(
        total=None,
        sock_connect=settings.UPSTREAM_CONNECT_TIMEOUT_S,
        sock_read=settings.UPSTREAM_TIMEOUT_S,
    )


async def close_sessions() -> None:
    for loop, current in list(_sessions.items()):
        if loop is asyncio.get_running_loop():
            await current.close()
            del _sessions[loop]


def headers_for(
    provider: ProviderConfig, client_headers: Mapping[str, str]
) -> dict[str, str]:
    """Auth and protocol headers for a provider; the client's key never goes up."""
    headers = {"content-type": "application/json"}
    if provider.speaks_openai:
        if provider.api_key:
            headers["authorization"] = f"Bearer {provider.api_key}"
        return headers
    headers["x-api-key"] = provider.api_key
    headers["anthropic-version"] = client_headers.get(
        "anthropic-version", settings.ANTHROPIC_VERSION
    )
    beta = client_headers.get("anthropic-beta")
    if beta:
        headers["anthropic-beta"] = beta
    return headers


def require_key(provider: ProviderConfig) -> None:
    """OpenAI and Anthropic always need a key; local servers may not."""
    if provider.kind in ("openai", "anthropic") and not provider.api_key:
        raise GatewayError(
            502,
            f"The provider '{provider.name}' has no API key configured on the gateway.",
            code="provider_not_configured",
        )


def endpoint(provider: ProviderConfig, api: str) -> str:
    base = provider.base_url.rstrip("/")
    if api == "messages":
        return f"{base}/v1/messages" if not base.endswith("/v1") else f"{base}/messages"
    return f"{base}/chat/completions"


async def post(url: str, body: Mapping[str, Any], headers: dict[str, str]) -> Any:
    """POST a JSON body; maps connection failures to 502 and timeouts to 504."""
    try:
        return await session().post(
            url, data=json.dumps(body), headers=headers, timeout=_timeout()
        )
    except TimeoutError as error:
        raise upstream_timeout() from error
    except aiohttp.ClientError as error:
        logger.warning("upstream.connect_failed", extra={"url": url}, exc_info=error)
        raise GatewayError(
            502, "Could not reach the provider.", code="upstream_unreachable"
        ) from error


def upstream_timeout() -> GatewayError:
    return GatewayError(
        504,
        f"The provider did not answer within {settings.UPSTREAM_TIMEOUT_S:g} seconds.",
        code="upstream_timeout",
    )


def passed_headers(response: aiohttp.ClientResponse) -> dict[str, str]:
    return {
        name: response.headers[name]
        for name in _PASSED_HEADERS
        if name in response.headers
    }


def error_from_upstream(
    provider: ProviderConfig, status: int, raw: bytes, headers: dict[str, str]
) -> GatewayError:
    """The provider's error, same status, in the gateway's error shape.

    Except a 401: the provider refused the gateway's own key, which the client can
    do nothing about, so it becomes a 502 rather than a 401 that blames the client's.
    """
    if status == 401:
        logger.error("upstream.key_refused", extra={"provider": provider.name})
        return GatewayError(
            502,
            f"The provider '{provider.name}' refused the gateway's credentials.",
            code="provider_auth_failed",
        )
    # A provider may echo its key in any of these, not only in the message.
    message, error_type, code = (
        redact(field, provider) if field is not None else None
        for field in _upstream_error_fields(raw)
    )
    return GatewayError(
        status,
        message or f"The provider answered with HTTP {status}.",
        error_type=error_type,
        code=code,
        headers=headers,
    )


def redact(text: str, provider: ProviderConfig) -> str:
    """The text without the provider's key, which some providers echo in errors."""
    key = provider.api_key
    if len(key) < _MIN_REDACTED_KEY_CHARS or key not in text:
        return text
    return text.replace(key, _REDACTED)


def _upstream_error_fields(raw: bytes) -> tuple[str, str | None, str | None]:
    try:
        body = json.loads(raw)
    except ValueError:
        return "", None, None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        error_type, code = error.get("type"), error.get("code")
        return (
            str(error.get("message") or ""),
            str(error_type) if error_type is not None else None,
            str(code) if code is not None else None,
        )
    if isinstance(error, str):
        return error, None, None
    return "", None, None
