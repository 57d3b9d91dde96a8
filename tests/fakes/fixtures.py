"""Pytest fixtures for the fake providers.

Enable them from a conftest with `pytest_plugins = ["tests.fakes.fixtures"]`.

One server per provider lives for the whole session (stable URL, no per-test
start-up cost); the function-scoped fixtures hand it to each test freshly reset,
so scripted replies and recorded requests never leak between tests.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.fakes.modelsdev import SAMPLE_FILE, FakeModelsDev, load_sample
from tests.fakes.providers import FakeAnthropic, FakeOpenAI, FakeProvider


def _fresh(fake: FakeProvider) -> FakeProvider:
    fake.reset()
    fake.reset_settings()
    return fake


@pytest.fixture(scope="session")
def fake_openai_server() -> Iterator[FakeOpenAI]:
    """The session's FakeOpenAI; prefer `fake_openai`, which resets it."""
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture(scope="session")
def fake_anthropic_server() -> Iterator[FakeAnthropic]:
    """The session's FakeAnthropic; prefer `fake_anthropic`, which resets it."""
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake_openai(fake_openai_server: FakeOpenAI) -> Iterator[FakeOpenAI]:
    """A running FakeOpenAI with no recorded requests and default behaviour."""
    _fresh(fake_openai_server)
    yield fake_openai_server
    # Leave nothing queued for whoever uses the server next.
    fake_openai_server.reset()


@pytest.fixture
def fake_anthropic(fake_anthropic_server: FakeAnthropic) -> Iterator[FakeAnthropic]:
    """A running FakeAnthropic with no recorded requests and default behaviour."""
    _fresh(fake_anthropic_server)
    yield fake_anthropic_server
    fake_anthropic_server.reset()


@pytest.fixture(scope="session")
def models_dev_sample() -> dict[str, Any]:
    """The real models.dev excerpt from ../shared/data, as models.dev serves it."""
    if not SAMPLE_FILE.exists():
        pytest.skip(f"the models.dev excerpt is not at {SAMPLE_FILE}")
    return load_sample()


@pytest.fixture(scope="session")
def fake_models_dev_server() -> Iterator[FakeModelsDev]:
    with FakeModelsDev() as fake:
        yield fake


@pytest.fixture
def fake_models_dev(
    fake_models_dev_server: FakeModelsDev,
    models_dev_sample: dict[str, Any],
    settings: Any,
) -> Iterator[FakeModelsDev]:
    """A fake models.dev serving the excerpt, set as MODELS_DEV_URL."""
    _fresh(fake_models_dev_server)
    fake_models_dev_server.document = models_dev_sample
    settings.MODELS_DEV_URL = fake_models_dev_server.document_url
    yield fake_models_dev_server
    fake_models_dev_server.reset()
