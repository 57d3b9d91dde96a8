from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import money_field
from proxy import secretbox

# USD per million tokens: the most a price can be. A call's cost must fit the money
# columns (10 digits before the point); a call counts at most 100M tokens of each
# of the 4 kinds (pricing.MAX_TOKENS_PER_CALL), which at this price is 4,000,000
# USD, well inside them.
MAX_PRICE_PER_MTOK_USD = 10_000
# A price is never below zero: a negative one would pay the caller for each call.
_PRICE_RANGE = [MinValueValidator(0), MaxValueValidator(MAX_PRICE_PER_MTOK_USD)]


class Provider(models.Model):
    """A provider configured in the admin, in addition to those from the environment.

    The key is stored encrypted; only its last characters are ever shown.
    """

    class Kind(models.TextChoices):
        OPENAI = "openai", "OpenAI"
        ANTHROPIC = "anthropic", "Anthropic"
        OPENAI_COMPATIBLE = "openai_compatible", "OpenAI-compatible"

    name = models.SlugField(
        max_length=50,
        unique=True,
        help_text="Used as the prefix in 'name/model' ids, e.g. 'groq'.",
    )
    kind = models.CharField(
        max_length=20, choices=Kind.choices, default=Kind.OPENAI_COMPATIBLE
    )
    base_url = models.URLField(
        max_length=300, help_text="e.g. https://api.groq.com/openai/v1"
    )
    api_key_encrypted = models.TextField(blank=True, editable=False)
    api_key_hint = models.CharField(max_length=10, blank=True, editable=False)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def set_api_key(self, plain: str) -> None:
        self.api_key_encrypted = secretbox.encrypt(plain) if plain else ""
        self.api_key_hint = secretbox.hint(plain) if plain else ""

    def get_api_key(self) -> str:
        return secretbox.decrypt(self.api_key_encrypted, provider=self.name)


class PriceOverride(models.Model):
    """An operator's price for a model (USD per million tokens); wins over the catalog.

    Empty cached-input and cache-write prices mean "charged at the input price".
    """

    model = models.CharField(
        max_length=200,
        unique=True,
        help_text="Model id as served, with or without the provider prefix.",
    )
    input_per_mtok = money_field(validators=_PRICE_RANGE)
    cached_input_per_mtok = money_field(null=True, blank=True, validators=_PRICE_RANGE)
    cache_write_per_mtok = money_field(null=True, blank=True, validators=_PRICE_RANGE)
    output_per_mtok = money_field(validators=_PRICE_RANGE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model"]

    def __str__(self) -> str:
        return self.model


class CatalogModel(models.Model):
    """What the gateway keeps about a model of its catalog between restarts: when it
    first saw it, and the release date and capabilities synced from models.dev.

    Prices, context windows and deprecation come from the pricing package at run
    time (proxy.catalog); only what no package ships is stored here.
    """

    provider = models.CharField(
        max_length=100,
        help_text="The pricing catalog's provider id (e.g. 'openai'), or the name of "
        "the configured provider for models the catalog does not know.",
    )
    model = models.CharField(max_length=200)
    # The models present when the gateway first read its catalog have a first-seen
    # date that says nothing about how new they are.
    baseline = models.BooleanField(
        default=False, help_text="Already known when the catalog was first recorded."
    )
    name = models.CharField(max_length=200, blank=True, default="")
    release_date = models.DateField(null=True, blank=True)
    context_window = models.PositiveIntegerField(null=True, blank=True)
    output_limit = models.PositiveIntegerField(null=True, blank=True)
    tool_call = models.BooleanField(null=True, blank=True)
    reasoning = models.BooleanField(null=True, blank=True)
    attachment = models.BooleanField(null=True, blank=True)
    input_modalities = models.JSONField(default=list, blank=True)
    output_modalities = models.JSONField(default=list, blank=True)
    synced_at = models.DateTimeField(
        null=True, blank=True, help_text="When models.dev last described the model."
    )
    created_at = models.DateTimeField(
        default=timezone.now, help_text="When the gateway first saw the model."
    )

    class Meta:
        ordering = ["provider", "model"]
        constraints = [
            models.UniqueConstraint(
                fields=["provider", "model"], name="catalog_model_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"
