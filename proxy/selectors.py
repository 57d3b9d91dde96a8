"""Reads behind GET /api/models/trending: models that are new, and models taking off.

New models are the catalog's, by their models.dev release date or, for a model
with none, the day this gateway first saw it. Trending counts are aggregates of
every account's proxied calls per model (benchmark and judge calls are the
gateway's own choice, not the apps'): calls in the last seven days and in the seven
before. No account, flow, cost or call of anyone is read beyond those two counts.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Q
from django.utils import timezone

from flows.models import Call
from proxy import catalog, providers
from proxy.catalog import Entry, Key, Served
from proxy.pricing import Rates
from proxy.providers import Snapshot

logger = logging.getLogger(__name__)

# Days in each of the two windows whose call counts are compared.
WINDOW_DAYS = 7
# Seconds the counts are kept in the shared cache: they move slowly, and counting
# two weeks of every account's calls reads every one of them.
_COUNTS_CACHE_S = 300
_COUNTS_CACHE_KEY = "trending:call-counts:v1"

_Counts = list[tuple[str, str, int, int]]  # provider, served model, last, previous


@dataclass(frozen=True, slots=True)
class Listing:
    entry: Entry
    rates: Rates | None  # what a call is charged, when the gateway serves it
    served_as: str | None  # the id to call the gateway with, if it serves the model


@dataclass(frozen=True, slots=True)
class NewModel(Listing):
    reason: str  # "released" or "first_seen"


@dataclass(frozen=True, slots=True)
class TrendingModel(Listing):
    calls_last_7d: int
    calls_prev_7d: int
    growth: float | None  # (last - previous) / previous; None: none the week before
    reason: str = "growth"


@dataclass(frozen=True, slots=True)
class Criteria:
    new_days: int
    window_days: int
    min_calls: int


@dataclass(frozen=True, slots=True)
class Trending:
    new: list[NewModel]
    trending: list[TrendingModel]
    criteria: Criteria


def _offer(entry: Entry, served: dict[Key, Served]) -> tuple[Rates | None, str | None]:
    """The rates shown for a model and the id it is served as, if it is."""
    through = served.get(entry.key)
    return (entry.rates, None) if through is None else (through.rates, through.id)


def new_models(
    entries: dict[Key, Entry], served: dict[Key, Served], now: datetime
) -> list[NewModel]:
    """Models released in the last TRENDING_NEW_DAYS days, and models with no known
    release date that this gateway first saw in them, newest first. Deprecated
    models, and those already there when the catalog was first recorded, are not
    news."""
    since = now - timedelta(days=settings.TRENDING_NEW_DAYS)
    found: list[tuple[datetime, NewModel]] = []
    for entry in entries.values():
        if entry.deprecated:
            continue
        rates, served_as = _offer(entry, served)
        released = entry.release_date
        if released is not None:
            if since.date() <= released <= now.date():
                when = datetime.combine(released, time.min, tzinfo=UTC)
                found.append((when, NewModel(entry, rates, served_as, "released")))
            continue
        seen = entry.first_seen_at
        if seen is not None and not entry.baseline and seen >= since:
            found.append((seen, NewModel(entry, rates, served_as, "first_seen")))
    found.sort(key=lambda item: (-item[0].timestamp(), item[1].entry.key))
    return [model for _, model in found[: settings.TRENDING_LIMIT]]


def _count_calls(now: datetime) -> _Counts:
    split = now - timedelta(days=WINDOW_DAYS)
    start = split - timedelta(days=WINDOW_DAYS)
    rows = (
        Call.objects.filter(
            source=Call.Source.PROXY, created_at__gte=start, created_at__lt=now
        )
        .values("provider", "served_model")
        .annotate(
            last=Count("id", filter=Q(created_at__gte=split)),
            previous=Count("id", filter=Q(created_at__lt=split)),
        )
        .order_by()
    )
    return [
        (row["provider"], row["served_model"], row["last"], row["previous"])
        for row in rows
    ]


def call_counts(now: datetime) -> _Counts:
    """Calls per (provider, served model) over all accounts: in the last
    WINDOW_DAYS days and in the WINDOW_DAYS before. Cached for a few minutes."""
    try:
        cached = cache.get(_COUNTS_CACHE_KEY)
    except Exception:  # the cache is an optimisation; Redis may be down
        logger.warning("trending.cache_unavailable", exc_info=True)
        cached = None
    if cached is not None:
        return list(cached)
    counts = _count_calls(now)
    try:
        cache.set(_COUNTS_CACHE_KEY, counts, _COUNTS_CACHE_S)
    except Exception:
        logger.warning("trending.cache_unavailable", exc_info=True)
    return counts


def forget_call_counts() -> None:
    """Drop the cached counts (they are otherwise read again within minutes)."""
    cache.delete(_COUNTS_CACHE_KEY)


def _growth(last: int, previous: int) -> float | None:
    return (last - previous) / previous if previous else None


def _rank(model: TrendingModel) -> tuple[bool, float, int, Key]:
    # A model with no calls the week before has grown from nothing: first.
    growth = model.growth
    return (growth is not None, -(growth or 0.0), -model.calls_last_7d, model.entry.key)


def trending_models(
    snapshot: Snapshot,
    entries: dict[Key, Entry],
    served: dict[Key, Served],
    now: datetime,
) -> list[TrendingModel]:
    """Models whose calls grew most this week against the last, among those with
    at least TRENDING_MIN_CALLS calls this week (fewer is noise, not a trend). Only
    models a public source names are ranked, never an id known from calls alone
    (a fine-tune's name, say, may hold a customer's)."""
    totals: dict[Key, list[int]] = {}
    known: dict[Key, Entry] = {}
    for provider, model, last, previous in call_counts(now):
        entry = catalog.lookup(snapshot, entries, provider, model)
        if not entry.public:
            continue  # an id only this gateway's traffic knows may name a customer
        counts = totals.setdefault(entry.key, [0, 0])
        counts[0] += last
        counts[1] += previous
        known[entry.key] = entry
    found = [
        TrendingModel(
            known[key],
            *_offer(known[key], served),
            calls_last_7d=last,
            calls_prev_7d=previous,
            growth=_growth(last, previous),
        )
        for key, (last, previous) in totals.items()
        if last >= settings.TRENDING_MIN_CALLS and last > previous
    ]
    found.sort(key=_rank)
    return found[: settings.TRENDING_LIMIT]


def trending() -> Trending:
    """New and trending models. Reads the catalog (which may ask the configured
    providers for their model lists) and the cached call counts."""
    snapshot = providers.snapshot()
    lists = catalog.listed(snapshot)
    entries = catalog.entries(snapshot, lists)
    served: dict[Key, Served] = {}
    for model in catalog.served(snapshot, entries, lists):
        served.setdefault(model.entry.key, model)
    now = timezone.now()
    return Trending(
        new=new_models(entries, served, now),
        trending=trending_models(snapshot, entries, served, now),
        criteria=Criteria(
            new_days=settings.TRENDING_NEW_DAYS,
            window_days=WINDOW_DAYS,
            min_calls=settings.TRENDING_MIN_CALLS,
        ),
    )
