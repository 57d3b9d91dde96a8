"""Capturing samples from live traffic, driven by the official SDKs.

With a capture rate of 1 every proxied call of a flow is kept, its conversation as
{role, content} messages and the answer the client was sent, streamed or not, in
either API; up to the flow's cap, and with personal data redacted.
"""

import asyncio
from decimal import Decimal

import pytest

from accounts.keycache import KeyIdentity
from flows import recorder, samples
from flows.models import Call, Flow, Sample
from proxy import providers, relay, upstream
from tests.conftest import settle
from tests.fakes.providers import AutoReply, ErrorReply

pytestmark = pytest.mark.django_db(transaction=True)

FLOW = {"X-Flow": "support-bot"}
QUESTION = [
    {"role": "system", "content": "You answer support questions in one sentence."},
    {"role": "user", "content": "Where is my order?"},
]
ANSWER = "Your order ships on Monday."


@pytest.fixture
def capture_all(settings) -> None:
    settings.SAMPLE_CAPTURE_RATE = 1.0


@pytest.fixture
def answering(fake_openai, fake_anthropic) -> None:
    fake_openai.default_reply = AutoReply(content=ANSWER)
    fake_anthropic.default_reply = AutoReply(content=ANSWER)


def _ask(client, question: str = "Where is my order?", **options) -> str:
    messages = [QUESTION[0], {"role": "user", "content": question}]
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, extra_headers=FLOW, **options
    )
    return reply.choices[0].message.content


def _streamed_text(stream) -> str:
    return "".join(
        chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices
    )


# --- what is kept -------------------------------------------------------------------


def test_a_captured_chat_call_keeps_its_messages_and_answer(
    client, account, capture_all, answering
):
    client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, extra_headers=FLOW
    )
    settle()

    sample = Sample.objects.get()
    assert sample.flow.account == account
    assert sample.flow.name == "support-bot"
    assert sample.messages == QUESTION
    assert sample.answer == ANSWER
    assert (sample.source, sample.model) == (Sample.Source.CAPTURED, "gpt-4o-mini")
    assert sample.digest == samples.sample_digest(QUESTION)


def test_a_captured_streamed_chat_call_keeps_the_streamed_answer(
    client, capture_all, answering
):
    stream = client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, stream=True, extra_headers=FLOW
    )
    received = _streamed_text(stream)
    settle()

    sample = Sample.objects.get()
    assert received == ANSWER
    assert sample.answer == ANSWER
    assert sample.messages == QUESTION


def test_a_chat_call_served_by_claude_keeps_the_answer_its_client_got(
    client, capture_all, answering
):
    stream = client.chat.completions.create(
        model="claude-haiku-4-5", messages=QUESTION, stream=True, extra_headers=FLOW
    )
    received = _streamed_text(stream)
    settle()

    sample = Sample.objects.get()
    assert sample.answer == received == ANSWER
    assert sample.model == "claude-haiku-4-5"


def test_a_captured_messages_call_keeps_its_system_prompt_first(
    claude, capture_all, answering
):
    claude.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=100,
        system="You answer support questions in one sentence.",
        messages=[{"role": "user", "content": "Where is my order?"}],
        extra_headers=FLOW,
    )
    settle()

    sample = Sample.objects.get()
    assert sample.messages == QUESTION
    assert sample.answer == ANSWER


def test_a_captured_streamed_messages_call_keeps_the_streamed_answer(
    claude, capture_all, answering
):
    with claude.messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=100,
        system=[{"type": "text", "text": "Be brief."}],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": "Where is it?"}]}
        ],
        extra_headers=FLOW,
    ) as stream:
        received = "".join(stream.text_stream)
    settle()

    sample = Sample.objects.get()
    assert received == ANSWER
    assert sample.answer == ANSWER
    assert sample.messages == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Where is it?"}]},
    ]


def test_a_messages_call_served_by_openai_keeps_the_translated_answer(
    claude, capture_all, answering
):
    with claude.messages.stream(
        model="gpt-4o-mini",
        max_tokens=100,
        messages=[{"role": "user", "content": "Where is my order?"}],
        extra_headers=FLOW,
    ) as stream:
        received = "".join(stream.text_stream)
    settle()

    sample = Sample.objects.get()
    assert sample.answer == received == ANSWER
    assert sample.messages == [{"role": "user", "content": "Where is my order?"}]


def test_the_call_of_a_captured_sample_is_recorded_and_charged_as_usual(
    client, account, capture_all
):
    _ask(client)
    settle()

    account.refresh_from_db()
    assert Call.objects.get().outcome == Call.Outcome.OK
    assert account.credits_usd < Decimal("10")
    assert Sample.objects.count() == 1


# --- what is not kept ---------------------------------------------------------------


def test_nothing_is_captured_at_a_rate_of_zero(client, settings):
    settings.SAMPLE_CAPTURE_RATE = 0.0

    for question in ("One?", "Two?", "Three?"):
        _ask(client, question)
    settle()

    assert Call.objects.count() == 3
    assert not Sample.objects.exists()


def test_a_flows_own_rate_overrides_the_setting(client, account, capture_all):
    Flow.objects.create(account=account, name="support-bot", capture_rate=0.0)

    _ask(client)
    settle()

    assert Call.objects.count() == 1
    assert not Sample.objects.exists()


def test_a_flows_own_rate_captures_when_the_setting_is_off(client, account, settings):
    settings.SAMPLE_CAPTURE_RATE = 0.0
    Flow.objects.create(account=account, name="support-bot", capture_rate=1.0)

    _ask(client)
    settle()

    assert Sample.objects.count() == 1


def test_a_failed_call_is_not_captured(client, fake_openai, capture_all):
    fake_openai.enqueue(ErrorReply(500))

    with pytest.raises(Exception, match="500"):
        _ask(client)
    settle()

    assert Call.objects.get().outcome == Call.Outcome.UPSTREAM_ERROR
    assert not Sample.objects.exists()


def test_the_same_conversation_is_captured_once(client, capture_all):
    _ask(client)
    settle()
    _ask(client)
    settle()

    assert Call.objects.count() == 2
    assert Sample.objects.count() == 1


def test_a_conversation_larger_than_a_sample_may_be_is_not_captured(
    client, capture_all, settings
):
    settings.SAMPLE_MAX_BYTES = 300

    _ask(client, "Where is my order? " * 20)
    _ask(client, "Short?")
    settle()

    assert [s.messages[-1]["content"] for s in Sample.objects.all()] == ["Short?"]


@pytest.mark.parametrize(
    ("source", "kept"),
    [
        (Call.Source.PROXY, 1),
        (Call.Source.BENCHMARK, 0),
        (Call.Source.JUDGE, 0),
    ],
)
def test_only_proxied_calls_are_captured_not_the_gateways_own(
    gateway, account, capture_all, source, kept
):
    async def forward() -> None:
        snapshot = await providers.asnapshot()
        exchange = relay.Exchange(
            identity=KeyIdentity(0, account.pk, ""),
            flow="support-bot",
            api=relay.CHAT,
            body={"model": "gpt-4o-mini", "messages": QUESTION},
            resolved=snapshot.resolve("gpt-4o-mini"),
            snapshot=snapshot,
            client_headers={},
            source=source,
        )
        try:
            await relay.forward(exchange)
        finally:
            await upstream.close_sessions()

    asyncio.run(forward())
    settle()

    assert Call.objects.get().source == source
    assert Sample.objects.count() == kept


# --- the cap ------------------------------------------------------------------------


def test_a_flow_keeps_no_more_captured_samples_than_its_cap(
    client, account, capture_all
):
    Flow.objects.create(account=account, name="support-bot", capture_cap=2)

    for question in ("One?", "Two?", "Three?", "Four?"):
        _ask(client, question)
        settle()

    assert Call.objects.count() == 4
    assert Sample.objects.count() == 2
    assert recorder.capture_full(account.pk, "support-bot")


def test_the_cap_holds_for_calls_written_in_one_batch(
    client, account, capture_all, settings
):
    settings.RECORDER_FLUSH_MS = 1000
    settings.SAMPLE_CAPTURE_CAP = 2

    for question in ("One?", "Two?", "Three?"):
        _ask(client, question)
    settle()

    assert Call.objects.count() == 3
    assert Sample.objects.count() == 2


def test_seeded_samples_do_not_count_against_the_cap(client, account, capture_all):
    flow = Flow.objects.create(account=account, name="support-bot", capture_cap=1)
    seeded = [{"role": "user", "content": "Seeded?"}]
    Sample.objects.create(
        flow=flow,
        messages=seeded,
        source=Sample.Source.SEEDED,
        digest=samples.sample_digest(seeded),
    )

    _ask(client, "One?")
    _ask(client, "Two?")
    settle()

    assert flow.samples.filter(source=Sample.Source.CAPTURED).count() == 1


def test_raising_a_flows_cap_captures_again(client, account, capture_all):
    flow = Flow.objects.create(account=account, name="support-bot", capture_cap=1)
    _ask(client, "One?")
    settle()
    _ask(client, "Two?")
    settle()
    assert recorder.capture_full(account.pk, "support-bot")

    flow.capture_cap = 2
    flow.save()
    _ask(client, "Three?")
    settle()

    kept = sorted(sample.messages[-1]["content"] for sample in flow.samples.all())
    assert kept == ["One?", "Three?"]


def test_other_flows_are_captured_while_one_is_at_its_cap(client, account, capture_all):
    Flow.objects.create(account=account, name="support-bot", capture_cap=0)

    _ask(client)
    client.chat.completions.create(
        model="gpt-4o-mini", messages=QUESTION, extra_headers={"X-Flow": "billing"}
    )
    settle()

    assert [s.flow.name for s in Sample.objects.all()] == ["billing"]


# --- redaction ----------------------------------------------------------------------


def test_captured_samples_are_redacted(client, fake_openai, capture_all):
    key = "sk-" + "a1B2" * 10
    fake_openai.default_reply = AutoReply(
        content="Done. We will call +44 20 7946 0958."
    )
    messages = [
        {"role": "system", "content": f"Use the key {key} for lookups."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "I am jane.doe@example.com, order 12345."},
                {"type": "text", "text": "My card is 4111 1111 1111 1111."},
            ],
        },
    ]

    client.chat.completions.create(
        model="gpt-4o-mini", messages=messages, extra_headers=FLOW
    )
    settle()

    sample = Sample.objects.get()
    assert sample.messages == [
        {"role": "system", "content": "Use the key [SECRET] for lookups."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "I am [EMAIL], order 12345."},
                {"type": "text", "text": "My card is [CARD]."},
            ],
        },
    ]
    assert sample.answer == "Done. We will call [PHONE]."
    assert sample.digest == samples.sample_digest(sample.messages)


def test_conversations_that_differ_only_in_redacted_data_are_one_sample(
    client, capture_all
):
    _ask(client, "Mail me at ann@example.com")
    _ask(client, "Mail me at bob@example.org")
    settle()

    assert Call.objects.count() == 2
    assert Sample.objects.get().messages[-1]["content"] == "Mail me at [EMAIL]"


def test_captured_samples_are_kept_as_sent_when_redaction_is_off(
    client, fake_openai, capture_all, settings
):
    settings.SAMPLE_REDACT = False
    fake_openai.default_reply = AutoReply(content="Call +44 20 7946 0958.")

    _ask(client, "I am jane.doe@example.com")
    settle()

    sample = Sample.objects.get()
    assert sample.messages[-1]["content"] == "I am jane.doe@example.com"
    assert sample.answer == "Call +44 20 7946 0958."


def test_a_nul_in_a_captured_conversation_is_replaced_so_the_sample_is_kept(
    client, fake_openai, capture_all
):
    fake_openai.default_reply = AutoReply(content="Fixed\u0000.")

    _ask(client, "Where is\u0000 my order?")
    _ask(client, "And my refund?")
    settle()

    kept = {s.messages[-1]["content"]: s for s in Sample.objects.all()}
    assert set(kept) == {"Where is\ufffd my order?", "And my refund?"}
    assert kept["Where is\ufffd my order?"].answer == "Fixed\ufffd."


# --- failures -----------------------------------------------------------------------


def test_a_sample_that_cannot_be_written_costs_no_call_or_charge(
    client, account, capture_all, monkeypatch
):
    def broken(*args, **kwargs):
        raise RuntimeError("the sample cannot be prepared")

    monkeypatch.setattr(samples, "captured_sample", broken)

    _ask(client)
    settle()

    account.refresh_from_db()
    assert Call.objects.count() == 1
    assert account.ledger.filter(call_id=Call.objects.get().pk).exists()
    assert not Sample.objects.exists()
