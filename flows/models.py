import uuid

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

from accounts.models import Account, money_field

# A flow name as it may appear in the X-Flow header.
FLOW_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$"


class Flow(models.Model):
    """A named stream of calls from one app (`X-Flow: support-bot`)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    capture_rate = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of this flow's calls kept as samples (0-1). Empty: the "
        "SAMPLE_CAPTURE_RATE setting.",
    )
    capture_cap = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Most captured samples kept for this flow. Empty: the "
        "SAMPLE_CAPTURE_CAP setting.",
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["account", "name"], name="flow_unique_name_per_account"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Call(models.Model):
    """One call that went through the gateway, proxied or made by a benchmark."""

    class Outcome(models.TextChoices):
        OK = "ok", "OK"
        UPSTREAM_ERROR = "upstream_error", "Upstream error"
        TIMEOUT = "timeout", "Timeout"
        CANCELLED = "cancelled", "Client cancelled"

    class Source(models.TextChoices):
        PROXY = "proxy", "Proxy"
        BENCHMARK = "benchmark", "Benchmark"
        JUDGE = "judge", "Benchmark judge"

    # Made when the request arrives, so the ledger can name the call before the row
    # is written.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="calls")
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="calls")
    source = models.CharField(
        max_length=20, choices=Source.choices, default=Source.PROXY
    )
    api = models.CharField(max_length=30, help_text="chat.completions or messages")
    requested_model = models.CharField(max_length=200)
    served_model = models.CharField(max_length=200)
    provider = models.CharField(max_length=100)
    stream = models.BooleanField(default=False)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    http_status = models.PositiveSmallIntegerField()
    input_tokens = models.PositiveIntegerField(
        default=0, help_text="All input tokens, cache reads and writes included."
    )
    cached_input_tokens = models.PositiveIntegerField(default=0)
    cache_write_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(
        default=0, help_text="All output tokens, reasoning included."
    )
    reasoning_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.FloatField()
    ttft_ms = models.FloatField(null=True, blank=True)
    cost_usd = money_field(null=True, blank=True)
    priced = models.BooleanField(default=False)
    usage_estimated = models.BooleanField(
        default=False,
        help_text="The provider reported no usage: the token counts (and the cost) "
        "are estimated from the text, about four characters per token.",
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Serves the per-flow stats and a flow's recent calls.
            models.Index(
                fields=["account", "flow", "-created_at"], name="call_by_flow"
            ),
            # Serves the admin's and the status endpoint's newest-first listings.
            models.Index(fields=["account", "-created_at"], name="call_by_account"),
        ]

    def __str__(self) -> str:
        return f"{self.flow} {self.served_model} {self.outcome}"


class Sample(models.Model):
    """One conversation of a flow, replayed by benchmarks.

    Seeded through the API or captured from live traffic (with the production
    answer). `digest` is the SHA-256 of the messages' canonical JSON, so the same
    conversation is stored once per flow.
    """

    class Source(models.TextChoices):
        SEEDED = "seeded", "Seeded"
        CAPTURED = "captured", "Captured"

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="samples")
    messages = models.JSONField()
    answer = models.TextField(blank=True, default="")
    model = models.CharField(max_length=200, blank=True, default="")
    source = models.CharField(max_length=20, choices=Source.choices)
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "digest"], name="sample_unique_per_flow"
            )
        ]

    def __str__(self) -> str:
        return f"{self.flow} sample {self.pk}"


class Route(models.Model):
    """Serve a flow's calls for one model with another.

    Written when an operator accepts a suggestion (or in the admin); the proxy
    reads the active ones. Switching a route off restores the requested model.
    """

    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="routes")
    from_model = models.CharField(
        max_length=200, help_text="The model the app asks for."
    )
    to_model = models.CharField(max_length=200, help_text="The model that serves it.")
    active = models.BooleanField(default=True)
    note = models.CharField(max_length=300, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["flow", "from_model"],
                condition=models.Q(active=True),
                name="route_one_active_per_model",
            )
        ]

    def __str__(self) -> str:
        return f"{self.flow}: {self.from_model} -> {self.to_model}"
