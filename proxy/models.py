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
