"""Calls whose provider reports no usage: priced from estimated counts, and marked.

The fake OpenAI provider is told to behave as llama.cpp's server does (no usage
chunk in a stream, even when asked), and the official SDKs drive the live gateway.
"""

from decimal import Decimal

import openai
import pytest

from flows.models import Call
from proxy import estimate
from proxy.models import PriceOverride
from tests.conftest import settle
from tests.fakes.providers import AutoReply, ErrorReply

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "local/my-finetune"
MESSAGES = [
    {"role": "system", "content": "You answer questions about orders."},
    {"role": "user", "content": "Where is my order?"},
]
ANSWER = "Your order left our warehouse this morning."
# 34 and 18 characters: 9 and 5 tokens, and 4 per message for the template.
ESTIMATED_INPUT = 9 + 4 + 5 + 4
# 43 characters.
ESTIMATED_OUTPUT = 11


@pytest.fixture
def llama_like(fake_openai):
    """The fake provider answering as llama.cpp's server does: no usage at all."""
    fake_openai.usage_in_streams = False
    fake_openai.usage_in_replies = False
    fake_openai.default_reply = AutoReply(content=ANSWER)
    return fake_openai


@pytest.fixture
def priced_finetune(transactional_db) -> PriceOverride:
    return PriceOverride.objects.create(
        model=MODEL, input_per_mtok=Decimal("1"), output_per_mtok=Decimal("2")
    )


def recorded_call() -> Call:
    settle()
    return Call.objects.get()


def expected_cost() -> Decimal:
    return (Decimal(ESTIMATED_INPUT) * 1 + Decimal(ESTIMATED_OUTPUT) * 2) / 10**6


def test_tokens_are_estimated_as_four_characters_each_rounded_up():
    assert [estimate.tokens_in(text) for text in ["", "a", "abcd", "abcde"]] == [
        0,
        1,
        1,
        2,
    ]


def test_input_is_estimated_from_every_message_and_an_anthropic_system_prompt():
    body = {
        "system": [{"type": "text", "text": "Be brief."}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "Hello there"}]},
            {"role": "assistant", "content": "Hi"},
        ],
    }

    # "Hello there" 3, "Hi" 1, "Be brief." 3; each message 4 more.
    assert estimate.input_tokens(body) == 3 + 1 + 3 + 3 * 4


def test_a_stream_without_usage_is_priced_from_estimated_counts_and_marked(
    client, llama_like, priced_finetune
):
    stream = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)

    assert text == ANSWER
    assert llama_like.last_request.json["stream_options"] == {"include_usage": True}
    call = recorded_call()
    assert call.outcome == Call.Outcome.OK and call.stream
    assert call.usage_estimated
    assert (call.input_tokens, call.output_tokens) == (
        ESTIMATED_INPUT,
        ESTIMATED_OUTPUT,
    )
    assert call.priced and call.cost_usd == expected_cost()


def test_a_json_answer_without_usage_is_estimated_too(
    client, llama_like, priced_finetune, account
):
    reply = client.chat.completions.create(model=MODEL, messages=MESSAGES)

    assert reply.choices[0].message.content == ANSWER
    call = recorded_call()
    assert call.usage_estimated and not call.stream
    assert (call.input_tokens, call.output_tokens) == (
        ESTIMATED_INPUT,
        ESTIMATED_OUTPUT,
    )
    assert call.cost_usd == expected_cost()
    account.refresh_from_db()
    assert account.credits_usd == Decimal("10") - expected_cost()


def test_an_anthropic_format_stream_to_a_provider_without_usage_is_estimated(
    claude, llama_like, priced_finetune
):
    with claude.messages.stream(
        model=MODEL,
        max_tokens=100,
        system=MESSAGES[0]["content"],
        messages=[MESSAGES[1]],
    ) as stream:
        text = "".join(stream.text_stream)

    assert text == ANSWER
    call = recorded_call()
    assert call.usage_estimated and call.api == "messages"
    assert (call.input_tokens, call.output_tokens) == (
        ESTIMATED_INPUT,
        ESTIMATED_OUTPUT,
    )


def test_a_provider_that_reports_usage_is_taken_at_its_word(
    client, fake_openai, priced_finetune
):
    stream = client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)
    list(stream)

    call = recorded_call()
    assert not call.usage_estimated
    # The fake's own counts (12 in, 5 out), not an estimate.
    assert (call.input_tokens, call.output_tokens) == (12, 5)


def test_a_failed_call_without_usage_still_costs_nothing(
    client, llama_like, priced_finetune
):
    llama_like.enqueue(ErrorReply(500))

    with pytest.raises(openai.InternalServerError):
        client.chat.completions.create(model=MODEL, messages=MESSAGES, stream=True)

    call = recorded_call()
    assert call.outcome == Call.Outcome.UPSTREAM_ERROR
    assert not call.usage_estimated
    assert call.cost_usd == 0 and call.input_tokens == 0
