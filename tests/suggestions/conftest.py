from collections.abc import Iterator

import pytest

from flows import config


@pytest.fixture(autouse=True)
def _fresh_config() -> Iterator[None]:
    """Routes written by one test must not linger in the proxy's snapshot."""
    config.invalidate()
    yield
    config.invalidate()
