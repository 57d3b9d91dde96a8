"""Challenger picking from the model catalog."""

import pytest

from benchmarks import challengers
from benchmarks.challengers import Needs, needs_of
from proxy import catalog, modelsdev, providers

GOALS = ["cost", "speed", "quality", "balanced"]


@pytest.fixture
def gateway_config(db, settings, fake_openai):
    """OpenAI on the fake, Anthropic off, and no other provider."""
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_API_KEY = "sk-test-openai-provider-key-0000"
    settings.ANTHROPIC_API_KEY = ""
    settings.OPENAI_COMPATIBLE_PROVIDERS = {}
    providers.invalidate()
    return settings


def _pool(needs: Needs | None = None) -> dict[str, challengers.Candidate]:
    snapshot = providers.snapshot()
    return {c.model: c for c in challengers.candidates(snapshot, set(), needs)}


def test_deprecated_models_are_never_picked(gateway_config, fake_openai):
    # Cerebras is a fast provider with deprecated models in the pricing catalog.
    gateway_config.OPENAI_COMPATIBLE_PROVIDERS = {"cerebras": fake_openai.base_url}
    # No list: the pricing catalog's models of the provider are taken as served.
    fake_openai.models = []
    providers.invalidate()
    snapshot = providers.snapshot()
    served = catalog.servable(snapshot)
    deprecated = {s.id for s in served if s.entry.deprecated}
    assert deprecated, "the catalog should know deprecated Cerebras models"

    picked = {
        m for goal in GOALS for m in challengers.pick(snapshot, "gpt-4o", goal, 5)
    }

    assert picked and not picked & deprecated
    assert not set(_pool()) & deprecated


def test_a_model_only_a_providers_list_names_can_be_picked(gateway_config, fake_openai):
    gateway_config.OPENAI_COMPATIBLE_PROVIDERS = {"local": fake_openai.base_url}
    fake_openai.models = ["llama-3.2-3b", "text-embedding-local"]
    providers.invalidate()

    faster = challengers.pick(providers.snapshot(), "gpt-4o", "speed", 5)

    assert "local/llama-3.2-3b" in faster
    assert "local/text-embedding-local" not in _pool()


def test_a_context_window_too_small_for_the_samples_rules_a_model_out(
    gateway_config,
):
    pool = _pool(Needs(context_tokens=150_000))

    assert "gpt-4o-mini" not in pool  # 128k tokens
    assert "gpt-4.1-mini" in pool  # about a million
    assert "gpt-4o-mini" in _pool(Needs(context_tokens=100_000))


def test_what_models_dev_knows_rules_out_models_that_cannot_do_the_job(
    gateway_config, fake_openai, fake_models_dev
):
    fake_openai.models = ["gpt-5-chat-latest", "gpt-4o-mini"]
    modelsdev.sync()

    assert "gpt-5-chat-latest" in _pool()
    # models.dev: it calls no tools.
    assert "gpt-5-chat-latest" not in _pool(Needs(tools=True))
    assert "gpt-4o-mini" in _pool(Needs(tools=True, images=True))


def test_needs_are_read_from_the_samples():
    plain = [[{"role": "user", "content": "hi " * 4000}]]
    tools = [
        [
            {"role": "user", "content": "weather?"},
            {"role": "assistant", "content": None, "tool_calls": [{"id": "1"}]},
            {"role": "tool", "content": "sunny", "tool_call_id": "1"},
        ]
    ]
    images = [
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "what is this?"},
                    {"type": "image_url", "image_url": {"url": "https://x/y.png"}},
                ],
            }
        ]
    ]

    needs = needs_of(plain, answer_tokens=1000)

    assert 3000 + 1000 <= needs.context_tokens <= 4000 + 1000
    assert not needs.tools and not needs.images
    assert needs_of(tools, 10).tools
    assert needs_of(images, 10).images
    assert needs_of([], 10) == Needs()


def test_an_unpriced_current_model_gets_neither_the_dearest_nor_a_random_pick(
    gateway_config,
):
    snapshot = providers.snapshot()
    pool = sorted(
        (c for c in _pool().values() if c.price is not None),
        key=lambda c: (c.price, c.model),
    )
    median = pool[len(pool) // 2].price

    cheap = challengers.pick(snapshot, "gpt-fake", "cost", 5)
    strong = challengers.pick(snapshot, "gpt-fake", "quality", 5)

    # Cheapest first; "stronger" from the median up, not from the top.
    assert cheap == [c.model for c in pool[:5]]
    assert [_pool()[m].price for m in strong] == [
        c.price for c in pool[len(pool) // 2 :]
    ][:5]
    assert all(_pool()[m].price >= median for m in strong)
    assert pool[-1].model not in cheap + strong
