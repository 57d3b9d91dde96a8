from django.db import models
from django.utils import timezone

from accounts.models import Account
from benchmarks.models import Benchmark
from flows.models import Flow


class Suggestion(models.Model):
    """A model switch for a flow, filed when a benchmark recommends a challenger."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="suggestions"
    )
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="suggestions")
    benchmark = models.ForeignKey(
        Benchmark, on_delete=models.SET_NULL, null=True, related_name="suggestions"
    )
    current_model = models.CharField(max_length=200)
    suggested_model = models.CharField(max_length=200)
    optimize_for = models.CharField(max_length=20)
    summary = models.CharField(max_length=500)
    # cost_change_pct, latency_change_ms, quality {win_or_tie_rate, low, high}, ...
    figures = models.JSONField(default=dict)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING
    )
    superseded_by = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "status"], name="suggestion_by_status")
        ]

    def __str__(self) -> str:
        return f"{self.flow}: {self.current_model} -> {self.suggested_model}"
