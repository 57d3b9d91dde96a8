"""Syncing release dates and capabilities from models.dev into the catalog."""

import json
import logging
import os
import subprocess
import sys
from datetime import date
from io import StringIO

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command

from proxy import catalog, modelsdev, providers, tasks
from proxy.models import CatalogModel
from tests.fakes.providers import ErrorReply, HangReply, JsonReply, RawReply


def _sample_models(sample):
    return {
        (provider, model_id): model
        for provider, entry in sample.items()
        for model_id, model in entry["models"].items()
    }


def _entries():
    snapshot = providers.snapshot()
    return catalog.entries(snapshot, catalog.listed(snapshot))


@pytest.fixture(autouse=True)
def _offline(settings):
    settings.OPENAI_API_KEY = ""
    settings.ANTHROPIC_API_KEY = ""
    settings.OPENAI_COMPATIBLE_PROVIDERS = {}
    providers.invalidate()


def test_syncmodels_stores_what_models_dev_says_of_each_model(
    db, fake_models_dev, models_dev_sample
):
    out = StringIO()

    call_command("syncmodels", stdout=out)

    described = _sample_models(models_dev_sample)
    assert f"Synced {len(described)} models" in out.getvalue()
    assert CatalogModel.objects.count() == len(described)
    sonnet = CatalogModel.objects.get(provider="anthropic", model="claude-sonnet-4-5")
    source = described[("anthropic", "claude-sonnet-4-5")]
    assert sonnet.release_date == date.fromisoformat(source["release_date"])
    assert sonnet.context_window == source["limit"]["context"]
    assert sonnet.output_limit == source["limit"]["output"]
    assert sonnet.tool_call is source["tool_call"]
    assert sonnet.reasoning is source["reasoning"]
    assert sonnet.input_modalities == source["modalities"]["input"]
    assert sonnet.synced_at is not None
    (request,) = fake_models_dev.requests
    assert request.method == "GET" and request.path == "/api.json"


def test_the_catalog_merges_synced_metadata_with_the_pricing_package(
    db, fake_models_dev, models_dev_sample
):
    modelsdev.sync()

    entries = _entries()

    sonnet = entries[("anthropic", "claude-sonnet-4-5")]
    assert sonnet.in_pricing and sonnet.rates is not None
    assert sonnet.release_date is not None
    assert sonnet.capabilities.tool_call is True
    assert "image" in sonnet.capabilities.input_modalities
    image = entries[("openai", "gpt-image-2")]
    assert not image.writes_text
    # A model only models.dev knows is in the catalog too, unpriced unless the
    # package prices it under another name.
    groq = entries[("groq", "canopylabs/orpheus-v1-english")]
    assert groq.capabilities.output_modalities == ("audio",)
    # Zero limits in the document mean "unknown", not a window of zero tokens.
    assert CatalogModel.objects.get(model="gpt-image-2").context_window is None


def test_the_first_sync_is_the_baseline_and_a_later_one_adds_new_models(
    db, fake_models_dev, models_dev_sample
):
    trimmed = json.loads(json.dumps(models_dev_sample))
    newest = trimmed["anthropic"]["models"].pop("claude-sonnet-5")
    fake_models_dev.document = trimmed
    first = modelsdev.sync()

    trimmed["anthropic"]["models"]["claude-sonnet-5"] = newest
    again = modelsdev.sync()

    assert first.ok and again.ok
    assert again.created == 1
    assert (
        not CatalogModel.objects.filter(baseline=False)
        .exclude(model="claude-sonnet-5")
        .exists()
    )
    assert not CatalogModel.objects.get(model="claude-sonnet-5").baseline


def test_the_task_syncs_only_when_the_sync_is_switched_on(
    db, fake_models_dev, settings
):
    settings.MODELS_DEV_SYNC = False
    tasks.sync_models()
    assert fake_models_dev.requests == []
    assert not CatalogModel.objects.exists()

    settings.MODELS_DEV_SYNC = True
    tasks.sync_models()

    assert len(fake_models_dev.requests) == 1
    assert CatalogModel.objects.filter(synced_at__isnull=False).exists()


@pytest.mark.parametrize(
    "reply",
    [
        ErrorReply(status=503),
        RawReply(body=b"<html>maintenance</html>", content_type="text/html"),
        JsonReply(body={"no": "providers here"}),
        JsonReply(body=["not", "an", "object"]),
        HangReply(seconds=2),
    ],
    ids=["503", "html", "no-models", "a-list", "hang"],
)
def test_a_failed_sync_changes_nothing_and_says_so(
    db, fake_models_dev, settings, caplog, reply
):
    modelsdev.sync()
    before = list(CatalogModel.objects.values_list("model", "synced_at"))
    settings.CATALOG_FETCH_TIMEOUT_S = 0.5
    fake_models_dev.enqueue(reply)
    caplog.set_level(logging.WARNING, logger="proxy.modelsdev")

    with pytest.raises(CommandError, match="catalog is unchanged"):
        call_command("syncmodels")

    assert list(CatalogModel.objects.values_list("model", "synced_at")) == before
    assert "modelsdev.sync_failed" in caplog.text
    assert ("openai", "gpt-4o-mini") in _entries()


def test_the_task_shrugs_off_an_unreachable_models_dev(db, settings, caplog):
    settings.MODELS_DEV_SYNC = True
    settings.MODELS_DEV_URL = "http://127.0.0.1:9/api.json"

    tasks.sync_models()

    assert "modelsdev.sync_failed" in caplog.text
    assert not CatalogModel.objects.filter(synced_at__isnull=False).exists()


def test_a_malformed_model_is_skipped_and_the_rest_stored(db, fake_models_dev):
    fake_models_dev.document = {
        "openai": {
            "models": {
                "gpt-4o": {"release_date": "2024-05", "limit": {"context": "big"}},
                "x" * 300: {"name": "too long an id"},
                "broken": "not an object",
            }
        },
        "nobody": "not a provider",
    }

    result = modelsdev.sync()

    assert result.ok and result.models == 1
    row = CatalogModel.objects.get()
    assert (row.model, row.release_date, row.context_window) == (
        "gpt-4o",
        date(2024, 5, 1),
        None,
    )


def test_the_beat_schedule_has_the_sync_only_when_it_is_switched_on():
    def schedule(switch: str) -> dict:
        env = {**os.environ, "MODELS_DEV_SYNC": switch}
        env["DJANGO_SETTINGS_MODULE"] = "llmtest.settings_test"
        code = (
            "import json, django; django.setup(); from llmtest.celery import app; "
            "print(json.dumps(app.conf.beat_schedule))"
        )
        done = subprocess.run(  # noqa: S603
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=django_settings.BASE_DIR,
        )
        return json.loads(done.stdout.strip().splitlines()[-1])

    assert schedule("false") == {}
    job = schedule("true")["sync-models-dev"]
    assert job["task"] == "proxy.sync_models"
    assert job["schedule"] == 86400
