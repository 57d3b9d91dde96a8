"""How the gateway answers when a provider fails, or when the request itself is bad.

Every error reaches the client in the shape its SDK reads, with the provider's status
where there is one, and never with anything the client must not see.
"""

import json
import re
import socket
from decimal import Decimal

import anthropic
import httpx
import openai
import pytest

from accounts.models import CreditEntry
from flows.models import Call
from proxy import providers
from proxy.models import PriceOverride
from tests.conftest import settle
from tests.fakes.providers import (
    ErrorReply,
    HangReply,
    JsonReply,
    RawReply,
    anthropic_error,
    openai_error,
)

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Where is my order?"}]
CHAT_BODY = {"model": "gpt-4o-mini", "messages": MESSAGES}
OPENAI_KEY = "sk-test-openai-provider-key-0000"
ANTHROPIC_KEY = "sk-ant-test-anthropic-provider-key-0000"
# What a Python traceback or a source location looks like in a response body.
LEAK_PATTERNS = (
    re.compile(r"Traceback \(most recent call last\)"),
    re.compile(r'File "[^"]+", line \d+'),
    re.compile(r"/[\w.-]+/[\w./-]+\.py"),
    re.compile(r"llmt_[A-Za-z0-9_-]{32,}"),
)


@pytest.fixture
def priced_mini() -> PriceOverride:
    return PriceOverride.objects.create(
        model="gpt-4o-mini",
        input_per_mtok=Decimal("1.00"),
        output_per_mtok=Decimal("4.00"),
    )


def assert_nothing_leaks(response: httpx.Response, api_key: str) -> None:
    text = response.text
    for pattern in LEAK_PATTERNS:
        assert not pattern.search(text), f"{pattern.pattern} found in {text!r}"
    for secret in (OPENAI_KEY, ANTHROPIC_KEY, api_key):
        assert secret not in text


def assert_openai_shaped(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert {"message", "type", "code", "param"} <= set(error)
    assert isinstance(error["message"], str) and error["message"]
    return error


def charges() -> int:
    return CreditEntry.objects.filter(kind=CreditEntry.Kind.CHARGE).count()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- errors a provider answers with -----------------------------------------------


def test_a_rate_limited_provider_gives_429_with_the_same_retry_after(
    http, fake_openai, api_key
):
    fake_openai.enqueue(ErrorReply(429, headers={"Retry-After": "17"}))

    response = http.post("/v1/chat/completions", json=CHAT_BODY)
    settle()

    assert response.status_code == 429
    assert response.headers["retry-after"] == "17"
    error = assert_openai_shaped(response)
    assert error["message"] == "Fake OpenAI error 429"
    assert error["code"] == "rate_limit_exceeded"
    assert_nothing_leaks(response, api_key)
    call = Call.objects.get()
    assert (call.outcome, call.http_status) == (Call.Outcome.UPSTREAM_ERROR, 429)
    assert call.cost_usd == 0 and call.priced and charges() == 0


def test_the_openai_sdk_reads_a_relayed_rate_limit(client, fake_openai):
    fake_openai.enqueue(ErrorReply(429, headers={"Retry-After": "3"}))

    with pytest.raises(openai.RateLimitError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)

    assert caught.value.response.headers["retry-after"] == "3"
    assert caught.value.body["message"] == "Fake OpenAI error 429"


def test_a_provider_500_comes_back_as_500(http, fake_openai, api_key):
    fake_openai.enqueue(ErrorReply(500, message="The server had an error"))

    response = http.post("/v1/chat/completions", json=CHAT_BODY)
    settle()

    assert response.status_code == 500
    assert assert_openai_shaped(response)["message"] == "The server had an error"
    assert_nothing_leaks(response, api_key)
    assert Call.objects.get().outcome == Call.Outcome.UPSTREAM_ERROR
    assert charges() == 0


def test_a_provider_error_page_that_is_not_json_gets_a_generic_message(
    http, fake_openai, api_key
):
    page = b"<html><body>502 Bad Gateway</body></html>"
    fake_openai.enqueue(RawReply(502, page, content_type="text/html"))

    response = http.post("/v1/chat/completions", json=CHAT_BODY)

    assert response.status_code == 502
    assert assert_openai_shaped(response)["message"] == (
        "The provider answered with HTTP 502."
    )
    assert_nothing_leaks(response, api_key)


def test_an_anthropic_400_for_a_chat_completion_comes_back_openai_shaped(
    http, fake_anthropic, api_key
):
    message = "messages: text content blocks must be non-empty"
    fake_anthropic.enqueue(ErrorReply(400, message=message))
    body = {"model": "claude-sonnet-4-6", "messages": MESSAGES}

    response = http.post("/v1/chat/completions", json=body)

    assert response.status_code == 400
    error = assert_openai_shaped(response)
    assert error["message"] == message
    assert error["type"] == "invalid_request_error"
    assert_nothing_leaks(response, api_key)


def test_an_anthropic_rate_limit_reaches_the_anthropic_sdk(claude, fake_anthropic):
    fake_anthropic.enqueue(ErrorReply(429, headers={"retry-after": "9"}))

    with pytest.raises(anthropic.RateLimitError) as caught:
        claude.messages.create(
            model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES
        )

    assert caught.value.response.headers["retry-after"] == "9"
    assert caught.value.body["type"] == "error"
    assert caught.value.body["error"]["type"] == "rate_limit_error"


def test_a_provider_that_echoes_the_gateway_key_does_not_leak_it(
    http, fake_openai, api_key
):
    message = f"Incorrect API key provided: {OPENAI_KEY}."
    fake_openai.enqueue(ErrorReply(400, body=openai_error(400, message)))

    response = http.post("/v1/chat/completions", json=CHAT_BODY)

    assert response.status_code == 400
    assert "Incorrect API key provided" in assert_openai_shaped(response)["message"]
    assert_nothing_leaks(response, api_key)


def test_a_provider_key_echoed_in_the_error_type_or_code_is_redacted_too(
    http, fake_openai, api_key
):
    body = openai_error(
        400, "Bad key", type_=f"key_{OPENAI_KEY}", code=f"refused:{OPENAI_KEY}"
    )
    fake_openai.enqueue(ErrorReply(400, body=body))

    response = http.post("/v1/chat/completions", json=CHAT_BODY)

    assert response.status_code == 400
    error = assert_openai_shaped(response)
    assert (error["type"], error["code"]) == ("key_[redacted]", "refused:[redacted]")
    assert_nothing_leaks(response, api_key)


def test_an_anthropic_key_echoed_in_the_error_type_or_code_is_redacted_on_messages(
    http, fake_anthropic, api_key
):
    body = anthropic_error(400, "Bad key", type_=f"key_{ANTHROPIC_KEY}")
    body["error"]["code"] = f"refused:{ANTHROPIC_KEY}"
    fake_anthropic.enqueue(ErrorReply(400, body=body))
    request = {"model": "claude-sonnet-4-6", "max_tokens": 10, "messages": MESSAGES}

    response = http.post("/v1/messages", json=request)

    assert response.status_code == 400
    error = response.json()["error"]
    assert (error["type"], error["code"]) == ("key_[redacted]", "refused:[redacted]")
    assert_nothing_leaks(response, api_key)


def test_a_provider_that_refuses_the_gateway_key_is_not_reported_as_the_clients(
    http, fake_anthropic, api_key
):
    fake_anthropic.enqueue(
        ErrorReply(401, body=anthropic_error(401, "invalid x-api-key"))
    )
    body = {"model": "claude-sonnet-4-6", "messages": MESSAGES}

    response = http.post("/v1/chat/completions", json=body)
    settle()

    assert response.status_code == 502
    assert assert_openai_shaped(response)["code"] == "provider_auth_failed"
    assert_nothing_leaks(response, api_key)
    call = Call.objects.get()
    assert (call.outcome, call.http_status) == (Call.Outcome.UPSTREAM_ERROR, 401)


def test_an_upstream_error_with_reported_usage_is_charged_for_that_usage(
    http, fake_openai, priced_mini
):
    body = openai_error(500, "The model crashed mid-answer")
    body["usage"] = {"prompt_tokens": 1000, "completion_tokens": 100}
    fake_openai.enqueue(ErrorReply(500, body=body))

    response = http.post("/v1/chat/completions", json=CHAT_BODY)
    settle()

    assert response.status_code == 500
    call = Call.objects.get()
    assert (call.input_tokens, call.output_tokens) == (1000, 100)
    # 1000 input at $1/M + 100 output at $4/M.
    assert call.cost_usd == Decimal("0.0014")
    charge = CreditEntry.objects.get(kind=CreditEntry.Kind.CHARGE)
    assert charge.call_id == call.pk and charge.amount_usd == Decimal("-0.0014")


def test_a_reply_the_gateway_cannot_read_is_a_502_and_still_recorded(
    http, fake_anthropic, api_key
):
    fake_anthropic.enqueue(JsonReply(body={"type": "message", "content": "oops"}))
    body = {"model": "claude-sonnet-4-6", "messages": MESSAGES}

    response = http.post("/v1/chat/completions", json=body)
    settle()

    assert response.status_code == 502
    assert_openai_shaped(response)
    assert_nothing_leaks(response, api_key)
    call = Call.objects.get()
    assert (call.outcome, call.http_status) == (Call.Outcome.UPSTREAM_ERROR, 502)


# --- providers that cannot be reached or do not answer ------------------------------


def test_a_provider_that_refuses_the_connection_gives_502(http, settings, api_key):
    settings.OPENAI_BASE_URL = f"http://127.0.0.1:{closed_port()}/v1"
    providers.invalidate()

    response = http.post("/v1/chat/completions", json=CHAT_BODY)
    settle()

    assert response.status_code == 502
    assert assert_openai_shaped(response)["code"] == "upstream_unreachable"
    assert_nothing_leaks(response, api_key)
    call = Call.objects.get()
    assert (call.outcome, call.http_status) == (Call.Outcome.UPSTREAM_ERROR, 502)
    assert charges() == 0


def test_a_provider_that_hangs_past_the_timeout_gives_504_and_a_timeout_record(
    http, fake_openai, settings, api_key
):
    settings.UPSTREAM_TIMEOUT_S = 0.5
    fake_openai.enqueue(HangReply(5))

    response = http.post("/v1/chat/completions", json=CHAT_BODY)
    settle()

    assert response.status_code == 504
    assert assert_openai_shaped(response)["code"] == "upstream_timeout"
    assert response.elapsed.total_seconds() < 2
    assert_nothing_leaks(response, api_key)
    call = Call.objects.get()
    assert (call.outcome, call.http_status) == (Call.Outcome.TIMEOUT, 504)
    assert charges() == 0


def test_the_timeout_follows_the_setting_on_every_request(http, fake_openai, settings):
    fake_openai.enqueue(HangReply(0.6))
    settings.UPSTREAM_TIMEOUT_S = 5
    first = http.post("/v1/chat/completions", json=CHAT_BODY)
    fake_openai.enqueue(HangReply(0.6))
    settings.UPSTREAM_TIMEOUT_S = 0.3

    second = http.post("/v1/chat/completions", json=CHAT_BODY)

    assert first.status_code == 200
    assert second.status_code == 504


# --- requests the gateway refuses before going upstream ----------------------------


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"messages": MESSAGES}, "model"),
        ({"model": "", "messages": MESSAGES}, "model"),
        ({"model": "gpt-4o-mini"}, "messages"),
        ({"model": "gpt-4o-mini", "messages": []}, "messages"),
        ({"model": "gpt-4o-mini", "messages": ["hi"]}, "messages[0]"),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "robot", "content": "x"}]},
            "messages[0].role",
        ),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": {}, "content": None}]},
            "messages[0].role",
        ),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": ["user"], "content": "x"}]},
            "messages[0].role",
        ),
        ({**CHAT_BODY, "stream": "yes"}, "stream"),
        ({**CHAT_BODY, "model": "gpt-4o-mini\u0000"}, "model"),
        ({**CHAT_BODY, "model": "gpt-4o\nmini"}, "model"),
        ({**CHAT_BODY, "model": "gpt-4o-mini\u007f"}, "model"),
    ],
    ids=[
        "no model",
        "empty model",
        "no messages",
        "empty messages",
        "message not an object",
        "unknown role",
        "role an object",
        "role an array",
        "stream not a boolean",
        "model with a NUL",
        "model with a newline",
        "model with a DEL",
    ],
)
def test_a_bad_chat_request_gives_400_naming_the_field(
    http, fake_openai, api_key, body, param
):
    response = http.post("/v1/chat/completions", json=body)

    assert response.status_code == 400
    assert assert_openai_shaped(response)["param"] == param
    assert_nothing_leaks(response, api_key)
    assert fake_openai.requests == []


def test_a_messages_request_without_max_tokens_gives_400_naming_it(
    http, fake_anthropic, api_key
):
    body = {"model": "claude-sonnet-4-6", "messages": MESSAGES}

    response = http.post("/v1/messages", json=body)

    assert response.status_code == 400
    assert response.json()["type"] == "error"
    assert response.json()["error"]["param"] == "max_tokens"
    assert fake_anthropic.requests == []


def test_a_messages_model_with_a_control_character_gives_400_and_no_call_record(
    http, fake_anthropic, api_key
):
    body = {"model": "claude-\u0000sonnet", "max_tokens": 10, "messages": MESSAGES}

    response = http.post("/v1/messages", json=body)
    settle()

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "model"
    assert fake_anthropic.requests == []
    assert not Call.objects.exists()


def test_a_messages_role_that_is_an_object_gives_400_naming_it(http, api_key):
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 10,
        "messages": [{"role": {}, "content": ""}],
    }

    response = http.post("/v1/messages", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[0].role"


def test_a_system_role_in_messages_gives_400_naming_it(http, api_key):
    body = {
        "model": "claude-sonnet-4-6",
        "max_tokens": 10,
        "messages": [{"role": "system", "content": "Be brief."}],
    }

    response = http.post("/v1/messages", json=body)

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "messages[0].role"


def test_a_field_the_translation_needs_but_cannot_find_gives_400(
    http, fake_anthropic, api_key
):
    tool_reply = {"role": "tool", "content": "42"}  # no tool_call_id
    body = {"model": "claude-sonnet-4-6", "messages": [*MESSAGES, tool_reply]}

    response = http.post("/v1/chat/completions", json=body)

    assert response.status_code == 400
    error = assert_openai_shaped(response)
    assert error["code"] == "untranslatable"
    assert "tool_call_id" in error["message"]
    assert_nothing_leaks(response, api_key)
    assert fake_anthropic.requests == []


@pytest.mark.parametrize(
    "raw",
    [b"{not json", b"", b"\xff\xfe", b"[1, 2]", b'"a string"'],
    ids=["broken", "empty", "not utf-8", "an array", "a string"],
)
def test_a_body_that_is_not_a_json_object_gives_400(http, fake_openai, api_key, raw):
    response = http.post(
        "/v1/chat/completions",
        content=raw,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert assert_openai_shaped(response)["type"] == "invalid_request_error"
    assert_nothing_leaks(response, api_key)
    assert fake_openai.requests == []


def test_a_body_over_the_size_limit_gives_413(http, fake_openai, settings, api_key):
    settings.MAX_REQUEST_BYTES = 2000
    big = {**CHAT_BODY, "messages": [{"role": "user", "content": "x" * 3000}]}

    response = http.post("/v1/chat/completions", json=big)

    assert response.status_code == 413
    assert assert_openai_shaped(response)["type"] == "request_too_large"
    assert_nothing_leaks(response, api_key)
    assert fake_openai.requests == []


def test_a_chunked_body_over_the_size_limit_gives_413(
    http, fake_openai, settings, api_key
):
    settings.MAX_REQUEST_BYTES = 2000
    big = {**CHAT_BODY, "messages": [{"role": "user", "content": "x" * 3000}]}
    raw = json.dumps(big).encode()

    response = http.post(
        "/v1/chat/completions",
        content=iter([raw[:1000], raw[1000:]]),
        headers={"content-type": "application/json"},
    )

    assert "content-length" not in response.request.headers
    assert response.status_code == 413
    assert_openai_shaped(response)
    assert fake_openai.requests == []


@pytest.mark.parametrize("flow", ["-starts-with-dash", "has space", "x" * 101, "émoji"])
def test_an_invalid_x_flow_gives_400(http, fake_openai, api_key, flow):
    response = http.post(
        "/v1/chat/completions",
        json=CHAT_BODY,
        headers={"X-Flow": flow.encode()},
    )

    assert response.status_code == 400
    error = assert_openai_shaped(response)
    assert (error["param"], error["code"]) == ("X-Flow", "invalid_flow")
    assert fake_openai.requests == []


def test_a_model_no_provider_claims_gives_400_when_there_is_no_default(
    http, settings, fake_openai, api_key
):
    settings.DEFAULT_PROVIDER = ""
    providers.invalidate()
    body = {**CHAT_BODY, "model": "mystery-model-7b"}

    response = http.post("/v1/chat/completions", json=body)

    assert response.status_code == 400
    error = assert_openai_shaped(response)
    assert (error["param"], error["code"]) == ("model", "model_not_found")
    assert fake_openai.requests == []


def test_an_unknown_or_missing_key_gives_401_without_echoing_it(http, gateway):
    wrong = "llmt_" + "A" * 40

    responses = [
        httpx.post(
            f"{gateway.url}/v1/chat/completions",
            json=CHAT_BODY,
            headers=headers,
        )
        for headers in ({}, {"Authorization": f"Bearer {wrong}"}, {"x-api-key": wrong})
    ]

    assert [r.status_code for r in responses] == [401, 401, 401]
    for response in responses:
        assert_openai_shaped(response)
        assert_nothing_leaks(response, wrong)


def test_an_unexpected_failure_inside_the_gateway_gives_a_500_without_a_traceback(
    http, monkeypatch, api_key, caplog
):
    # The one way to reach the last-resort handler is a bug; this stands in for one.
    async def broken_snapshot() -> None:
        raise RuntimeError(f"bug in {__file__} near {OPENAI_KEY}")

    monkeypatch.setattr(providers, "asnapshot", broken_snapshot)

    response = http.post("/v1/chat/completions", json=CHAT_BODY)

    assert response.status_code == 500
    assert assert_openai_shaped(response)["message"] == (
        "The gateway hit an internal error."
    )
    assert_nothing_leaks(response, api_key)
    assert "proxy.unhandled_error" in caplog.messages


def test_a_body_nested_too_deeply_is_a_400_not_a_crash(http):
    body = "[" * 100_000 + "]" * 100_000

    response = http.post(
        "/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
    )

    assert response.status_code == 400
    assert (
        response.json()["error"]["message"] == "The request body is nested too deeply."
    )


def test_a_host_outside_allowed_hosts_is_refused_on_the_proxy_too(http):
    response = http.post(
        "/v1/chat/completions", json={}, headers={"host": "evil.example"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "The Host header is not allowed."
