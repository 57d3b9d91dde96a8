import hashlib
from decimal import Decimal
from typing import Any

from django.db import models
from django.utils import timezone


def money_field(**options: Any) -> models.DecimalField:
    """A USD amount. 10 decimal places: one cheap call can cost well under a cent."""
    return models.DecimalField(max_digits=20, decimal_places=10, **options)


KEY_PREFIX = "llmt_"


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def mask_key(start: str, end: str) -> str:
    return f"{KEY_PREFIX}{start}…{end}"


class Account(models.Model):
    """A customer of the gateway, holding prepaid credits.

    `credits_usd` is a running balance that always equals the sum of the account's
    ledger rows; only `accounts.services` changes it, together with a ledger row.
    """

    email = models.EmailField(unique=True)
    credits_usd = money_field(default=Decimal(0))
    total_spent = money_field(default=Decimal(0))
    created_at = models.DateTimeField(default=timezone.now)

    # DRF checks `request.user.is_authenticated`; an account found by key is.
    is_authenticated = True

    def __str__(self) -> str:
        return self.email


class ApiKey(models.Model):
    """A gateway key. Only its SHA-256 hash and a few display characters are kept."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="keys")
    name = models.CharField(max_length=100, blank=True)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    start = models.CharField(max_length=4, editable=False)
    end = models.CharField(max_length=4, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return self.masked

    @property
    def masked(self) -> str:
        return mask_key(self.start, self.end)


class CreditEntry(models.Model):
    """One change of an account's credits: the ledger."""

    class Kind(models.TextChoices):
        TOPUP = "topup", "Top-up"
        CHARGE = "charge", "Call charge"
        ADJUSTMENT = "adjustment", "Adjustment"
        REFUND = "refund", "Refund"

    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="ledger"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Signed: positive adds credits, negative takes them.
    amount_usd = money_field()
    # The call a charge is for; unique so that a call is never charged twice.
    call_id = models.UUIDField(null=True, blank=True, unique=True)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "credit entries"
        ordering = ["-created_at", "-id"]
        # Serves the account's ledger page, newest first.
        indexes = [
            models.Index(fields=["account", "-created_at"], name="ledger_by_account")
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.amount_usd} USD"


class Feedback(models.Model):
    account = models.ForeignKey(
        Account, on_delete=models.CASCADE, related_name="feedback"
    )
    rating = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    agent_model = models.CharField(max_length=200)
    agent_environment = models.CharField(max_length=200)
    task_summary = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "feedback"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__gte=1, rating__lte=5),
                name="feedback_rating_1_to_5",
            )
        ]

    def __str__(self) -> str:
        return f"{self.rating}/5 from {self.account}"
