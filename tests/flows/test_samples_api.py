"""POST and GET /api/samples, over real HTTP against the live gateway."""

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from accounts.models import Account
from flows.models import Flow, Sample
from flows.samples import sample_digest
from tests.factories import AccountFactory, FlowFactory, api_key_for

pytestmark = pytest.mark.django_db(transaction=True)

SYSTEM = {"role": "system", "content": "You are a helpful support agent."}
LOGIN = [SYSTEM, {"role": "user", "content": "I can't log in to my account."}]
REFUND = [SYSTEM, {"role": "user", "content": "I want a refund for my last order."}]
INVOICE = [{"role": "user", "content": [{"type": "text", "text": "Send my invoice."}]}]


def _client(gateway: Any, account: Account) -> httpx.Client:
    headers = {"Authorization": f"Bearer {api_key_for(account)}"}
    return httpx.Client(base_url=gateway.url, headers=headers, timeout=10)


@pytest.fixture
def api(gateway, account) -> Iterator[httpx.Client]:
    with _client(gateway, account) as client:
        yield client


def _seed(
    api: httpx.Client, samples: list[Any], flow: str = "support-bot"
) -> httpx.Response:
    return api.post("/api/samples", json={"flow": flow, "samples": samples})


def _add(flow: Flow, messages: list[dict], source: str = Sample.Source.SEEDED) -> None:
    Sample.objects.create(
        flow=flow, messages=messages, source=source, digest=sample_digest(messages)
    )


# --- seeding ------------------------------------------------------------------------


def test_seeding_stores_each_conversation_and_answers_with_the_totals(api, account):
    response = _seed(api, [LOGIN, REFUND])

    assert response.status_code == 201
    assert response.json() == {
        "flow": "support-bot",
        "added": 2,
        "skipped": 0,
        "total": 2,
    }
    stored = Sample.objects.filter(flow__account=account, flow__name="support-bot")
    assert sorted(sample.messages[1]["content"] for sample in stored) == [
        "I can't log in to my account.",
        "I want a refund for my last order.",
    ]
    assert {sample.source for sample in stored} == {Sample.Source.SEEDED}


def test_seeding_makes_the_flow_when_the_account_has_none_of_that_name(api, account):
    _seed(api, [LOGIN], flow="billing/v2")

    flow = Flow.objects.get(account=account, name="billing/v2")
    assert flow.samples.count() == 1


def test_a_sample_is_stored_with_the_digest_of_its_canonical_json(api):
    _seed(api, [INVOICE])

    sample = Sample.objects.get()
    assert sample.digest == sample_digest(INVOICE)
    assert len(sample.digest) == 64
    assert sample.messages == INVOICE


def test_a_conversation_repeated_in_one_request_is_stored_once(api):
    response = _seed(api, [LOGIN, REFUND, LOGIN, LOGIN])

    assert response.json() == {
        "flow": "support-bot",
        "added": 2,
        "skipped": 2,
        "total": 2,
    }
    assert Sample.objects.count() == 2


def test_a_conversation_the_flow_already_has_is_skipped(api):
    _seed(api, [LOGIN])

    response = _seed(api, [LOGIN, REFUND, INVOICE])

    assert response.status_code == 201
    assert response.json() == {
        "flow": "support-bot",
        "added": 2,
        "skipped": 1,
        "total": 3,
    }


def test_the_same_conversation_with_keys_in_another_order_is_a_duplicate(api):
    reordered = [{"content": m["content"], "role": m["role"]} for m in LOGIN]
    _seed(api, [LOGIN])

    response = _seed(api, [reordered])

    assert (response.json()["added"], response.json()["skipped"]) == (0, 1)


def test_the_total_counts_captured_samples_too(api, account):
    flow = FlowFactory(account=account, name="support-bot")
    _add(flow, REFUND, Sample.Source.CAPTURED)

    response = _seed(api, [LOGIN, REFUND])

    assert response.json() == {
        "flow": "support-bot",
        "added": 1,
        "skipped": 1,
        "total": 2,
    }


def test_the_same_conversation_in_two_flows_is_two_samples(api):
    _seed(api, [LOGIN], flow="support-bot")

    response = _seed(api, [LOGIN], flow="support-bot-eu")

    assert response.json()["added"] == 1
    assert Sample.objects.count() == 2


def test_every_message_role_and_content_parts_are_accepted(api):
    conversation = [
        {"role": "developer", "content": "Answer briefly."},
        {"role": "user", "content": [{"type": "text", "text": "What is on this?"}]},
        {"role": "assistant", "content": "Checking.", "name": "agent"},
        {"role": "tool", "content": "{}", "tool_call_id": "call_1"},
        {"role": "user", "content": [{"type": "image_url", "image_url": {}}]},
    ]

    response = _seed(api, [conversation])

    assert response.status_code == 201


# --- refusing -----------------------------------------------------------------------


def _message(**fields: Any) -> dict[str, Any]:
    return {"role": "user", "content": "Hello", **fields}


INVALID = [
    pytest.param({"samples": [LOGIN]}, "flow", id="no flow"),
    pytest.param({"flow": "-bot", "samples": [LOGIN]}, "flow", id="bad flow name"),
    pytest.param({"flow": "a" * 101, "samples": [LOGIN]}, "flow", id="long flow"),
    pytest.param({"flow": 123, "samples": [LOGIN]}, "flow", id="flow a number"),
    pytest.param({"flow": "bot"}, "samples", id="no samples"),
    pytest.param({"flow": "bot", "samples": []}, "samples", id="empty samples"),
    pytest.param({"flow": "bot", "samples": "hi"}, "samples", id="samples a string"),
    pytest.param({"flow": "bot", "samples": [{}]}, "samples[0]", id="sample object"),
    pytest.param({"flow": "bot", "samples": [LOGIN, []]}, "samples[1]", id="empty"),
    pytest.param(
        {"flow": "bot", "samples": [LOGIN, [SYSTEM, _message(role="robot")]]},
        "samples[1][1].role",
        id="unknown role",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[{"role": "user"}]]},
        "samples[0][0].content",
        id="no content",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(content=42)]]},
        "samples[0][0].content",
        id="content a number",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(content=[])]]},
        "samples[0][0].content",
        id="no parts",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(content=[{"text": "hi"}])]]},
        "samples[0][0].content[0].type",
        id="part without type",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(content=[{"type": "text"}])]]},
        "samples[0][0].content[0].text",
        id="text part without text",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(content=["hi"])]]},
        "samples[0][0].content[0]",
        id="part a string",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(colour="red")]]},
        "samples[0][0].colour",
        id="unknown field",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(name=7)]]},
        "samples[0][0].name",
        id="name a number",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(content="a\u0000b")]]},
        "samples[0][0].content",
        id="NUL in the content",
    ),
    pytest.param(
        {
            "flow": "bot",
            "samples": [[_message(content=[{"type": "text", "text": "\u0000"}])]],
        },
        "samples[0][0].content[0].text",
        id="NUL in a text part",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[_message(name="a\u0000")]]},
        "samples[0][0].name",
        id="NUL in the name",
    ),
    pytest.param(
        {"flow": "bot", "samples": [["hello"]]},
        "samples[0][0]",
        id="message a string",
    ),
    pytest.param(
        {"flow": "bot", "samples": [[SYSTEM]]},
        "samples[0]",
        id="no user message",
    ),
]


@pytest.mark.parametrize(("body", "param"), INVALID)
def test_an_invalid_request_is_refused_naming_the_field(api, body, param):
    response = api.post("/api/samples", json=body)

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["param"] == param
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith(f"{param}: ")
    assert not Sample.objects.exists()


def test_an_invalid_sample_stores_none_of_the_request(api):
    response = _seed(api, [LOGIN, REFUND, [SYSTEM]])

    assert response.status_code == 400
    assert not Sample.objects.exists()
    assert not Flow.objects.exists()


def test_more_samples_than_one_request_may_carry_are_refused(api, settings):
    settings.SAMPLES_MAX_PER_REQUEST = 2

    response = _seed(api, [LOGIN, REFUND, INVOICE])

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["param"] == "samples"
    assert "At most 2 samples" in error["message"]


def test_a_sample_with_too_many_messages_is_refused(api, settings):
    settings.SAMPLE_MAX_MESSAGES = 2

    response = _seed(api, [LOGIN, [*LOGIN, *REFUND]])

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "samples[1]"


def test_a_sample_larger_than_the_limit_is_refused(api, settings):
    settings.SAMPLE_MAX_BYTES = 200

    response = _seed(api, [LOGIN, [{"role": "user", "content": "é" * 100}]])

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["param"] == "samples[1]"
    assert "bytes" in error["message"]


def test_a_body_that_is_not_json_is_refused(api):
    response = api.post(
        "/api/samples",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
    )

    assert response.status_code == 400


def test_seeding_without_a_key_is_refused(gateway):
    response = httpx.post(
        f"{gateway.url}/api/samples", json={"flow": "bot", "samples": [LOGIN]}
    )

    assert response.status_code == 401
    assert not Sample.objects.exists()


# --- listing ------------------------------------------------------------------------


def test_listing_shows_every_flow_with_its_counts_and_readiness(api, account, settings):
    settings.SAMPLES_MIN_FOR_BENCHMARK = 3
    ready, short = (
        FlowFactory(account=account, name="a-ready"),
        FlowFactory(account=account, name="b-short"),
    )
    FlowFactory(account=account, name="c-empty")
    _add(ready, LOGIN)
    _add(ready, REFUND, Sample.Source.CAPTURED)
    _add(ready, INVOICE, Sample.Source.CAPTURED)
    _add(short, LOGIN, Sample.Source.CAPTURED)

    response = api.get("/api/samples")

    assert response.status_code == 200
    assert response.json() == [
        {
            "flow": "a-ready",
            "samples": 3,
            "captured": 2,
            "seeded": 1,
            "ready": True,
            "needed": 0,
            "minimum": 3,
        },
        {
            "flow": "b-short",
            "samples": 1,
            "captured": 1,
            "seeded": 0,
            "ready": False,
            "needed": 2,
            "minimum": 3,
        },
        {
            "flow": "c-empty",
            "samples": 0,
            "captured": 0,
            "seeded": 0,
            "ready": False,
            "needed": 3,
            "minimum": 3,
        },
    ]


def test_a_flow_needs_the_default_ten_samples_to_be_ready(api):
    _seed(api, [LOGIN, REFUND])

    (row,) = api.get("/api/samples").json()

    assert (row["samples"], row["ready"], row["needed"], row["minimum"]) == (
        2,
        False,
        8,
        10,
    )


def test_a_flow_with_more_samples_than_the_minimum_needs_none(api, settings):
    settings.SAMPLES_MIN_FOR_BENCHMARK = 2

    _seed(api, [LOGIN, REFUND, INVOICE])

    (row,) = api.get("/api/samples").json()
    assert (row["ready"], row["needed"]) == (True, 0)


def test_listing_is_empty_for_an_account_without_flows(api):
    response = api.get("/api/samples")

    assert response.status_code == 200
    assert response.json() == []


# --- one account's samples ----------------------------------------------------------


def test_an_account_never_sees_or_counts_another_accounts_samples(gateway, api):
    other = AccountFactory()
    with _client(gateway, other) as theirs:
        _seed(theirs, [LOGIN, REFUND], flow="support-bot")
        _seed(theirs, [INVOICE], flow="their-only-flow")

        mine = _seed(api, [LOGIN])
        their_rows = theirs.get("/api/samples").json()

    assert mine.json() == {"flow": "support-bot", "added": 1, "skipped": 0, "total": 1}
    assert [
        (row["flow"], row["samples"]) for row in api.get("/api/samples").json()
    ] == [("support-bot", 1)]
    assert [(row["flow"], row["samples"]) for row in their_rows] == [
        ("support-bot", 2),
        ("their-only-flow", 1),
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ('"hi\\u0000there"', "samples[0][0].content"),
        ('"\\ud800"', "samples[0][0].content"),
        ('[{"type": "text", "text": "a\\u0000b"}]', "samples[0][0].content[0].text"),
    ],
)
def test_text_no_database_can_store_is_refused_naming_it(api, text, where):
    message = '{"role": "user", "content": ' + text + "}"
    body = '{"flow": "x", "samples": [[' + message + "]]}"

    response = api.post(
        "/api/samples", content=body, headers={"Content-Type": "application/json"}
    )

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["param"] == where
    assert "NUL" in error["message"]
    assert not Flow.objects.exists()
