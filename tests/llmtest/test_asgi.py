"""The ASGI entry point's own behaviour, over real HTTP."""

import os
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_body_announced_as_too_large_is_refused_before_it_is_read(
    gateway, api_key, settings
):
    settings.MAX_REQUEST_BYTES = 1000
    body = b"{" + b" " * 5000 + b"}"

    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        content=body,
        headers={"authorization": f"Bearer {api_key}"},
    )

    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"


class ChunkedBody:
    """A large body httpx sends without Content-Length (Transfer-Encoding: chunked),
    counting how much of it the client got to send."""

    def __init__(self, total: int, chunk: int = 64 * 1024) -> None:
        self.total, self.chunk, self.sent = total, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            self.sent += self.chunk
            yield b" " * self.chunk


@pytest.mark.parametrize("path", ["/v1/chat/completions", "/api/feedback"])
def test_a_chunked_body_over_the_limit_gets_413_without_being_read_whole(
    gateway, api_key, settings, path
):
    settings.MAX_REQUEST_BYTES = 1000
    body = ChunkedBody(total=100 * 1024 * 1024)

    response = httpx.post(
        f"{gateway.url}{path}",
        content=body,
        headers={
            "authorization": f"Bearer {api_key}",
            "content-type": "application/json",
        },
    )

    assert response.status_code == 413
    assert response.json()["error"] == {
        "message": "The request body is larger than 1000 bytes.",
        "type": "request_too_large",
        "code": None,
        "param": None,
    }
    # The gateway stopped reading: the client could only fill the socket buffers.
    assert body.sent < body.total / 10


def test_a_chunked_body_within_the_limit_is_served(gateway, api_key, settings):
    settings.MAX_REQUEST_BYTES = 1000
    body = [
        b'{"model": "gpt-4o-mini", ',
        b'"messages": [{"role": "user", "content": "hi"}]}',
    ]

    response = httpx.post(
        f"{gateway.url}/v1/chat/completions",
        content=iter(body),
        headers={"authorization": f"Bearer {api_key}"},
    )

    assert response.status_code == 200
    assert response.json()["object"] == "chat.completion"


def test_a_chunked_body_reaches_the_rest_api(gateway, api_key):
    # DRF reads no body without a Content-Length; the gateway gives it one.
    body = [b'{"rating": 5, "agent_model": "gpt-5", ', b'"agent_environment": "cli"}']

    response = httpx.post(
        f"{gateway.url}/api/feedback",
        content=iter(body),
        headers={
            "authorization": f"Bearer {api_key}",
            "content-type": "application/json",
        },
    )

    assert response.status_code == 201, response.text


def test_the_admin_is_served_with_the_full_middleware_stack(gateway):
    response = httpx.get(f"{gateway.url}/admin/login/")

    assert response.status_code == 200
    assert "csrftoken" in response.cookies


def test_an_unknown_api_path_answers_404_in_the_error_shape(gateway, api_key):
    headers = {"authorization": f"Bearer {api_key}"}

    api = httpx.get(f"{gateway.url}/api/nothing-here", headers=headers)
    proxy = httpx.get(f"{gateway.url}/v1/nothing-here", headers=headers)

    assert api.status_code == proxy.status_code == 404
    assert api.json()["error"]["type"] == "not_found_error"
    assert proxy.json()["error"]["message"] == "No endpoint at /v1/nothing-here."


def test_a_wrong_method_on_a_proxy_endpoint_answers_405_in_the_error_shape(
    gateway, api_key
):
    response = httpx.get(
        f"{gateway.url}/v1/chat/completions",
        headers={"authorization": f"Bearer {api_key}"},
    )

    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert (
        response.json()["error"]["message"] == "/v1/chat/completions only accepts POST."
    )


def test_loading_the_asgi_app_starts_the_benchmark_watchdog():
    # Whatever the server (daphne's runserver sends no lifespan events).
    code = (
        "import threading, llmtest.asgi; "
        "print(any(t.name == 'benchmark-watchdog' for t in threading.enumerate()))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "llmtest.settings_test",
        "BENCHMARK_WATCH_S": "30",
    }

    done = subprocess.run(  # noqa: S603  (our own interpreter and code)
        [sys.executable, "-c", code], env=env, capture_output=True, text=True
    )

    assert done.stdout.strip() == "True", done.stderr
