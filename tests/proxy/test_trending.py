"""GET /api/models/trending: new models, and models whose calls grow fastest."""

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from flows.models import Call
from proxy import modelsdev, providers, selectors
from tests.factories import AccountFactory, CallFactory, FlowFactory, api_key_for

URL = "/api/models/trending"
MODEL_FIELDS = {
    "id",
    "provider",
    "name",
    "served_as",
    "prices",
    "context_window",
    "output_limit",
    "release_date",
    "first_seen_at",
    "deprecated",
    "capabilities",
    "reason",
}
GROWTH_FIELDS = {"calls_last_7d", "calls_prev_7d", "growth"}


@pytest.fixture(autouse=True)
def _fresh_counts(settings):
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""
    settings.OPENAI_COMPATIBLE_PROVIDERS = {}
    settings.TRENDING_MIN_CALLS = 20
    settings.TRENDING_LIMIT = 1000
    providers.invalidate()
    selectors.forget_call_counts()
    yield
    selectors.forget_call_counts()


@pytest.fixture
def web(db):
    """Django's test client (this package's `client` is the openai SDK's)."""
    return Client()


@pytest.fixture
def get(web):
    key = api_key_for(AccountFactory())

    def get():
        response = web.get(URL, headers={"authorization": f"Bearer {key}"})
        assert response.status_code == 200, response.content
        return response.json()

    return get


def _calls(flow, model, provider, count, days_ago, source=Call.Source.PROXY):
    at = timezone.now() - timedelta(days=days_ago, minutes=5)
    CallFactory.create_batch(
        count,
        flow=flow,
        served_model=model,
        requested_model=model,
        provider=provider,
        created_at=at,
        source=source,
    )


def test_it_requires_a_key(web):
    response = web.get(URL)

    assert response.status_code == 401
    assert response.json()["error"]["type"] == "authentication_error"


def test_new_lists_the_models_released_in_the_window_newest_first(
    get, fake_models_dev, models_dev_sample, settings
):
    since = date(2026, 6, 1)
    settings.TRENDING_NEW_DAYS = (timezone.now().date() - since).days
    modelsdev.sync()

    body = get()

    new = body["new"]
    assert body["criteria"]["new_days"] == settings.TRENDING_NEW_DAYS
    released = [date.fromisoformat(m["release_date"]) for m in new]
    assert released == sorted(released, reverse=True)
    assert all(day >= since for day in released)
    assert {m["reason"] for m in new} == {"released"}
    expected = {
        (provider, model_id)
        for provider, entry in models_dev_sample.items()
        for model_id, model in entry["models"].items()
        if date.fromisoformat(model["release_date"]) >= since
    }
    listed = {(m["provider"], m["id"]) for m in new}
    deprecated = expected - listed
    assert len(deprecated) < len(expected) // 4, deprecated
    assert listed <= expected
    sonnet = next(m for m in new if m["id"] == "claude-sonnet-5")
    assert sonnet["provider"] == "anthropic"
    assert sonnet["release_date"] == "2026-06-30"
    assert sonnet["context_window"] and sonnet["capabilities"]["tool_call"] is True
    assert set(sonnet) == MODEL_FIELDS


def test_new_lists_a_model_first_seen_after_the_catalog_began(
    get, settings, fake_openai
):
    settings.OPENAI_COMPATIBLE_PROVIDERS = {"local": fake_openai.base_url}
    fake_openai.models = ["gpt-fake"]
    providers.invalidate()
    get()  # the first catalog: the baseline, none of it news

    fake_openai.models = ["gpt-fake", "smollm2-135m-instruct"]
    settings.PROVIDER_MODELS_TTL_S = 0
    body = get()

    assert [(m["id"], m["reason"]) for m in body["new"]] == [
        ("smollm2-135m-instruct", "first_seen")
    ]
    (local,) = body["new"]
    assert local["provider"] == "local"
    assert local["served_as"] == "local/smollm2-135m-instruct"
    assert local["first_seen_at"] and local["release_date"] is None
    assert local["prices"] is None


def test_trending_ranks_growth_with_a_minimum_volume(get):
    team, other = FlowFactory(), FlowFactory()
    # Grew from nothing: first, with no growth ratio.
    _calls(team, "gpt-4.1-mini", "openai", 15, days_ago=1)
    _calls(other, "gpt-4.1-mini", "openai", 10, days_ago=2)
    # Tripled, across two accounts.
    _calls(team, "gpt-4o-mini", "openai", 10, days_ago=9)
    _calls(team, "gpt-4o-mini", "openai", 10, days_ago=3)
    _calls(other, "gpt-4o-mini", "openai", 20, days_ago=1)
    # Grew tenfold, but on too few calls to mean anything.
    _calls(team, "claude-haiku-4-5", "anthropic", 1, days_ago=10)
    _calls(team, "claude-haiku-4-5", "anthropic", 10, days_ago=1)
    # Shrank.
    _calls(team, "gpt-4o", "openai", 50, days_ago=8)
    _calls(team, "gpt-4o", "openai", 30, days_ago=1)
    # Benchmark calls are the gateway's own, and older calls are out of both weeks.
    _calls(team, "o3", "openai", 40, days_ago=1, source=Call.Source.BENCHMARK)
    _calls(team, "gpt-4.1", "openai", 40, days_ago=20)

    body = get()

    trending = [
        (m["id"], m["calls_last_7d"], m["calls_prev_7d"], m["growth"])
        for m in body["trending"]
    ]
    assert trending == [
        ("gpt-4.1-mini", 25, 0, None),
        ("gpt-4o-mini", 30, 10, 2.0),
    ]
    mini = body["trending"][1]
    assert set(mini) == MODEL_FIELDS | GROWTH_FIELDS
    assert mini["reason"] == "growth"
    assert mini["provider"] == "openai"
    assert mini["prices"]["input"] == 0.15 and mini["prices"]["output"] == 0.6
    assert mini["context_window"] == 128_000
    assert body["criteria"] == {"new_days": 30, "window_days": 7, "min_calls": 20}


def test_trending_shows_no_account_flow_or_cost_of_anyone(get, settings):
    settings.TRENDING_MIN_CALLS = 1
    secret = FlowFactory(name="acme-secret-flow", account__email="ceo@acme.example")
    _calls(secret, "gpt-4o-mini", "openai", 5, days_ago=1)

    body = get()

    (entry,) = body["trending"]
    assert set(entry) == MODEL_FIELDS | GROWTH_FIELDS
    text = str(body)
    for private in ("acme-secret-flow", "ceo@acme.example", "0.001", "account"):
        assert private not in text


def test_a_model_served_through_a_configured_provider_says_how_to_call_it(
    get, settings, fake_openai
):
    settings.OPENAI_API_KEY = "sk-test-openai-provider-key-0000"
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.TRENDING_MIN_CALLS = 1
    providers.invalidate()
    _calls(FlowFactory(), "gpt-4o-mini", "openai", 3, days_ago=1)

    (entry,) = get()["trending"]

    assert entry["served_as"] == "gpt-4o-mini"


def test_the_counts_are_cached_for_a_few_minutes(get, settings):
    settings.TRENDING_MIN_CALLS = 1
    flow = FlowFactory()
    _calls(flow, "gpt-4o-mini", "openai", 3, days_ago=1)
    assert get()["trending"][0]["calls_last_7d"] == 3

    _calls(flow, "gpt-4o-mini", "openai", 3, days_ago=1)

    assert get()["trending"][0]["calls_last_7d"] == 3
    selectors.forget_call_counts()
    assert get()["trending"][0]["calls_last_7d"] == 6


def test_a_model_id_only_the_traffic_knows_is_never_shown(get, settings):
    settings.TRENDING_MIN_CALLS = 1
    private = "ft:gpt-4o-mini:acme-corp:secret-project:abc123"
    _calls(FlowFactory(), private, "openai", 30, days_ago=1)
    _calls(FlowFactory(), "gpt-4o-mini", "openai", 3, days_ago=1)

    body = get()

    assert [m["id"] for m in body["trending"]] == ["gpt-4o-mini"]
    assert "acme" not in str(body)
