"""The model catalog: the pricing package, the providers' lists, and /v1/models."""

import logging
from datetime import date

import pytest
from genai_prices.data_snapshot import get_snapshot

from proxy import catalog, pricing, providers
from proxy.models import CatalogModel, PriceOverride
from tests.fakes.providers import ErrorReply, HangReply, RawReply

OPENAI_KEY = "sk-test-openai-provider-key-0000"
ANTHROPIC_KEY = "sk-ant-test-anthropic-provider-key-0000"


@pytest.fixture
def offline(settings):
    """No provider with a key and no local server: nothing to ask over the network."""
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""
    settings.OPENAI_COMPATIBLE_PROVIDERS = {}
    providers.invalidate()


@pytest.fixture
def configured(settings, fake_openai, fake_anthropic):
    """OpenAI and Anthropic with keys, and a local server, all on the fakes."""
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_API_KEY = OPENAI_KEY
    settings.ANTHROPIC_BASE_URL = fake_anthropic.base_url
    settings.ANTHROPIC_API_KEY = ANTHROPIC_KEY
    settings.OPENAI_COMPATIBLE_PROVIDERS = {"local": fake_openai.base_url}
    providers.invalidate()
    return settings


def _build():
    snapshot = providers.snapshot()
    entries = catalog.entries(snapshot, catalog.listed(snapshot))
    return snapshot, entries


def test_offline_the_catalog_is_every_model_of_the_pricing_package(db, offline):
    snapshot = providers.snapshot()

    lists = catalog.listed(snapshot)
    entries = catalog.entries(snapshot, lists)

    assert lists == {}
    package = {(p.id, m.id) for p in get_snapshot().providers for m in p.models}
    assert set(entries) == package
    mini = entries[("openai", "gpt-4o-mini")]
    assert mini.rates == pricing.catalog_rates("gpt-4o-mini", "openai")
    assert mini.rates.cached_input is not None
    assert mini.context_window == 128_000
    assert mini.in_pricing and not mini.deprecated
    assert entries[("cerebras", "llama3.1-8b")].deprecated


def test_a_priced_model_is_not_served_while_its_provider_has_no_key(db, offline):
    PriceOverride.objects.create(
        model="gpt-4o-mini", input_per_mtok=1, output_per_mtok=2
    )
    providers.invalidate()

    served = catalog.servable(providers.snapshot())

    assert served == []  # no key: OpenAI would refuse the call


def test_the_first_catalog_is_the_baseline_and_later_models_are_first_seen(
    db, configured, fake_openai
):
    _build()
    first = CatalogModel.objects.count()
    assert first > 2000
    assert not CatalogModel.objects.filter(baseline=False).exists()

    fake_openai.models = ["gpt-fake", "my-finetune"]
    catalog.invalidate()
    _, entries = _build()

    # The fake serves both OpenAI and the local server, so both list it.
    added = CatalogModel.objects.filter(baseline=False)
    assert {(row.provider, row.model) for row in added} == {
        ("local", "my-finetune"),
        ("openai", "my-finetune"),
    }
    entry = entries[("local", "my-finetune")]
    assert entry.first_seen_at is not None and not entry.baseline
    _, entries = _build()
    assert entries[("local", "my-finetune")].first_seen_at == entry.first_seen_at
    assert entries[("openai", "gpt-4o")].baseline


def test_the_providers_lists_are_merged_into_what_the_gateway_serves(
    db, configured, fake_openai, fake_anthropic
):
    fake_openai.models = [
        "gpt-4o-mini",
        {"id": "qwen2.5-7b-instruct", "max_model_len": 32768},
    ]
    fake_anthropic.models = ["claude-fake", "claude-sonnet-4-5"]

    snapshot, entries = _build()
    served = {s.id: s for s in catalog.served(snapshot, entries)}

    local = served["local/qwen2.5-7b-instruct"]
    assert local.provider == "local"
    assert local.entry.context_window == 32768
    assert local.rates is None  # a local model has no list price
    assert served["claude-fake"].entry.release_date == date(2025, 2, 24)
    assert served["claude-fake"].entry.listed_by == ("anthropic",)
    # A model both the package prices and the provider lists is one entry.
    assert served["claude-sonnet-4-5"].entry.in_pricing
    assert served["claude-sonnet-4-5"].entry.listed_by == ("anthropic",)
    assert served["gpt-4o-mini"].provider == "openai"
    # "local/gpt-4o-mini" is priced as the gateway would charge it: by its name.
    assert served["local/gpt-4o-mini"].rates == pricing.catalog_rates(
        "gpt-4o-mini", "local"
    )
    assert "claude-opus-4-5" in served  # from the package, not listed


def test_each_provider_is_asked_with_its_own_credentials(
    db, configured, fake_openai, fake_anthropic
):
    _build()

    asked = [r for r in fake_openai.requests if r.path == "/v1/models"]
    keys = sorted(r.headers.get("authorization", "") for r in asked)
    assert keys == ["", f"Bearer {OPENAI_KEY}"]  # the local server gets no key
    (anthropic,) = fake_anthropic.requests
    assert anthropic.method == "GET" and anthropic.path == "/v1/models"
    assert anthropic.headers["x-api-key"] == ANTHROPIC_KEY
    assert anthropic.headers["anthropic-version"]


def test_anthropics_list_is_read_page_by_page(db, configured, fake_anthropic):
    fake_anthropic.models = [f"claude-fake-{n:04d}" for n in range(1500)]

    snapshot = providers.snapshot()
    lists = catalog.listed(snapshot)

    assert len(lists["anthropic"]) == 1500
    assert len(fake_anthropic.requests) == 2
    assert fake_anthropic.requests[1].query["after_id"] == "claude-fake-0999"


def test_a_list_is_asked_for_again_only_after_its_ttl(db, configured, fake_openai):
    snapshot = providers.snapshot()
    catalog.listed(snapshot)
    catalog.listed(snapshot)

    assert len(fake_openai.requests) == 2  # once for openai, once for local

    configured.PROVIDER_MODELS_TTL_S = 0
    catalog.listed(snapshot)
    assert len(fake_openai.requests) == 4


@pytest.mark.parametrize(
    "reply",
    [
        ErrorReply(status=500),
        ErrorReply(status=401),
        RawReply(body=b"<html>Bad gateway</html>", content_type="text/html"),
        RawReply(body=b'{"data": "nope"}', content_type="application/json"),
        HangReply(seconds=2),
    ],
    ids=["500", "401", "html", "no-list", "hang"],
)
def test_a_failing_provider_list_is_logged_and_the_catalog_carries_on(
    db, configured, fake_openai, fake_anthropic, caplog, reply
):
    configured.OPENAI_COMPATIBLE_PROVIDERS = {}
    configured.CATALOG_FETCH_TIMEOUT_S = 0.5
    providers.invalidate()
    fake_openai.enqueue(reply)
    caplog.set_level(logging.WARNING, logger="proxy.catalog")

    snapshot, entries = _build()
    served = {s.id for s in catalog.served(snapshot, entries)}

    assert "gpt-4o-mini" in served and "claude-fake" in served
    failed = [r for r in caplog.records if r.msg == "catalog.provider_list_failed"]
    assert [r.provider for r in failed] == ["openai"]
    assert OPENAI_KEY not in caplog.text


def test_an_unreachable_provider_is_left_out(db, configured, caplog):
    configured.OPENAI_COMPATIBLE_PROVIDERS = {"gone": "http://127.0.0.1:9/v1"}
    providers.invalidate()

    _, entries = _build()

    assert ("openai", "gpt-4o-mini") in entries
    assert "catalog.provider_list_failed" in caplog.text


def test_v1_models_lists_what_the_gateway_can_serve(client, fake_openai):
    fake_openai.models = ["gpt-fake", "gpt-4o-mini", "smollm2-135m-instruct"]

    listed = {model.id: model for model in client.models.list()}

    # A provider that lists its models is taken at its word: priced models it
    # does not list are not served.
    assert "gpt-4.1" not in listed

    assert "local/smollm2-135m-instruct" in listed
    assert listed["local/smollm2-135m-instruct"].owned_by == "local"
    assert listed["gpt-4o-mini"].owned_by == "openai"
    assert listed["claude-fake"].owned_by == "anthropic"
    # Anthropic's list gives the release date; the others, the first sighting.
    assert listed["claude-fake"].created == 1740355200  # 2025-02-24
    assert all(model.created > 0 for model in listed.values())
    assert all(model.object == "model" for model in listed.values())


def test_a_provider_that_lists_its_models_is_taken_at_its_word(
    db, configured, fake_openai
):
    configured.OPENAI_COMPATIBLE_PROVIDERS = {}
    providers.invalidate()
    fake_openai.models = ["gpt-4o-mini"]

    served = {s.id for s in catalog.servable(providers.snapshot())}

    assert "gpt-4o-mini" in served
    assert "gpt-4.1" not in served  # priced, but this OpenAI does not list it


def test_without_a_list_the_priced_models_are_served_but_not_patterns(
    db, configured, fake_openai
):
    configured.OPENAI_COMPATIBLE_PROVIDERS = {}
    providers.invalidate()
    fake_openai.models = []

    served = {s.id for s in catalog.servable(providers.snapshot())}

    assert {"gpt-4o-mini", "gpt-4.1"} <= served
    assert not [m for m in served if m.endswith(("-", ".")) or ":" in m]
