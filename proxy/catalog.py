"""The model catalog: every model the gateway knows of, and those it can serve.

An entry is one (provider key, model id) pair, merged from three sources:

- the genai-prices catalog shipped inside the package, always there and offline:
  name, prices, context window and deprecation;
- the `/models` lists of the configured providers (OpenAI-compatible
  `GET {base}/models`, Anthropic's `GET /v1/models`), for the models only a provider
  knows, such as those of a local llama.cpp, Ollama or vLLM server. A process asks
  each provider at most every PROVIDER_MODELS_TTL_S seconds; a provider that fails
  or answers something else than a list is logged and left out until then;
- the CatalogModel table: when this gateway first saw each model, and the release
  dates and capabilities synced from models.dev (proxy.modelsdev).

A provider key is the pricing catalog's id for the provider when it knows the
provider (`openai`, `groq`, ...), else the configured provider's own name: a local
server's models belong to it alone.
"""

import asyncio
import functools
import logging
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Any

import aiohttp
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone
from genai_prices.data_snapshot import get_snapshot

from llmtest.errors import GatewayError
from llmtest.snapshots import Cached
from proxy import client, pricing, upstream
from proxy.models import CatalogModel, Provider
from proxy.pricing import Rates
from proxy.providers import ProviderConfig, Resolved, Snapshot

logger = logging.getLogger(__name__)

Key = tuple[str, str]  # (provider key, model id)

# Pages of Anthropic's model list read at most (1,000 models each).
_MAX_LIST_PAGES = 10
# Characters; longer ids do not fit the table and are no model anyone calls.
_MAX_MODEL_ID = 200


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What models.dev says a model can do; None or empty where it says nothing."""

    tool_call: bool | None = None
    reasoning: bool | None = None
    attachment: bool | None = None
    input_modalities: tuple[str, ...] = ()
    output_modalities: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Listed:
    """A model as a provider's own `/models` list names it."""

    id: str
    context_window: int | None = None  # vLLM's max_model_len, OpenRouter's context
    release_date: date | None = None  # Anthropic's created_at (its release)


@dataclass(frozen=True, slots=True)
class Entry:
    provider: str
    model: str
    name: str = ""
    rates: Rates | None = None  # the pricing catalog's, per million tokens
    context_window: int | None = None
    output_limit: int | None = None
    deprecated: bool = False
    release_date: date | None = None
    first_seen_at: datetime | None = None
    baseline: bool = False  # already there when the catalog was first recorded
    capabilities: Capabilities = field(default_factory=Capabilities)
    in_pricing: bool = False  # the pricing catalog lists this very id
    listed_by: tuple[str, ...] = ()  # configured providers whose list names it
    described: bool = False  # models.dev describes it

    @property
    def public(self) -> bool:
        """Whether a public source (the pricing package, models.dev) names this very
        id: a provider's own list may hold an operator's fine-tunes, and a call's
        model id may be anything an app sent."""
        return self.in_pricing or self.described

    @property
    def key(self) -> Key:
        return self.provider, self.model

    @property
    def writes_text(self) -> bool:
        """False only when models.dev says the model answers in no text at all."""
        outputs = self.capabilities.output_modalities
        return not outputs or "text" in outputs


@dataclass(frozen=True, slots=True)
class Served:
    """A model the gateway can call as `id`, through the provider `provider`."""

    id: str
    provider: str
    entry: Entry
    rates: Rates | None  # what a call is charged: an operator's override, else catalog


@dataclass(frozen=True, slots=True)
class _Stored:
    name: str
    release_date: date | None
    context_window: int | None
    output_limit: int | None
    capabilities: Capabilities
    first_seen_at: datetime
    baseline: bool
    described: bool  # models.dev described it


class _ListRefused(Exception):
    """A provider answered its model list with something other than a list."""


# ------------------------------------------------------------------ pricing package


@functools.lru_cache(maxsize=1)
def _pricing_entries(day: date) -> dict[Key, Entry]:
    """The pricing package's models, built once a day (its prices carry dates)."""
    entries: dict[Key, Entry] = {}
    for provider in get_snapshot().providers:
        for info in provider.models:
            entries[(provider.id, info.id)] = Entry(
                provider=provider.id,
                model=info.id,
                name=info.name or "",
                rates=pricing.model_rates(info),
                context_window=info.context_window,
                deprecated=bool(info.deprecated),
                in_pricing=True,
            )
    return entries


def _pricing() -> dict[Key, Entry]:
    return _pricing_entries(timezone.now().date())


def provider_key(config: ProviderConfig) -> str:
    """The key a configured provider's models are filed under in the catalog."""
    return pricing.catalog_provider_id(config.catalog_name) or config.name


def _borrowed(provider: str, model: str, catalog_name: str) -> Entry:
    """An entry for an id the pricing catalog does not list as such: with the
    prices, context window and deprecation of the entry that would price a call to
    it (e.g. a dated alias), else with none."""
    found = pricing.catalog_entry_id(model, catalog_name)
    source = _pricing().get(found) if found is not None else None
    if source is None:
        return Entry(provider=provider, model=model)
    return replace(source, provider=provider, model=model, in_pricing=False)


# ------------------------------------------------------------------ stored rows


# Columns a models.dev sync writes (proxy.modelsdev), and all a catalog read takes.
SYNCED_COLUMNS = (
    "name",
    "release_date",
    "context_window",
    "output_limit",
    "tool_call",
    "reasoning",
    "attachment",
    "input_modalities",
    "output_modalities",
    "synced_at",
)
_STORED_COLUMNS = ("provider", "model", *SYNCED_COLUMNS, "created_at", "baseline")


def _load_stored() -> dict[Key, _Stored]:
    stored: dict[Key, _Stored] = {}
    rows = CatalogModel.objects.values_list(*_STORED_COLUMNS)
    for row in rows.iterator(chunk_size=2000):
        provider, model, name, released, window, output, *flags = row
        tool_call, reasoning, attachment, inputs, outputs, synced, seen, baseline = (
            flags
        )
        stored[(provider, model)] = _Stored(
            name=name,
            release_date=released,
            context_window=window,
            output_limit=output,
            capabilities=Capabilities(
                tool_call=tool_call,
                reasoning=reasoning,
                attachment=attachment,
                input_modalities=tuple(inputs or ()),
                output_modalities=tuple(outputs or ()),
            ),
            first_seen_at=seen,
            baseline=baseline,
            described=synced is not None,
        )
    return stored


# The rows change only when a model is first seen or models.dev is synced, and
# both clear this process's copy; other processes read them again within the TTL.
_stored = Cached(_load_stored, "catalog", ttl_setting="PROVIDER_MODELS_TTL_S")


def _with_stored(entry: Entry, row: _Stored) -> Entry:
    return replace(
        entry,
        name=entry.name or row.name,
        release_date=row.release_date or entry.release_date,
        # The pricing package's window first: it is what prices were set for.
        context_window=entry.context_window or row.context_window,
        output_limit=row.output_limit,
        capabilities=row.capabilities,
        first_seen_at=row.first_seen_at,
        baseline=row.baseline,
        described=row.described,
    )


def _record_seen(keys: list[Key]) -> tuple[datetime, bool] | None:
    """Remember when these models were first seen: returns that time and whether
    they are the baseline, or None when the write failed (only the date is lost)."""
    now = timezone.now()
    try:
        with transaction.atomic():
            # The first recording holds everything known then: none of it is news.
            # (Rows a models.dev sync wrote do not count: it may have run first.)
            first = not CatalogModel.objects.filter(synced_at__isnull=True).exists()
            CatalogModel.objects.bulk_create(
                [
                    CatalogModel(provider=p, model=m, baseline=first, created_at=now)
                    for p, m in keys
                ],
                ignore_conflicts=True,
                batch_size=1000,
            )
    except DatabaseError:
        logger.exception("catalog.record_seen_failed", extra={"models": len(keys)})
        return None
    logger.info("catalog.models_first_seen", extra={"models": len(keys)})
    _stored.invalidate()
    return now, first


# ------------------------------------------------------------------ provider lists

_lists: dict[tuple[str, str, str, str], tuple[float, list[Listed]]] = {}


def _asks(config: ProviderConfig) -> bool:
    # OpenAI and Anthropic refuse a request without a key; local servers need none.
    return config.kind == Provider.Kind.OPENAI_COMPATIBLE or bool(config.api_key)


def _list_cache_key(config: ProviderConfig) -> tuple[str, str, str, str]:
    return config.name, config.kind, config.base_url, config.api_key


def _list_url(config: ProviderConfig) -> str:
    base = config.base_url.rstrip("/")
    if config.speaks_openai or base.endswith("/v1"):
        return f"{base}/models"
    return f"{base}/v1/models"


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        return None
    return value


def _date(value: object) -> date | None:
    if not isinstance(value, str) or len(value) < 7:
        return None
    text = value[:10] if len(value) >= 10 else f"{value[:7]}-01"
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def _listed(item: object) -> Listed | None:
    if not isinstance(item, dict):
        return None
    model_id = item.get("id")
    if not isinstance(model_id, str) or not model_id or len(model_id) > _MAX_MODEL_ID:
        return None
    return Listed(
        id=model_id,
        context_window=_int(item.get("max_model_len"))
        or _int(item.get("context_length")),
        release_date=_date(item.get("created_at")),
    )


async def _read_list(config: ProviderConfig) -> list[Listed]:
    url = _list_url(config)
    headers = upstream.headers_for(config, {})
    timeout = aiohttp.ClientTimeout(total=settings.CATALOG_FETCH_TIMEOUT_S)
    anthropic = not config.speaks_openai
    params = {"limit": "1000"} if anthropic else {}
    found: list[Listed] = []
    for _ in range(_MAX_LIST_PAGES):
        async with upstream.session().get(
            url, headers=headers, params=params, timeout=timeout
        ) as response:
            if response.status != 200:
                raise _ListRefused(f"HTTP {response.status}")
            body: Any = await response.json(content_type=None)
        page = body.get("data") if isinstance(body, dict) else None
        if not isinstance(page, list):
            raise _ListRefused("no data list")
        found += [model for model in map(_listed, page) if model is not None]
        if not (anthropic and body.get("has_more") and body.get("last_id")):
            break
        params = {"limit": "1000", "after_id": str(body["last_id"])}
    return found


async def _fetch_list(config: ProviderConfig) -> list[Listed]:
    try:
        return await _read_list(config)
    except (aiohttp.ClientError, TimeoutError, ValueError, _ListRefused) as error:
        # The catalog works without any provider's list; this one is retried later.
        logger.warning(
            "catalog.provider_list_failed",
            extra={
                "provider": config.name,
                "error": str(error) or type(error).__name__,
            },
        )
        return []


async def alisted(snapshot: Snapshot) -> dict[str, list[Listed]]:
    """Each configured provider's model list, by provider name (empty when it
    failed). Asks the providers whose list is older than PROVIDER_MODELS_TTL_S."""
    configs = [c for c in snapshot.providers.values() if _asks(c)]
    now = time.monotonic()
    stale = [
        c
        for c in configs
        if now - _lists.get(_list_cache_key(c), (-1e18, []))[0]
        > settings.PROVIDER_MODELS_TTL_S
    ]
    if stale:
        fetched = await asyncio.gather(*(_fetch_list(c) for c in stale))
        for config, models in zip(stale, fetched, strict=True):
            _lists[_list_cache_key(config)] = (time.monotonic(), models)
    return {c.name: _lists.get(_list_cache_key(c), (0.0, []))[1] for c in configs}


def listed(snapshot: Snapshot) -> dict[str, list[Listed]]:
    """`alisted` for synchronous callers (runs on the process's model-call loop)."""
    return client.run(alisted(snapshot))


def invalidate() -> None:
    """Forget provider lists, stored rows and the merged catalog in this process."""
    global _merged
    _lists.clear()
    _stored.invalidate()
    _merged = None


# ------------------------------------------------------------------ the catalog


# The last merge and what it was made of (kept, and compared by identity).
_merged: tuple[tuple[object, ...], dict[Key, Entry]] | None = None


def entries(snapshot: Snapshot, lists: dict[str, list[Listed]]) -> dict[Key, Entry]:
    """Every model known, by (provider key, model id). The dict is shared: read it,
    do not change it.

    Reads the table (cached for PROVIDER_MODELS_TTL_S) and, when some model was
    never seen before, writes its first-seen date. While neither the pricing
    package, the stored rows nor the provider lists changed, it returns the same
    dict as the last call.
    """
    global _merged
    pricing_entries, stored = _pricing(), _stored.get()
    sources = (pricing_entries, stored, *lists.items())
    if _merged is not None and _same(_merged[0], sources):
        return _merged[1]
    merged = _merge(snapshot, lists, pricing_entries, stored)
    _merged = (sources, merged)
    return merged


def _same(before: tuple[object, ...], now: tuple[object, ...]) -> bool:
    if len(before) != len(now):
        return False
    for old, new in zip(before, now, strict=True):
        if isinstance(old, tuple) and isinstance(new, tuple):
            # A (provider name, its list) pair: the same name and the same list.
            if old[0] != new[0] or old[1] is not new[1]:
                return False
        elif old is not new:
            return False
    return True


def _merge(
    snapshot: Snapshot,
    lists: dict[str, list[Listed]],
    pricing_entries: dict[Key, Entry],
    stored: dict[Key, _Stored],
) -> dict[Key, Entry]:
    merged = dict(pricing_entries)
    for name, models in lists.items():
        config = snapshot.providers.get(name)
        if config is None:
            continue
        owner = provider_key(config)
        for item in models:
            base = merged.get((owner, item.id)) or _borrowed(
                owner, item.id, config.catalog_name
            )
            merged[(owner, item.id)] = replace(
                base,
                listed_by=(*base.listed_by, name),
                context_window=base.context_window or item.context_window,
                release_date=base.release_date or item.release_date,
            )
    for key, row in stored.items():
        if key in merged:
            merged[key] = _with_stored(merged[key], row)
        elif row.described:
            merged[key] = _with_stored(_borrowed(*key, key[0]), row)
    unseen = [key for key in merged if key not in stored]
    recorded = _record_seen(unseen) if unseen else None
    if recorded is not None:
        seen_at, baseline = recorded
        for key in unseen:
            merged[key] = replace(merged[key], first_seen_at=seen_at, baseline=baseline)
    return merged


def _routes_to(snapshot: Snapshot, model: str, provider: str) -> bool:
    """Whether the bare id `model` resolves to `provider` on this snapshot."""
    try:
        return snapshot.resolve(model).provider.name == provider
    except GatewayError:
        return False


def served(
    snapshot: Snapshot,
    catalog: dict[Key, Entry],
    lists: dict[str, list[Listed]] | None = None,
) -> list[Served]:
    """The models the gateway can call right now, by id.

    Of each configured provider with a key (or needing none): the models its own
    list names, and, when its list is not known (`lists` has none for it: it failed
    or was not asked), the pricing catalog's models for it; plus every model an
    operator priced that one of those providers would take. A provider that lists
    its models is taken at its word: the pricing catalog also prices ids that are
    only patterns (`…-2024-07-18.ft-`) or other gateways' names for a model. An id
    is bare when the bare id resolves to that provider (the OpenAI and Anthropic
    families, the default provider's models), else `provider/model`, so that each
    one can be called as written.
    """
    listing = {name for name, items in (lists or {}).items() if items}
    by_owner: dict[str, list[Entry]] = defaultdict(list)
    for entry in catalog.values():
        by_owner[entry.provider].append(entry)
    found: dict[str, Served] = {}
    for config in snapshot.providers.values():
        if not _asks(config):
            continue
        for entry in by_owner.get(provider_key(config), []):
            listed = config.name in entry.listed_by
            # Known from the pricing catalog only: served while the provider has
            # no list of its own, unless the id is only a pattern.
            priced_only = (
                entry.in_pricing
                and config.name not in listing
                and _looks_callable(entry.model)
            )
            if not (listed or priced_only):
                continue
            bare = _routes_to(snapshot, entry.model, config.name)
            model_id = entry.model if bare else f"{config.name}/{entry.model}"
            if model_id not in found:
                rates = snapshot.rates(Resolved(config, entry.model))
                found[model_id] = Served(model_id, config.name, entry, rates)
    for model_id, rates in snapshot.overrides.items():
        if model_id in found:
            continue
        try:
            resolved = snapshot.resolve(model_id)
        except GatewayError:
            continue  # priced, but no configured provider would take it
        config = resolved.provider
        if not _asks(config):
            continue  # its provider would refuse the call: no key
        entry = lookup(snapshot, catalog, config.name, resolved.model)
        found[model_id] = Served(model_id, config.name, entry, rates)
    return sorted(found.values(), key=lambda s: s.id)


def _looks_callable(model: str) -> bool:
    """False for pricing ids that are only a pattern's start (`….ft-`) or a
    variant suffix another gateway adds (`gpt-4o:extended`)."""
    return model[-1:].isalnum() and ":" not in model


def lookup(
    snapshot: Snapshot, catalog: dict[Key, Entry], provider: str, model: str
) -> Entry:
    """The entry of `model` as the configured provider `provider` names it."""
    config = snapshot.providers.get(provider)
    owner = provider_key(config) if config is not None else provider
    catalog_name = config.catalog_name if config is not None else provider
    return catalog.get((owner, model)) or _borrowed(owner, model, catalog_name)


def served_now(snapshot: Snapshot, lists: dict[str, list[Listed]]) -> list[Served]:
    """`served` on the catalog built from these provider lists."""
    return served(snapshot, entries(snapshot, lists), lists)


def servable(snapshot: Snapshot) -> list[Served]:
    """`served_now` with the provider lists fetched (or cached) first."""
    return served_now(snapshot, listed(snapshot))
