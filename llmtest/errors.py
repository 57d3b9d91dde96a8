"""The one application error type, and how it becomes an HTTP response.

Every error body has the same shape, readable by both official SDKs: OpenAI's
`{"error": {"message", "type", "code", "param"}}` plus Anthropic's top-level
`"type": "error"`.
"""

import logging
from typing import Any

from django.conf import settings
from django.http import JsonResponse
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

logger = logging.getLogger(__name__)

# Status code -> error type, as the OpenAI and Anthropic APIs name them.
_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "insufficient_credits",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    406: "invalid_request_error",
    409: "conflict_error",
    413: "request_too_large",
    415: "invalid_request_error",
    429: "rate_limit_error",
    502: "upstream_error",
    504: "upstream_timeout",
}


class GatewayError(Exception):
    """An error the caller sees: a status, a message and the field it concerns."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        error_type: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type or _TYPES.get(status, "api_error")
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return error_body(self.message, self.error_type, self.code, self.param)

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.status)
        for name, value in self.headers.items():
            response[name] = value
        return response


def request_too_large() -> GatewayError:
    limit = settings.MAX_REQUEST_BYTES
    return GatewayError(413, f"The request body is larger than {limit} bytes.")


def internal_error() -> GatewayError:
    """What a caller sees of an error the gateway did not expect (it is logged)."""
    return GatewayError(500, "The gateway hit an internal error.")


def error_body(
    message: str,
    error_type: str = "api_error",
    code: str | None = None,
    param: str | None = None,
) -> dict[str, Any]:
    error = {"message": message, "type": error_type, "code": code, "param": param}
    return {"type": "error", "error": error}


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, rendering every error in the gateway's shape."""
    if isinstance(exc, GatewayError):
        return Response(exc.body(), status=exc.status, headers=exc.headers)

    response = drf_exception_handler(exc, context)
    if response is None:
        logger.error("api.unhandled_error", exc_info=exc)
        error = internal_error()
        return Response(error.body(), status=error.status)

    message, param = _drf_message(exc)
    request = context.get("request")
    wanted = getattr(request, "query_params", {}).get("format")
    if not message and wanted is not None:
        # DRF's answer to a ?format= no renderer of the view has: a bare 404.
        message, param = f"This endpoint has no format '{wanted}'.", "format"
    message = message or str(getattr(exc, "default_detail", "")) or "Request failed."
    code = getattr(exc, "default_code", None)
    response.data = error_body(message, _TYPES.get(response.status_code, "api_error"))
    response.data["error"]["code"] = code
    response.data["error"]["param"] = param
    return response


def _drf_message(exc: Exception) -> tuple[str, str | None]:
    if isinstance(exc, drf_exceptions.ValidationError):
        return _first_validation_message(exc.detail, None)
    if isinstance(exc, drf_exceptions.APIException):
        return str(exc.detail), None
    return str(exc), None


def _first_validation_message(detail: Any, field: str | None) -> tuple[str, str | None]:
    if isinstance(detail, dict):
        key, value = next(iter(detail.items()))
        name = key if field is None else f"{field}.{key}"
        if key == "non_field_errors":
            name = field
        return _first_validation_message(value, name)
    if isinstance(detail, list) and detail:
        index_free = _first_validation_message(detail[0], field)
        return index_free
    text = str(detail)
    return (f"{field}: {text}" if field else text), field
