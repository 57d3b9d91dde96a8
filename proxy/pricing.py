"""Token usage normalisation and exact per-call pricing.

Providers report usage in incompatible shapes (OpenAI's ``prompt_tokens``
includes cache reads, Anthropic's ``input_tokens`` excludes them), so every
response is first normalised into ``TokenUsage``, whose ``input_tokens`` always
means *all* input tokens. Costs are then computed either from explicit ``Rates``
or from the price catalog bundled with ``genai-prices``.

genai-prices conventions this module relies on (read from its 0.2.3 source):

* Its ``Usage.input_tokens`` is the *total* input, and ``cache_read_tokens`` /
  ``cache_write_tokens`` are subsets of it: the price calculation subtracts the
  priced subsets from the total before charging the remainder at the input rate.
  Likewise ``output_reasoning_tokens`` is a subset of ``output_tokens``. Passing
  the totals therefore prices each token exactly once at its own rate.
* It only downloads prices when ``UpdatePrices`` is started explicitly; by
  default it reads the snapshot shipped inside the wheel, so this module works
  offline and never starts the updater.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from typing import Any

from genai_prices import Usage as CatalogUsage
from genai_prices.data_snapshot import find_provider_by_id, get_snapshot
from genai_prices.types import ModelInfo, Provider, TieredPrices

logger = logging.getLogger(__name__)

# USD; recorded costs keep 10 decimal places so sub-micro-dollar calls still add up.
MONEY_QUANTUM = Decimal("0.0000000001")
# Tokens; every rate in this module is expressed in USD per million tokens.
TOKENS_PER_MILLION = Decimal(1_000_000)
# Significant digits for rate arithmetic: billions of tokens times 17-digit
# catalog rates exceed the default 28, and money must not be rounded early.
_ARITHMETIC_PRECISION = 60
# Entries; model names come from clients, so the resolution cache is bounded.
_RESOLUTION_CACHE_SIZE = 4096
# Our provider names that genai-prices recognises neither as a provider id nor
# through its own provider-matching rules (which already cover e.g. "xai").
_PROVIDER_ALIASES: dict[str, str] = {
    "togetherai": "together",
    "fireworks-ai": "fireworks",
    "fireworks_ai": "fireworks",
    "azure-openai": "azure",
    "azure_openai": "azure",
}
# Usage kinds the proxy does not measure but many catalog entries price (search
# fees, 1-hour cache writes). Stating 0 yields the same price as leaving them out,
# but spares genai-prices inferring each one, which halves the per-call time.
_UNMEASURED_CATALOG_USAGE: dict[str, int] = {
    "web_searches": 0,
    "storage_searches": 0,
    "cache_write_1h_tokens": 0,
}
# Field names validated on TokenUsage construction (money is derived from them).
_TOKEN_FIELDS = (
    "input_tokens",
    "cached_input_tokens",
    "cache_write_tokens",
    "output_tokens",
    "reasoning_tokens",
)


@dataclass(frozen=True, slots=True)
class TokenUsage:
    """Provider-neutral token counts for one call.

    The subset fields are never priced twice: ``cost_from_rates`` and
    ``catalog_cost`` charge ``uncached_input_tokens`` at the input rate and each
    subset at its own rate.
    """

    input_tokens: int = 0  # all input tokens, including cache reads and writes
    cached_input_tokens: int = 0  # cache reads (subset of input_tokens)
    cache_write_tokens: int = 0  # cache writes (subset of input_tokens)
    output_tokens: int = 0  # all output tokens, reasoning included
    reasoning_tokens: int = 0  # subset of output_tokens, priced as output

    def __post_init__(self) -> None:
        for name in _TOKEN_FIELDS:
            value = getattr(self, name)
            # bool is an int subclass; accepting it would hide a caller bug.
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative int, got {value!r}")

    @property
    def uncached_input_tokens(self) -> int:
        # Clamped because a provider's breakdown can exceed its own total; the
        # subsets are then trusted and the remainder treated as empty.
        return max(
            0, self.input_tokens - self.cached_input_tokens - self.cache_write_tokens
        )

    @property
    def plausible(self) -> bool:
        """False for counts no real call reaches (a provider's bug, or a lie)."""
        return all(getattr(self, name) <= MAX_TOKENS_PER_CALL for name in _TOKEN_FIELDS)

    @classmethod
    def from_openai(cls, usage: Mapping[str, Any] | None) -> TokenUsage | None:
        """Normalise an OpenAI (or OpenAI-compatible) ``usage`` object.

        ``prompt_tokens`` already includes ``prompt_tokens_details.cached_tokens``
        and ``completion_tokens`` already includes the reasoning tokens, so the
        totals are taken as they are. Also accepts the Responses API shape
        (``input_tokens``/``output_tokens``), DeepSeek's
        ``prompt_cache_hit_tokens`` and OpenRouter's ``cache_write_tokens``.
        Returns None when no token counts were reported.
        """
        if not isinstance(usage, Mapping):
            return None
        if "prompt_tokens" in usage or "completion_tokens" in usage:
            input_total = usage.get("prompt_tokens")
            output_total = usage.get("completion_tokens")
            input_details = _details(usage, "prompt_tokens_details")
            output_details = _details(usage, "completion_tokens_details")
        elif "input_tokens" in usage or "output_tokens" in usage:
            input_total = usage.get("input_tokens")
            output_total = usage.get("output_tokens")
            input_details = _details(usage, "input_tokens_details")
            output_details = _details(usage, "output_tokens_details")
        else:
            return None
        cached = input_details.get("cached_tokens")
        if cached is None:
            # DeepSeek's native field; prompt_tokens is hit + miss, so it is a subset.
            cached = usage.get("prompt_cache_hit_tokens")
        return cls(
            input_tokens=_count(input_total),
            cached_input_tokens=_count(cached),
            cache_write_tokens=_count(input_details.get("cache_write_tokens")),
            output_tokens=_count(output_total),
            reasoning_tokens=_count(output_details.get("reasoning_tokens")),
        )

    @classmethod
    def from_anthropic(cls, usage: Mapping[str, Any] | None) -> TokenUsage | None:
        """Normalise an Anthropic Messages API ``usage`` object.

        Anthropic's ``input_tokens`` counts only the tokens after the last cache
        breakpoint, so cache reads and writes are added back to get the total.
        Returns None when no token counts were reported.
        """
        if not isinstance(usage, Mapping):
            return None
        if "input_tokens" not in usage and "output_tokens" not in usage:
            return None
        cache_read = _count(usage.get("cache_read_input_tokens"))
        cache_write = _count(usage.get("cache_creation_input_tokens"))
        return cls(
            input_tokens=_count(usage.get("input_tokens")) + cache_read + cache_write,
            cached_input_tokens=cache_read,
            cache_write_tokens=cache_write,
            output_tokens=_count(usage.get("output_tokens")),
        )


@dataclass(frozen=True, slots=True)
class Rates:
    """Prices in USD per million tokens."""

    input: Decimal
    output: Decimal
    cached_input: Decimal | None = None  # None: cache reads cost the input rate
    cache_write: Decimal | None = None  # None: cache writes cost the input rate


# Tokens one call can plausibly report for one kind: well above any context window,
# well below the call record's columns (2**31 - 1).
MAX_TOKENS_PER_CALL = 100_000_000


def _count(value: object) -> int:
    # Usage comes from the network: null, missing or malformed counts become 0
    # rather than failing the proxied call.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    return max(0, int(value))


def _details(usage: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    # Details objects are optional and often explicitly null.
    details = usage.get(key)
    return details if isinstance(details, Mapping) else {}


def _to_money(amount: Decimal) -> Decimal:
    with localcontext(prec=_ARITHMETIC_PRECISION):
        return amount.quantize(MONEY_QUANTUM, rounding=ROUND_HALF_UP)


def _catalog_usage(usage: TokenUsage) -> CatalogUsage:
    # genai-prices rejects subsets larger than their total, so the totals are
    # raised to cover them; this matches cost_from_rates, which trusts the subsets.
    cache_read = usage.cached_input_tokens
    cache_write = usage.cache_write_tokens
    return CatalogUsage(
        input_tokens=usage.uncached_input_tokens + cache_read + cache_write,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        output_tokens=usage.output_tokens,
        # Passed so the few catalog models with a distinct reasoning rate are
        # billed exactly; for all others the catalog prices it as output.
        output_reasoning_tokens=min(usage.reasoning_tokens, usage.output_tokens),
        **_UNMEASURED_CATALOG_USAGE,
    )


def _find_provider(name: str) -> Provider | None:
    key = name.strip().lower()
    if not key:
        return None
    return find_provider_by_id(
        get_snapshot().providers, _PROVIDER_ALIASES.get(key, key)
    )


def _find_in_provider(provider: Provider, ref: str) -> ModelInfo | None:
    providers = get_snapshot().providers
    if model := provider.find_model(ref, all_providers=providers):
        return model
    # "openai/gpt-4o" sent straight to OpenAI: the vendor prefix is redundant.
    _, slash, unprefixed = ref.partition("/")
    if slash and unprefixed:
        return provider.find_model(unprefixed, all_providers=providers)
    return None


def _find_by_model_name(ref: str) -> tuple[Provider, ModelInfo] | None:
    # Same rule genai-prices applies without a provider: the first provider
    # whose model pattern claims the name (e.g. "gpt-" -> openai) decides.
    providers = get_snapshot().providers
    for provider in providers:
        if provider.model_match is not None and provider.model_match.is_match(ref):
            model = provider.find_model(ref, all_providers=providers)
            return (provider, model) if model is not None else None
    return None


@functools.lru_cache(maxsize=_RESOLUTION_CACHE_SIZE)
def _resolve(model: str, provider: str | None) -> tuple[Provider, ModelInfo] | None:
    """Map our (model, provider) names to catalog entries; cached per pair."""
    ref = model.strip().lower()
    if not ref:
        return None
    if provider is not None and (catalog_provider := _find_provider(provider)):
        # A known provider has its own prices (OpenRouter, Groq, ...); borrowing
        # another provider's price for a model it lacks would record a wrong cost.
        found = _find_in_provider(catalog_provider, ref)
        return (catalog_provider, found) if found is not None else None
    if match := _find_by_model_name(ref):
        return match
    vendor, slash, unprefixed = ref.partition("/")
    if not (slash and unprefixed):
        return None
    # "anthropic/claude-..." through a gateway the catalog does not know: price
    # it at the vendor named by the prefix, else by the bare model name.
    vendor_provider = _find_provider(vendor)
    found = _find_in_provider(vendor_provider, unprefixed) if vendor_provider else None
    if vendor_provider is not None and found is not None:
        return vendor_provider, found
    return _find_by_model_name(unprefixed)


def _rate(price: Decimal | TieredPrices | None) -> Decimal | None:
    # Tiered prices depend on the prompt size; for display the base tier is shown.
    return price.base if isinstance(price, TieredPrices) else price


def cost_from_rates(usage: TokenUsage, rates: Rates) -> Decimal:
    """Exact USD cost of ``usage`` at ``rates``, each token priced once."""
    cached_rate = rates.input if rates.cached_input is None else rates.cached_input
    write_rate = rates.input if rates.cache_write is None else rates.cache_write
    with localcontext(prec=_ARITHMETIC_PRECISION):
        total = (
            usage.uncached_input_tokens * rates.input
            + usage.cached_input_tokens * cached_rate
            + usage.cache_write_tokens * write_rate
            + usage.output_tokens * rates.output
        ) / TOKENS_PER_MILLION
    return _to_money(total)


def catalog_cost(
    model: str, usage: TokenUsage, provider: str | None = None
) -> Decimal | None:
    """Exact USD cost from the bundled genai-prices catalog, or None if unpriced.

    ``provider`` is our provider name; when the catalog does not know it, the
    model is matched by name alone. Includes any per-request fee the catalog
    lists, at the prices in force now.
    """
    resolved = _resolve(model, provider)
    if resolved is None:
        return None
    catalog_provider, model_info = resolved
    try:
        calculation = model_info.calc_price(_catalog_usage(usage), catalog_provider)
    except ValueError:
        # A malformed catalog entry must not fail the proxied call; the caller
        # records it as unpriced instead.
        logger.warning("genai-prices could not price %r", model, exc_info=True)
        return None
    prices = calculation.model_price
    if prices.input_mtok is None and prices.output_mtok is None:
        # Billed per audio minute, image, etc.; a token-based $0 would be a lie.
        return None
    return _to_money(calculation.total_price)


def catalog_rates(model: str, provider: str | None = None) -> Rates | None:
    """The catalog's current per-million-token rates for display, or None.

    Tiered prices are shown at their base tier, and models the catalog does not
    price per token (e.g. audio billed per hour) return None.
    """
    resolved = _resolve(model, provider)
    return None if resolved is None else model_rates(resolved[1])


def model_rates(model_info: ModelInfo) -> Rates | None:
    """A catalog entry's current rates, as `catalog_rates` shows them."""
    prices = model_info.get_prices(datetime.now(tz=UTC))
    input_rate = _rate(prices.input_mtok)
    output_rate = _rate(prices.output_mtok)
    if input_rate is None and output_rate is None:
        return None
    # A missing token price is free in the catalog's own calculation.
    return Rates(
        input=Decimal(0) if input_rate is None else input_rate,
        output=Decimal(0) if output_rate is None else output_rate,
        cached_input=_rate(prices.cache_read_mtok),
        cache_write=_rate(prices.cache_write_mtok),
    )


def catalog_provider_id(name: str) -> str | None:
    """The pricing catalog's id for one of our provider names, or None if unknown."""
    provider = _find_provider(name)
    return provider.id if provider is not None else None


def catalog_entry_id(model: str, provider: str | None) -> tuple[str, str] | None:
    """The (provider id, model id) of the catalog entry that prices `model` when
    it is called through `provider`, or None when the catalog has no price."""
    resolved = _resolve(model, provider)
    if resolved is None:
        return None
    return resolved[0].id, resolved[1].id
