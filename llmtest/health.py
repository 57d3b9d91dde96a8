"""GET /healthz: does the database answer, and Redis when it is configured."""

import logging

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from llmtest.errors import GatewayError

logger = logging.getLogger(__name__)


def _database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        return True
    except Exception:
        logger.exception("health.database_down")
        return False


def _redis_ok() -> bool | None:
    if not settings.REDIS_URL:
        return None
    import redis

    try:
        # A URL redis cannot parse raises ValueError: that is down too, not a 500.
        with redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2) as client:
            return bool(client.ping())
    except (redis.RedisError, ValueError):
        logger.exception("health.redis_down")
        return False


# Load balancers and orchestrators send no cookie or token: CSRF has nothing to
# protect here, and its 403 page would not be JSON.
@csrf_exempt
def healthz(request: HttpRequest) -> JsonResponse:
    if request.method not in ("GET", "HEAD"):
        allow = {"Allow": "GET, HEAD"}
        return GatewayError(
            405, "/healthz only accepts GET and HEAD.", headers=allow
        ).response()

    database = _database_ok()
    redis_state = _redis_ok()
    healthy = database and redis_state is not False
    body = {
        "status": "ok" if healthy else "unavailable",
        "database": "ok" if database else "down",
        "redis": {None: "not configured", True: "ok", False: "down"}[redis_state],
    }
    return JsonResponse(body, status=200 if healthy else 503)
