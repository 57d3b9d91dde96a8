"""GET /healthz: answered without a key, for load balancers and orchestrators."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_health_says_the_database_is_ok_and_redis_is_ok_or_not_configured(settings):
    response = Client().get("/healthz")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "ok"
    assert body["database"] == "ok"
    assert body["redis"] == ("ok" if settings.REDIS_URL else "not configured")


def test_health_needs_no_key_and_ignores_a_bad_one():
    response = Client().get("/healthz", HTTP_AUTHORIZATION="Bearer llmt_nonsense")

    assert response.status_code == 200


def test_health_reports_an_unreachable_redis_as_down_with_503(settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json() == {
        "status": "unavailable",
        "database": "ok",
        "redis": "down",
    }


def test_health_reports_a_broken_redis_url_as_down_with_503(settings):
    settings.REDIS_URL = "http://not-redis.invalid"

    response = Client().get("/healthz")

    assert response.status_code == 503
    assert response.json()["redis"] == "down"


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_health_answers_other_methods_with_405_in_the_error_shape(method):
    client = Client(enforce_csrf_checks=True)

    response = getattr(client, method)("/healthz")

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"] == {
        "message": "/healthz only accepts GET and HEAD.",
        "type": "invalid_request_error",
        "code": None,
        "param": None,
    }


def test_health_answers_head_like_get():
    response = Client().head("/healthz")

    assert response.status_code == 200
