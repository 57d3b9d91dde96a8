"""GET /api/account and POST /api/feedback."""

import json
import re
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Account, Feedback
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db

FEEDBACK = {
    "rating": 4,
    "comment": "Found the cheaper model for me.",
    "agent_model": "claude-sonnet-4",
    "agent_environment": "cursor",
    "task_summary": "Cutting the support bot's cost",
}


@pytest.fixture
def account() -> Account:
    return AccountFactory(email="team@example.com", credits=Decimal("12.5"))


@pytest.fixture
def raw_key(account: Account) -> str:
    _, raw = services.api_key_create(account)
    return raw


@pytest.fixture
def client(raw_key: str) -> APIClient:
    return APIClient(HTTP_AUTHORIZATION=f"Bearer {raw_key}")


def test_the_account_shows_exactly_its_five_fields(client, account):
    response = client.get("/api/account")

    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"email", "credits_usd", "total_spent", "api_key", "created_at"}
    assert body["email"] == "team@example.com"
    assert Decimal(str(body["credits_usd"])) == Decimal("12.5")
    assert Decimal(str(body["total_spent"])) == 0
    assert body["created_at"].startswith(account.created_at.strftime("%Y-%m-%d"))


def test_the_account_shows_the_key_masked_and_never_in_full(client, raw_key):
    response = client.get("/api/account")

    masked = response.json()["api_key"]
    assert re.fullmatch(r"llmt_[A-Za-z0-9_-]{4}…[A-Za-z0-9_-]{4}", masked)
    assert masked == f"llmt_{raw_key[5:9]}…{raw_key[-4:]}"
    assert raw_key not in response.content.decode()


def test_the_account_shows_the_key_the_request_was_made_with(account, client):
    _, other = services.api_key_create(account)

    response = APIClient().get("/api/account", HTTP_AUTHORIZATION=f"Bearer {other}")

    assert response.json()["api_key"] == f"llmt_{other[5:9]}…{other[-4:]}"


def test_the_account_shows_the_balance_after_a_top_up(client, account):
    client.get("/api/account")

    services.credits_add(account, Decimal("2.5"), "topup")
    response = client.get("/api/account")

    assert Decimal(str(response.json()["credits_usd"])) == Decimal("15")


def test_feedback_is_stored_for_the_callers_account(client, account):
    response = client.post("/api/feedback", FEEDBACK, format="json")

    assert response.status_code == 201
    feedback = Feedback.objects.get()
    assert feedback.account == account
    assert response.json()["id"] == feedback.pk
    assert (feedback.rating, feedback.agent_model) == (4, "claude-sonnet-4")
    assert (feedback.agent_environment, feedback.comment) == (
        "cursor",
        FEEDBACK["comment"],
    )
    assert feedback.task_summary == FEEDBACK["task_summary"]


def test_feedback_needs_only_the_rating_and_the_agent(client):
    required = {"rating": 5, "agent_model": "gpt-5", "agent_environment": "codex"}

    response = client.post("/api/feedback", required, format="json")

    assert response.status_code == 201
    assert Feedback.objects.get().comment == ""


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rating": 0}, "rating"),
        ({"rating": 6}, "rating"),
        ({"rating": 3.5}, "rating"),
        ({"rating": "five"}, "rating"),
        ({"rating": None}, "rating"),
        ({"rating": True}, "rating"),
        ({"rating": [5]}, "rating"),
        ({"rating": "5"}, "rating"),
        ({"agent_model": 42}, "agent_model"),
        ({"comment": {"text": "hi"}}, "comment"),
        ({"agent_model": ""}, "agent_model"),
        ({"agent_model": None}, "agent_model"),
        ({"agent_environment": "   "}, "agent_environment"),
        ({"agent_environment": "x" * 201}, "agent_environment"),
    ],
)
def test_invalid_feedback_gets_400_naming_the_field(client, change, field):
    response = client.post("/api/feedback", {**FEEDBACK, **change}, format="json")

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["param"] == field
    assert error["message"].startswith(f"{field}: ")
    assert error["type"] == "invalid_request_error"
    assert not Feedback.objects.exists()


@pytest.mark.parametrize("missing", ["rating", "agent_model", "agent_environment"])
def test_feedback_without_a_required_field_gets_400_naming_it(client, missing):
    body = {key: value for key, value in FEEDBACK.items() if key != missing}

    response = client.post("/api/feedback", body, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["param"] == missing


def test_feedback_sent_as_a_form_gets_415(client):
    response = client.post(
        "/api/feedback", "rating=5", content_type="application/x-www-form-urlencoded"
    )

    assert response.status_code == 415
    assert response.json()["error"]["type"] == "invalid_request_error"


def test_feedback_with_a_broken_json_body_gets_400(client):
    response = client.post(
        "/api/feedback", '{"rating": 5', content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"]


def test_feedback_sent_as_a_list_gets_400(client):
    response = client.post(
        "/api/feedback", json.dumps([FEEDBACK]), content_type="application/json"
    )

    assert response.status_code == 400
    assert not Feedback.objects.exists()


def test_feedback_nested_too_deeply_gets_400_in_the_error_shape(client):
    response = client.post(
        "/api/feedback", b"[" * 100_000, content_type="application/json"
    )

    assert response.status_code == 400
    assert response.json()["error"]["type"] == "invalid_request_error"
    assert "nested too deeply" in response.json()["error"]["message"]
    assert not Feedback.objects.exists()
