"""Gateway keys on the REST API (/api/*) and on the proxy (/v1/*)."""

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts import services
from accounts.models import ApiKey
from tests.factories import AccountFactory, api_key_for

UNKNOWN_KEY = "llmt_" + "u" * 40
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}

BAD_CREDENTIALS = {
    "missing": {},
    "not bearer": {"authorization": "Token abc"},
    "malformed": {"authorization": "Bearer sk-proj-not-a-gateway-key-000000000000"},
    "unknown": {"authorization": f"Bearer {UNKNOWN_KEY}"},
    "unknown x-api-key": {"x-api-key": UNKNOWN_KEY},
}


def _assert_openai_error(body: dict, status_type: str = "authentication_error"):
    assert set(body["error"]) == {"message", "type", "code", "param"}
    assert body["error"]["type"] == status_type
    assert body["error"]["message"]


def _django_headers(headers: dict[str, str]) -> dict[str, str]:
    return {"HTTP_" + name.upper().replace("-", "_"): v for name, v in headers.items()}


@pytest.mark.django_db
@pytest.mark.parametrize("headers", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS)
@pytest.mark.parametrize("path", ["/api/account", "/api/status", "/api/flows"])
def test_the_api_refuses_bad_credentials_with_401_in_the_openai_error_shape(
    path, headers
):
    response = APIClient().get(path, **_django_headers(headers))

    assert response.status_code == 401
    _assert_openai_error(response.json())


@pytest.mark.django_db
def test_the_api_refuses_a_revoked_key_even_when_it_was_just_used():
    key, raw = services.api_key_create(AccountFactory())
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert client.get("/api/account").status_code == 200

    services.api_key_revoke(key)
    response = client.get("/api/account")

    assert response.status_code == 401
    _assert_openai_error(response.json())


@pytest.mark.django_db
def test_the_api_accepts_the_key_in_x_api_key():
    account = AccountFactory()
    raw = api_key_for(account)

    response = APIClient().get("/api/account", HTTP_X_API_KEY=raw)

    assert response.status_code == 200
    assert response.json()["email"] == account.email


@pytest.mark.django_db
def test_a_repeat_request_authenticates_from_the_cache_not_the_database():
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key_for(AccountFactory())}")
    with CaptureQueriesContext(connection) as first:
        client.get("/api/account")

    with CaptureQueriesContext(connection) as second:
        response = client.get("/api/account")

    assert response.status_code == 200
    key_table = ApiKey._meta.db_table
    assert any(key_table in query["sql"] for query in first.captured_queries)
    assert not any(key_table in query["sql"] for query in second.captured_queries)
    # What is left is reading the account itself, whose balance must be current.
    assert len(second.captured_queries) == 1


@pytest.mark.django_db
def test_a_flood_of_one_unknown_key_reaches_the_database_once(
    django_assert_num_queries,
):
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {UNKNOWN_KEY}")
    client.get("/api/account")

    with django_assert_num_queries(0):
        response = client.get("/api/account")

    assert response.status_code == 401


# --- the proxy, served for real ---------------------------------------------------


@pytest.mark.parametrize("headers", BAD_CREDENTIALS.values(), ids=BAD_CREDENTIALS)
@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/v1/chat/completions"), ("POST", "/v1/messages"), ("GET", "/v1/models")],
)
def test_the_proxy_refuses_bad_credentials_with_401_before_any_upstream_call(
    gateway, fake_openai, fake_anthropic, method, path, headers
):
    body = {**CHAT, "max_tokens": 10} if method == "POST" else None

    response = httpx.request(method, gateway.url + path, json=body, headers=headers)

    assert response.status_code == 401
    _assert_openai_error(response.json())
    assert fake_openai.requests == fake_anthropic.requests == []


def test_the_proxy_accepts_the_key_in_x_api_key(gateway, fake_openai, api_key):
    response = httpx.post(
        f"{gateway.url}/v1/chat/completions", json=CHAT, headers={"x-api-key": api_key}
    )

    assert response.status_code == 200
    assert len(fake_openai.requests) == 1


def test_a_key_revoked_while_cached_by_the_proxy_is_refused_on_the_next_call(
    gateway, fake_openai, account
):
    key, raw = services.api_key_create(account)
    headers = {"authorization": f"Bearer {raw}"}
    url = f"{gateway.url}/v1/chat/completions"
    assert httpx.post(url, json=CHAT, headers=headers).status_code == 200

    services.api_key_revoke(key)
    response = httpx.post(url, json=CHAT, headers=headers)

    assert response.status_code == 401
    _assert_openai_error(response.json())
    assert len(fake_openai.requests) == 1


def test_a_key_deleted_while_cached_by_the_proxy_is_refused_on_the_next_call(
    gateway, fake_openai, account
):
    key, raw = services.api_key_create(account)
    url = f"{gateway.url}/v1/models"
    headers = {"authorization": f"Bearer {raw}"}
    assert httpx.get(url, headers=headers).status_code == 200

    key.delete()
    response = httpx.get(url, headers=headers)

    assert response.status_code == 401
    _assert_openai_error(response.json())
