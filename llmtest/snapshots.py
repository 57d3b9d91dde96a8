"""Tables the hot path reads on every call, kept per process instead of queried.

A `Cached` holds what its loader last read from the database and reads it again
once it is CONFIG_CACHE_TTL_S seconds old, or after `invalidate()` (a change made
in this process). While the database is unreachable it keeps the last value: these
tables rarely change, and a database blip must not stop calls that need nothing
else from it.
"""

import logging
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections

logger = logging.getLogger(__name__)

T = TypeVar("T")


class Cached(Generic[T]):
    def __init__(
        self, load: Callable[[], T], name: str, ttl_setting: str = "CONFIG_CACHE_TTL_S"
    ) -> None:
        self._load = load
        self._name = name
        self._ttl_setting = ttl_setting  # the setting that holds the TTL in seconds
        self._value: T | None = None
        self._loaded_at = 0.0

    def _fresh(self) -> T | None:
        ttl = getattr(settings, self._ttl_setting)
        if time.monotonic() - self._loaded_at > ttl:
            return None
        return self._value

    def _load_or_keep(self) -> T:
        try:
            value = self._load()
        except (OperationalError, InterfaceError):
            close_old_connections()
            if self._value is None:
                raise
            logger.warning(
                "snapshots.reload_failed_kept_last", extra={"of": self._name}
            )
            value = self._value
        self._value, self._loaded_at = value, time.monotonic()
        return value

    def get(self) -> T:
        current = self._fresh()
        return self._load_or_keep() if current is None else current

    async def aget(self) -> T:
        current = self._fresh()
        if current is None:
            return await sync_to_async(self._load_or_keep)()
        return current

    def invalidate(self) -> None:
        """Forget the value in this process (others read it again within the TTL)."""
        self._value, self._loaded_at = None, 0.0
