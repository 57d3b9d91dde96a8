"""The cache that lets repeated requests authenticate without a database query.

It holds two kinds of entry: key hash -> identity, and account id -> balance. With
REDIS_URL set it is Redis, shared by every process, so a revocation or a top-up is
seen by all of them at once; without Redis it is this process's memory (the embedded
single-process setup). Async callers on the proxy's hot path use the `a*` functions,
which never hop to a thread.
"""

import asyncio
import itertools
import logging
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff

logger = logging.getLogger(__name__)

_KEY = "llmt:key:"
_BALANCE = "llmt:bal:"
# Marks a hash known not to be a valid key, so a flood of bad keys stays off the DB.
_MISSING = "-"
# Seconds a "no such key" answer is remembered; also how long a revoked or deleted
# key is remembered as refused.
_MISSING_TTL_S = 30
# Entries this process's own cache holds at most (the setup without Redis).
_LOCAL_MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class KeyIdentity:
    key_id: int
    account_id: int
    masked: str

    def dump(self) -> str:
        return f"{self.key_id}|{self.account_id}|{self.masked}"

    @classmethod
    def load(cls, text: str) -> "KeyIdentity":
        key_id, account_id, masked = text.split("|", 2)
        return cls(int(key_id), int(account_id), masked)


class _LocalStore:
    def __init__(self) -> None:
        self._data: dict[str, tuple[float, str]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> str | None:
        entry = self._data.get(key)
        if entry is None or entry[0] < time.monotonic():
            return None
        return entry[1]

    def set(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            self._make_room()
            self._data[key] = (time.monotonic() + ttl, value)

    def add(self, key: str, value: str, ttl: float) -> None:
        with self._lock:
            if self.get(key) is None:
                self._make_room()
                self._data[key] = (time.monotonic() + ttl, value)

    def delete(self, key: str) -> bool:
        with self._lock:
            self._data.pop(key, None)
        return True

    async def aget(self, key: str) -> str | None:
        return self.get(key)

    async def aadd(self, key: str, value: str, ttl: float) -> None:
        self.add(key, value, ttl)

    async def aset(self, key: str, value: str, ttl: float) -> None:
        self.set(key, value, ttl)

    async def adebit(self, key: str, amount: Decimal) -> None:
        with self._lock:
            entry = self._data.get(key)
            if entry is not None:
                self._data[key] = (entry[0], str(Decimal(entry[1]) - amount))

    def __len__(self) -> int:
        return len(self._data)

    def _make_room(self) -> None:
        # Every unknown key tried is remembered, so a flood of made-up keys would
        # otherwise grow this without end. Called with the lock held.
        if len(self._data) < _LOCAL_MAX_ENTRIES:
            return
        now = time.monotonic()
        self._data = {k: v for k, v in self._data.items() if v[0] >= now}
        excess = len(self._data) - _LOCAL_MAX_ENTRIES // 2
        if excess > 0:
            # Still full of live entries: drop the oldest; they are read again.
            for key in list(itertools.islice(self._data, excess)):
                del self._data[key]

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


# Lua: lower a cached balance, but never create one (a missing entry means "ask the
# database", and a bare negative number would refuse the account's calls).
_DEBIT_SCRIPT = """
if redis.call('exists', KEYS[1]) == 1 then
  return redis.call('incrbyfloat', KEYS[1], ARGV[1])
end
return false
"""
# Seconds between two log lines about the same Redis outage.
_OUTAGE_LOG_INTERVAL_S = 30.0
# Seconds Redis is left alone after a failure: a Redis that hangs instead of
# refusing would otherwise cost every request its timeout.
_BACKOFF_AFTER_FAILURE_S = 5.0


class _RedisStore:
    """Redis, failing open: while it is unreachable every read is a miss (the
    database answers instead) and every write is skipped, so the gateway keeps
    serving, only slower.

    A revocation may have been skipped during the outage, so once Redis answers
    again every cached identity is dropped and read afresh from the database.
    """

    def __init__(self, url: str) -> None:
        import redis
        import redis.asyncio
        from redis.retry import Retry

        self._url = url
        self._errors = (redis.RedisError, OSError)
        # One quick retry for a blip; a dead Redis must not hold every request.
        self._options = {
            "decode_responses": True,
            "socket_timeout": 1,
            "socket_connect_timeout": 1,
            "retry": Retry(NoBackoff(), 1),
        }
        self._sync = redis.Redis.from_url(url, **self._options)
        self._async_module = redis.asyncio
        # An asyncio client belongs to the loop that made it.
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}
        self._last_outage_log = 0.0
        self._skip_until = 0.0
        self._forget_identities = False

    def _client(self) -> Any:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            options = {**self._options, "retry": AsyncRetry(NoBackoff(), 1)}
            client = self._async_module.from_url(self._url, **options)
            self._clients[loop] = client
        return client

    def _usable(self) -> bool:
        return time.monotonic() >= self._skip_until

    def _outage(self, error: Exception) -> None:
        now = time.monotonic()
        self._skip_until = now + _BACKOFF_AFTER_FAILURE_S
        self._forget_identities = True
        if now - self._last_outage_log >= _OUTAGE_LOG_INTERVAL_S:
            self._last_outage_log = now
            logger.warning("keycache.redis_unavailable", exc_info=error)

    def _recover(self) -> None:
        if self._forget_identities:
            self._forget_identities = False
            for key in self._sync.scan_iter(f"{_KEY}*", count=1000):
                self._sync.delete(key)
            logger.warning("keycache.redis_back_identities_dropped")

    async def _arecover(self) -> None:
        if self._forget_identities:
            self._forget_identities = False
            client = self._client()
            async for key in client.scan_iter(f"{_KEY}*", count=1000):
                await client.delete(key)
            logger.warning("keycache.redis_back_identities_dropped")

    def get(self, key: str) -> str | None:
        if not self._usable():
            return None
        try:
            self._recover()
            return cast(str | None, self._sync.get(key))
        except self._errors as error:
            self._outage(error)
            return None

    def set(self, key: str, value: str, ttl: float) -> None:
        self._run(self._sync.set, key, value, ex=max(1, int(ttl)))

    def add(self, key: str, value: str, ttl: float) -> None:
        self._run(self._sync.set, key, value, ex=max(1, int(ttl)), nx=True)

    def delete(self, key: str) -> bool:
        return self._run(self._sync.delete, key)

    def _run(self, command: Any, *args: Any, **kwargs: Any) -> bool:
        """Run a write; False when Redis could not take it."""
        if not self._usable():
            return False
        try:
            self._recover()
            command(*args, **kwargs)
        except self._errors as error:
            self._outage(error)
            return False
        return True

    async def aget(self, key: str) -> str | None:
        if not self._usable():
            return None
        try:
            await self._arecover()
            value: str | None = await self._client().get(key)
        except self._errors as error:
            self._outage(error)
            return None
        return value

    async def aadd(self, key: str, value: str, ttl: float) -> None:
        await self._arun("set", key, value, ex=max(1, int(ttl)), nx=True)

    async def aset(self, key: str, value: str, ttl: float) -> None:
        await self._arun("set", key, value, ex=max(1, int(ttl)))

    async def adebit(self, key: str, amount: Decimal) -> None:
        await self._arun("eval", _DEBIT_SCRIPT, 1, key, str(-amount))

    async def _arun(self, command: str, *args: Any, **kwargs: Any) -> None:
        if not self._usable():
            return
        try:
            await self._arecover()
            await getattr(self._client(), command)(*args, **kwargs)
        except self._errors as error:
            self._outage(error)

    def clear(self) -> None:
        try:
            for pattern in (f"{_KEY}*", f"{_BALANCE}*"):
                for key in self._sync.scan_iter(pattern):
                    self._sync.delete(key)
        except self._errors as error:
            self._outage(error)


_store: _LocalStore | _RedisStore | None = None


def _get_store() -> _LocalStore | _RedisStore:
    global _store
    if _store is None:
        url = settings.REDIS_URL
        _store = _RedisStore(url) if url else _LocalStore()
    return _store


def reset() -> None:
    """Empty the cache (tests, and after settings change)."""
    global _store
    if _store is not None:
        _store.clear()
    _store = None


# --- identities ---------------------------------------------------------------------


async def aidentity_get(key_hash: str) -> KeyIdentity | bool | None:
    """The cached identity, False when cached as missing, None when not cached."""
    value = await _get_store().aget(_KEY + key_hash)
    return _parse_identity(value)


def identity_get(key_hash: str) -> KeyIdentity | bool | None:
    return _parse_identity(_get_store().get(_KEY + key_hash))


def _parse_identity(value: str | None) -> KeyIdentity | bool | None:
    if value is None:
        return None
    if value == _MISSING:
        return False
    return KeyIdentity.load(value)


async def aidentity_set(key_hash: str, identity: KeyIdentity | None) -> None:
    """Cache what the database said about a key, unless something is cached already.

    Never overwriting is what keeps a revocation that landed between the database
    read and this call: the revocation's refusal stays (see `identity_refuse`).
    """
    value, ttl = _identity_entry(identity)
    await _get_store().aadd(_KEY + key_hash, value, ttl)


def identity_set(key_hash: str, identity: KeyIdentity | None) -> None:
    """See `aidentity_set`."""
    value, ttl = _identity_entry(identity)
    _get_store().add(_KEY + key_hash, value, ttl)


def _identity_entry(identity: KeyIdentity | None) -> tuple[str, float]:
    if identity is None:
        return _MISSING, _MISSING_TTL_S
    return identity.dump(), settings.AUTH_CACHE_TTL_S


def identity_forget(key_hash: str) -> bool:
    """Drop a cached identity. False when the shared cache could not be reached."""
    return _get_store().delete(_KEY + key_hash)


def identity_refuse(key_hash: str) -> None:
    """Cache a key as refused, replacing whatever is cached for it."""
    _get_store().set(_KEY + key_hash, _MISSING, _MISSING_TTL_S)


# --- balances -----------------------------------------------------------------------


async def abalance_get(account_id: int) -> Decimal | None:
    value = await _get_store().aget(f"{_BALANCE}{account_id}")
    return None if value is None else Decimal(value)


def balance_get(account_id: int) -> Decimal | None:
    value = _get_store().get(f"{_BALANCE}{account_id}")
    return None if value is None else Decimal(value)


def balance_set(account_id: int, balance: Decimal) -> None:
    _get_store().set(f"{_BALANCE}{account_id}", str(balance), settings.AUTH_CACHE_TTL_S)


async def abalance_set(account_id: int, balance: Decimal) -> None:
    key = f"{_BALANCE}{account_id}"
    await _get_store().aset(key, str(balance), settings.AUTH_CACHE_TTL_S)


async def abalance_debit(account_id: int, amount: Decimal) -> None:
    """Lower a cached balance by a call's cost as soon as the call ends.

    The ledger is written a moment later; until then the next call's credit check
    already sees the lower balance. An uncached balance is left alone.
    """
    await _get_store().adebit(f"{_BALANCE}{account_id}", amount)
