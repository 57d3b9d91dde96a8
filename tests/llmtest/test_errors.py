"""Every error of the REST API comes back in the one error shape."""

import logging

import pytest
from rest_framework.test import APIClient

from flows import selectors
from tests.factories import AccountFactory, api_key_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def api() -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key_for(AccountFactory())}")


def test_a_method_the_endpoint_does_not_take_gets_405_in_the_error_shape(api):
    response = api.delete("/api/account")

    assert response.status_code == 405
    assert response.json() == {
        "type": "error",
        "error": {
            "message": 'Method "DELETE" not allowed.',
            "type": "invalid_request_error",
            "code": "method_not_allowed",
            "param": None,
        },
    }


def test_a_format_the_endpoint_has_not_is_a_404_that_says_so(api):
    response = api.get("/api/account", {"format": "xml"})

    assert response.status_code == 404
    error = response.json()["error"]
    assert error["message"] == "This endpoint has no format 'xml'."
    assert error["param"] == "format"


def test_an_unexpected_error_gets_500_in_the_error_shape_without_details(
    api, monkeypatch, caplog
):
    def broken(account_id: int) -> None:
        raise RuntimeError("connection to db-7.internal lost")

    monkeypatch.setattr(selectors, "flow_model_stats", broken)

    with caplog.at_level(logging.ERROR, logger="llmtest.errors"):
        response = api.get("/api/flows")

    assert response.status_code == 500
    assert response.json()["error"]["type"] == "api_error"
    assert "db-7" not in response.content.decode()
    logged = [r.message for r in caplog.records if r.name == "llmtest.errors"]
    assert logged == ["api.unhandled_error"]
