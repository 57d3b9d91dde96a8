"""The ASGI entry point's own behaviour, over real HTTP."""

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


def test_the_admin_is_served_with_the_full_middleware_stack(gateway):
    response = httpx.get(f"{gateway.url}/admin/login/")

    assert response.status_code == 200
    assert "csrftoken" in response.cookies
