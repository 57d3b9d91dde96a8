"""The provider table: resolved per model id, and kept through a database blip."""

import pytest
from django.db import OperationalError

from proxy import providers

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_last_provider_table_is_kept_while_the_database_is_unreachable(
    settings, monkeypatch
):
    settings.CONFIG_CACHE_TTL_S = 0
    first = providers.snapshot()

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(providers._cached, "_load", unreachable)
    kept = providers.snapshot()

    assert kept.providers == first.providers
    assert kept.resolve("gpt-4o-mini").provider.name == "openai"


def test_without_any_table_yet_the_database_error_is_raised(monkeypatch):
    providers.invalidate()

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(providers._cached, "_load", unreachable)

    with pytest.raises(OperationalError):
        providers.snapshot()


def test_the_flow_config_is_kept_the_same_way(settings, monkeypatch):
    from flows import config

    settings.CONFIG_CACHE_TTL_S = 0
    first = config.config()

    def unreachable():
        raise OperationalError("connection refused")

    monkeypatch.setattr(config._cached, "_load", unreachable)

    assert config.config() == first
    config.invalidate()
    with pytest.raises(OperationalError):
        config.config()
