"""Make the fake-provider fixtures available to the fakes' own tests.

(Other test packages should use `pytest_plugins = ["tests.fakes.fixtures"]` in
the root conftest instead; pytest only honours that there.)
"""

from tests.fakes.fixtures import (
    fake_anthropic,
    fake_anthropic_server,
    fake_openai,
    fake_openai_server,
)

__all__ = [
    "fake_anthropic",
    "fake_anthropic_server",
    "fake_openai",
    "fake_openai_server",
]
