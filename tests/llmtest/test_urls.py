"""Routing: an unknown API path answers JSON, even with DEBUG on."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.fixture
def debug_client(settings) -> Client:
    # `make run` writes DEBUG=true, under which Django skips handler404.
    settings.DEBUG = True
    return Client()


@pytest.mark.parametrize(
    "path",
    [
        "/v1/nothing-here",
        "/v1/chat/completions/",
        "/api/flows/",
        "/api/flows/support-bot/calls",
        "/api/",
        "/v1/",
        "/api",
        "/v1",
        "/v1/line%0Abreak",
    ],
)
def test_an_unknown_api_path_answers_json_404_with_debug_on(debug_client, path):
    response = debug_client.get(path)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json()["type"] == "error"
    assert response.json()["error"] == {
        "message": f"No endpoint at {response.wsgi_request.path}.",
        "type": "not_found_error",
        "code": None,
        "param": None,
    }


def test_a_post_to_an_unknown_api_path_gets_the_404_rather_than_a_csrf_failure(
    settings,
):
    settings.DEBUG = True
    client = Client(enforce_csrf_checks=True)

    response = client.post("/v1/chat/completion", {}, content_type="application/json")

    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found_error"


def test_the_known_api_paths_still_reach_their_views(debug_client):
    responses = [debug_client.get("/api/flows"), debug_client.get("/v1/models")]

    assert [response.status_code for response in responses] == [401, 401]


def test_a_path_outside_the_api_keeps_the_html_404(debug_client):
    response = debug_client.get("/nothing-here")

    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
