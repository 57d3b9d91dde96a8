"""Not-found and server-error pages: JSON in the error shape for API clients."""

from django.http import HttpRequest, HttpResponse
from django.views import defaults

from llmtest.errors import GatewayError

# Paths whose callers are programs that read JSON, not people.
_API_PREFIXES = ("/api/", "/v1/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(_API_PREFIXES):
        return GatewayError(404, f"No endpoint at {request.path}.").response()
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(_API_PREFIXES):
        return GatewayError(500, "The gateway hit an internal error.").response()
    return defaults.server_error(request)
