"""The provider registry: which provider serves a model id, and at what price.

Providers come from the environment (OpenAI, Anthropic and any OpenAI-compatible ones
named in OPENAI_COMPATIBLE_PROVIDERS) and from the admin; price overrides from the
admin. Both tables are read into one snapshot that each process keeps for
CONFIG_CACHE_TTL_S seconds, so the hot path reads no table.
"""

import logging
import os
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings

from llmtest.errors import GatewayError
from llmtest.snapshots import Cached
from proxy.models import PriceOverride, Provider
from proxy.pricing import (
    Rates,
    TokenUsage,
    catalog_cost,
    catalog_rates,
    cost_from_rates,
)

logger = logging.getLogger(__name__)

# Model id prefixes that belong to a provider without naming it.
_OPENAI_FAMILIES = ("gpt-", "o1", "o3", "o4", "chatgpt-", "text-embedding-", "davinci")
_ANTHROPIC_FAMILIES = ("claude-",)


@dataclass(frozen=True, slots=True)
class ProviderConfig:
    name: str
    kind: str
    base_url: str
    api_key: str = field(repr=False)

    @property
    def speaks_openai(self) -> bool:
        return self.kind != Provider.Kind.ANTHROPIC

    @property
    def catalog_name(self) -> str:
        """The name the pricing catalog knows this provider by."""
        return self.kind if self.kind != Provider.Kind.OPENAI_COMPATIBLE else self.name


@dataclass(frozen=True, slots=True)
class Resolved:
    provider: ProviderConfig
    model: str  # the id the provider itself knows, without our prefix


@dataclass(frozen=True, slots=True)
class Snapshot:
    providers: dict[str, ProviderConfig]
    overrides: dict[str, Rates]

    def resolve(self, model: str) -> Resolved:
        """Pick the provider for a model id. Raises GatewayError(400) when none fits."""
        prefix, slash, rest = model.partition("/")
        if slash and prefix in self.providers and rest:
            return Resolved(self.providers[prefix], rest)
        name = _family_provider(model) or settings.DEFAULT_PROVIDER
        if name and name in self.providers:
            return Resolved(self.providers[name], model)
        if name:
            raise GatewayError(
                400,
                f"The model '{model}' belongs to the provider '{name}', which is not "
                "configured on this gateway.",
                param="model",
                code="provider_not_configured",
            )
        raise GatewayError(
            400,
            f"No configured provider serves the model '{model}'. Use 'provider/model' "
            "with a configured provider name.",
            param="model",
            code="model_not_found",
        )

    def override(self, resolved: Resolved) -> Rates | None:
        """An operator's price for the model: as `provider/model`, else bare."""
        qualified = f"{resolved.provider.name}/{resolved.model}"
        return self.overrides.get(qualified) or self.overrides.get(resolved.model)

    def rates(self, resolved: Resolved) -> Rates | None:
        """What a call of the model is charged per million tokens: the override,
        else the catalog's current rates; None when neither prices it."""
        return self.override(resolved) or catalog_rates(
            resolved.model, resolved.provider.catalog_name
        )

    def price(self, resolved: Resolved, usage: TokenUsage) -> Decimal | None:
        """Exact cost of a call: an operator's override first, then the catalog."""
        rates = self.override(resolved)
        if rates is not None:
            return cost_from_rates(usage, rates)
        return catalog_cost(resolved.model, usage, resolved.provider.catalog_name)


def _family_provider(model: str) -> str | None:
    if model.startswith(_ANTHROPIC_FAMILIES):
        return "anthropic"
    if model.startswith(_OPENAI_FAMILIES):
        return "openai"
    return None


def _env_providers() -> dict[str, ProviderConfig]:
    providers = {
        "openai": ProviderConfig(
            "openai",
            Provider.Kind.OPENAI,
            settings.OPENAI_BASE_URL,
            settings.OPENAI_API_KEY,
        ),
        "anthropic": ProviderConfig(
            "anthropic",
            Provider.Kind.ANTHROPIC,
            settings.ANTHROPIC_BASE_URL,
            settings.ANTHROPIC_API_KEY,
        ),
    }
    for name, base_url in settings.OPENAI_COMPATIBLE_PROVIDERS.items():
        key = _env_key(name)
        providers[name] = ProviderConfig(
            name, Provider.Kind.OPENAI_COMPATIBLE, base_url, key
        )
    return providers


def _env_key(name: str) -> str:
    variable = name.upper().replace("-", "_") + "_API_KEY"
    return os.environ.get(variable, "")


def _load() -> Snapshot:
    providers = _env_providers()
    for row in Provider.objects.filter(enabled=True):
        providers[row.name] = ProviderConfig(
            row.name, row.kind, row.base_url, row.get_api_key()
        )
    overrides = {
        row.model: Rates(
            input=row.input_per_mtok,
            output=row.output_per_mtok,
            cached_input=row.cached_input_per_mtok,
            cache_write=row.cache_write_per_mtok,
        )
        for row in PriceOverride.objects.all()
    }
    return Snapshot(providers, overrides)


_cached = Cached(_load, "providers")
snapshot = _cached.get
asnapshot = _cached.aget
# Forget the snapshot in this process (other processes refresh within the TTL).
invalidate = _cached.invalidate
