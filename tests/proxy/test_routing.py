"""Routes on the proxy: a flow's calls for one model served by another, over HTTP."""

import anthropic
import openai
import pytest

from flows import routes
from flows.models import Call, Flow
from tests.conftest import settle
from tests.factories import AccountFactory, FlowFactory

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGES = [{"role": "user", "content": "Where is my order?"}]


@pytest.fixture
def flow(account) -> Flow:
    return FlowFactory(account=account, name="support-bot")


@pytest.fixture
def client(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=f"{gateway.url}/v1",
        api_key=api_key,
        default_headers={"X-Flow": "support-bot"},
        max_retries=0,
    )


@pytest.fixture
def claude(gateway, api_key) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        base_url=gateway.url,
        api_key=api_key,
        default_headers={"X-Flow": "support-bot"},
        max_retries=0,
    )


def _ask(client: openai.OpenAI, model: str = "gpt-4o") -> None:
    client.chat.completions.create(model=model, messages=MESSAGES)


def _models(call: Call) -> tuple[str, str, str]:
    return call.requested_model, call.served_model, call.provider


def test_a_routed_call_is_served_by_the_route_model(client, fake_openai, flow):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    _ask(client, "gpt-4o")
    settle()

    assert fake_openai.last_request.json["model"] == "gpt-4o-mini"
    assert _models(Call.objects.get()) == ("gpt-4o", "gpt-4o-mini", "openai")


def test_a_routed_stream_is_served_by_the_route_model(client, fake_openai, flow):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    stream = client.chat.completions.create(
        model="gpt-4o", messages=MESSAGES, stream=True
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream)
    settle()

    assert text
    assert fake_openai.last_request.json["model"] == "gpt-4o-mini"
    call = Call.objects.get()
    assert _models(call) == ("gpt-4o", "gpt-4o-mini", "openai") and call.stream


def test_a_route_on_the_messages_endpoint_is_followed(claude, fake_anthropic, flow):
    routes.route_set(flow, "claude-sonnet-4-6", "claude-haiku-4-5")

    claude.messages.create(model="claude-sonnet-4-6", max_tokens=50, messages=MESSAGES)
    settle()

    assert fake_anthropic.last_request.json["model"] == "claude-haiku-4-5"
    call = Call.objects.get()
    assert _models(call) == ("claude-sonnet-4-6", "claude-haiku-4-5", "anthropic")


def test_a_route_may_cross_to_another_provider(
    client, fake_openai, fake_anthropic, flow
):
    routes.route_set(flow, "gpt-4o", "claude-haiku-4-5")

    reply = client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    settle()

    assert reply.choices[0].message.content
    assert fake_openai.requests == []
    assert fake_anthropic.last_request.json["model"] == "claude-haiku-4-5"
    assert _models(Call.objects.get()) == (
        "gpt-4o",
        "claude-haiku-4-5",
        "anthropic",
    )


def test_a_route_may_lead_to_a_prefixed_model(client, fake_openai, flow):
    routes.route_set(flow, "gpt-4o", "local/my-finetune")

    _ask(client, "gpt-4o")
    settle()

    assert fake_openai.last_request.json["model"] == "my-finetune"
    assert _models(Call.objects.get()) == ("gpt-4o", "my-finetune", "local")


def test_other_models_of_a_routed_flow_are_served_as_asked(client, fake_openai, flow):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini")

    _ask(client, "gpt-4.1")
    settle()

    assert fake_openai.last_request.json["model"] == "gpt-4.1"
    assert _models(Call.objects.get()) == ("gpt-4.1", "gpt-4.1", "openai")


def test_a_route_applies_to_its_own_flow_and_account_only(
    gateway, client, fake_openai, flow
):
    routes.route_set(
        FlowFactory(account=flow.account, name="summarizer"), "gpt-4o", "x"
    )
    stranger = AccountFactory()
    routes.route_set(FlowFactory(account=stranger, name="support-bot"), "gpt-4o", "y")

    _ask(client, "gpt-4o")
    settle()

    assert fake_openai.last_request.json["model"] == "gpt-4o"


def test_a_chain_of_routes_serves_the_first_model_with_the_last(
    client, fake_openai, flow
):
    routes.route_set(flow, "gpt-4o", "gpt-4o-mini")
    routes.route_set(flow, "gpt-4o-mini", "gpt-4.1-nano")

    _ask(client, "gpt-4o")
    _ask(client, "gpt-4o-mini")
    settle()

    sent = [request.json["model"] for request in fake_openai.requests]
    assert sent == ["gpt-4.1-nano", "gpt-4.1-nano"]
    served = Call.objects.order_by("created_at").values_list(
        "requested_model", "served_model"
    )
    assert list(served) == [("gpt-4o", "gpt-4.1-nano"), ("gpt-4o-mini", "gpt-4.1-nano")]


def test_switching_a_route_off_restores_the_requested_model(client, fake_openai, flow):
    route = routes.route_set(flow, "gpt-4o", "gpt-4o-mini")
    _ask(client, "gpt-4o")

    routes.route_disable(route)
    _ask(client, "gpt-4o")
    settle()

    sent = [request.json["model"] for request in fake_openai.requests]
    assert sent == ["gpt-4o-mini", "gpt-4o"]
    latest = Call.objects.order_by("-created_at").first()
    assert _models(latest) == ("gpt-4o", "gpt-4o", "openai")


def test_a_route_to_a_model_no_provider_serves_is_ignored(
    client, fake_openai, flow, settings, caplog
):
    settings.DEFAULT_PROVIDER = ""
    routes.route_set(flow, "gpt-4o", "mystery-model")

    _ask(client, "gpt-4o")
    settle()

    assert fake_openai.last_request.json["model"] == "gpt-4o"
    assert _models(Call.objects.get()) == ("gpt-4o", "gpt-4o", "openai")
    assert "proxy.route_unservable" in caplog.messages
