"""Checks on a proxied request, before anything goes upstream.

Only what the gateway itself needs is checked; every other field passes through to
the provider untouched.
"""

import json
import re
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from django.http.request import RawPostDataException

from flows.models import FLOW_NAME_PATTERN
from llmtest.errors import GatewayError, request_too_large

DEFAULT_FLOW = "default"
# Characters of a model id the call records can hold.
MAX_MODEL_ID_CHARS = 200
# ASCII control characters: PostgreSQL refuses NUL in text, so the call record of a
# model id holding one would be lost, and none belongs in a model id anyway.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
_FLOW_NAME = re.compile(FLOW_NAME_PATTERN)
# Roles each API accepts in `messages`.
CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
MESSAGES_ROLES = frozenset({"user", "assistant"})


def flow_name(request: HttpRequest) -> str:
    name = request.headers.get("x-flow", "").strip()
    if not name:
        return DEFAULT_FLOW
    if not _FLOW_NAME.match(name):
        raise GatewayError(
            400,
            "X-Flow must be 1-100 characters: letters, digits and . _ : / - "
            "(starting with a letter or digit).",
            param="X-Flow",
            code="invalid_flow",
        )
    return name


def json_body(request: HttpRequest) -> dict[str, Any]:
    """The request's JSON object. 413 when too large, 400 when not a JSON object."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.MAX_REQUEST_BYTES:
        raise request_too_large()
    try:
        raw = request.body
    except (RequestDataTooBig, RawPostDataException) as error:
        raise request_too_large() from error
    # A chunked body declares no length, so it is measured once read.
    if len(raw) > settings.MAX_REQUEST_BYTES:
        raise request_too_large()
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise GatewayError(400, "The request body is not valid JSON.") from error
    except RecursionError as error:
        raise GatewayError(400, "The request body is nested too deeply.") from error
    if not isinstance(body, dict):
        raise GatewayError(400, "The request body must be a JSON object.")
    return body


def check_chat(body: dict[str, Any]) -> None:
    _check_model(body)
    _check_messages(body, CHAT_ROLES)
    _check_stream(body)


def check_messages(body: dict[str, Any]) -> None:
    _check_model(body)
    _check_messages(body, MESSAGES_ROLES)
    _check_stream(body)
    max_tokens = body.get("max_tokens")
    # 0 is allowed: Anthropic then only writes the prompt cache.
    if (
        not isinstance(max_tokens, int)
        or isinstance(max_tokens, bool)
        or max_tokens < 0
    ):
        raise GatewayError(
            400,
            "max_tokens is required: a non-negative integer.",
            param="max_tokens",
        )


def _check_model(body: dict[str, Any]) -> None:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise GatewayError(400, "model is required: a model id string.", param="model")
    if len(model) > MAX_MODEL_ID_CHARS:
        raise GatewayError(
            400,
            f"model must be at most {MAX_MODEL_ID_CHARS} characters.",
            param="model",
        )
    if _CONTROL_CHARACTER.search(model):
        raise GatewayError(
            400, "model must not contain control characters.", param="model"
        )


def _check_messages(body: dict[str, Any], roles: frozenset[str]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise GatewayError(
            400, "messages is required: a non-empty array.", param="messages"
        )
    for index, message in enumerate(messages):
        if not isinstance(message, dict):
            raise GatewayError(
                400, f"messages[{index}] must be an object.", param=f"messages[{index}]"
            )
        role = message.get("role")
        # A role that is not a string (an object, a list) cannot be looked up in a set.
        if not isinstance(role, str) or role not in roles:
            allowed = ", ".join(sorted(roles))
            raise GatewayError(
                400,
                f"messages[{index}].role must be one of: {allowed}.",
                param=f"messages[{index}].role",
            )


def _check_stream(body: dict[str, Any]) -> None:
    if "stream" in body and not isinstance(body["stream"], bool | None):
        raise GatewayError(400, "stream must be true or false.", param="stream")
