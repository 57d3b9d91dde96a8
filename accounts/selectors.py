"""Reads over accounts and the ledger for the admin: balances, burn rate and how
long the credits last."""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import (
    Case,
    DecimalField,
    F,
    IntegerField,
    Q,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from accounts.models import Account, CreditEntry

# Days of charges the burn rate is averaged over: a week smooths out weekends.
BURN_WINDOW_DAYS = 7

# Zero in the money columns' type, for Coalesce over an empty Sum.
ZERO_USD = Value(
    Decimal(0), output_field=DecimalField(max_digits=20, decimal_places=10)
)


@dataclass(frozen=True, slots=True)
class CreditOutlook:
    account_id: int
    email: str
    credits_usd: Decimal
    # USD charged per day, averaged over the last BURN_WINDOW_DAYS days.
    burn_per_day_usd: Decimal
    # None when nothing was charged in the window: the credits do not run out.
    days_left: float | None
    # Below CREDIT_WARNING_USD; and fewer than CREDIT_WARNING_DAYS days left.
    low_usd: bool
    low_days: bool

    @property
    def low(self) -> bool:
        return self.low_usd or self.low_days

    @property
    def warning(self) -> str:
        """Why the credits count as low, for the operator; "" when they do not."""
        reasons = []
        if self.low_usd:
            reasons.append(
                f"below the {settings.CREDIT_WARNING_USD:g} USD warning level"
            )
        if self.low_days:
            reasons.append(
                f"fewer than {settings.CREDIT_WARNING_DAYS:g} days at the current burn"
            )
        return " and ".join(reasons)


def outlook(
    account_id: int, email: str, credits_usd: Decimal, charged_usd: Decimal
) -> CreditOutlook:
    """The outlook of a balance that was charged `charged_usd` over the window."""
    burn = charged_usd / BURN_WINDOW_DAYS
    days_left = None if burn <= 0 else max(0.0, float(credits_usd / burn))
    return CreditOutlook(
        account_id=account_id,
        email=email,
        credits_usd=credits_usd,
        burn_per_day_usd=burn,
        days_left=days_left,
        low_usd=credits_usd < Decimal(str(settings.CREDIT_WARNING_USD)),
        low_days=days_left is not None and days_left < settings.CREDIT_WARNING_DAYS,
    )


def _charged() -> CombinedExpression:
    """What an account's charges took over the window (annotate accounts with it)."""
    since = timezone.now() - timedelta(days=BURN_WINDOW_DAYS)
    charges = Q(ledger__kind=CreditEntry.Kind.CHARGE, ledger__created_at__gte=since)
    # Charges are negative ledger rows.
    return -Coalesce(Sum("ledger__amount_usd", filter=charges), ZERO_USD)


def account_outlook(account: Account) -> CreditOutlook:
    """One account's credits, burn rate and days left (one query)."""
    row = (
        Account.objects.filter(pk=account.pk)
        .annotate(charged=_charged())
        .values_list("credits_usd", "charged")
    )
    credits, charged = row.get()
    return outlook(account.pk, account.email, credits, charged)


def outlooks(limit: int) -> tuple[list[CreditOutlook], CreditOutlook]:
    """The `limit` accounts whose credits run out first (those already at or below
    zero first of all, those burning nothing last), and the outlook of all accounts
    together, on the credits of those that have some (three queries)."""
    # Already out: 0 sorts before 1, whatever the account burns.
    spent = Case(
        When(credits_usd__lte=0, then=Value(0)),
        default=Value(1),
        output_field=IntegerField(),
    )
    # Days left, up to the constant BURN_WINDOW_DAYS: enough to order by.
    runway = Case(
        When(GreaterThan(F("charged"), 0), then=F("credits_usd") / F("charged")),
        default=None,
        output_field=DecimalField(max_digits=30, decimal_places=10),
    )
    rows = (
        Account.objects.annotate(charged=_charged())
        .annotate(runway=runway, spent=spent)
        .order_by("spent", F("runway").asc(nulls_last=True), "credits_usd", "email")
        .values_list("pk", "email", "credits_usd", "charged")[:limit]
    )
    # What is left to spend: an overdrawn account's debt is not netted against the
    # others' credits (it is shown in its own row, first).
    credits = Account.objects.filter(credits_usd__gt=0).aggregate(
        total=Coalesce(Sum("credits_usd"), ZERO_USD)
    )
    since = timezone.now() - timedelta(days=BURN_WINDOW_DAYS)
    charged = CreditEntry.objects.filter(
        kind=CreditEntry.Kind.CHARGE, created_at__gte=since
    ).aggregate(total=Coalesce(Sum("amount_usd"), ZERO_USD))
    total = outlook(0, "all accounts", credits["total"], -charged["total"])
    return [outlook(*row) for row in rows], total
