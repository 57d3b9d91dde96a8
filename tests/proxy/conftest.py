"""Clients of the live gateway, shared by the proxy's end-to-end tests."""

from collections.abc import Iterator

import anthropic
import httpx
import openai
import pytest


@pytest.fixture
def client(gateway, api_key) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{gateway.url}/v1", api_key=api_key, max_retries=0)


@pytest.fixture
def claude(gateway, api_key) -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=gateway.url, api_key=api_key, max_retries=0)


@pytest.fixture
def http(gateway, api_key) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=10) as http:
        yield http
