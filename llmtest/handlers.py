"""Not-found and server-error pages: JSON in the error shape for API clients."""

from django.http import HttpRequest, HttpResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

from llmtest.errors import GatewayError, internal_error

# Paths whose callers are programs that read JSON, not people.
_API_PREFIXES = ("/api/", "/v1/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(_API_PREFIXES):
        return _api_not_found(request)
    return defaults.page_not_found(request, exception)


# Exempt: a POST to an unknown path must get the 404, not a CSRF failure page.
@csrf_exempt
def api_not_found(request: HttpRequest) -> HttpResponse:
    """The 404 of an unknown API path, served as a view by the last URL pattern.

    Django skips `handler404` when DEBUG is on and renders its HTML page instead,
    which an API client cannot read.
    """
    return _api_not_found(request)


def _api_not_found(request: HttpRequest) -> HttpResponse:
    return GatewayError(404, f"No endpoint at {request.path}.").response()


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(_API_PREFIXES):
        return internal_error().response()
    return defaults.server_error(request)
