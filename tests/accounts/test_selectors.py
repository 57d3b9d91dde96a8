"""Credit outlooks: the burn rate from the ledger's charges and the days it leaves."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import selectors, services
from accounts.models import Account, CreditEntry
from tests.factories import AccountFactory, CallFactory

pytestmark = pytest.mark.django_db


def _charge(account: Account, usd: str, days_ago: float = 0) -> None:
    call = CallFactory(flow__account=account, cost_usd=Decimal(usd))
    services.charges_apply([services.Charge(account.pk, call.id, Decimal(usd))])
    CreditEntry.objects.filter(call_id=call.id).update(
        created_at=timezone.now() - timedelta(days=days_ago)
    )


def test_the_burn_rate_is_the_last_weeks_charges_per_day():
    account = AccountFactory(credits=Decimal("100"))
    _charge(account, "7", days_ago=1)
    _charge(account, "7", days_ago=6)
    _charge(account, "50", days_ago=9)  # older than the window
    services.credits_add(account, Decimal("-5"), "adjustment", "not a charge")

    outlook = selectors.account_outlook(account)

    assert outlook.credits_usd == Decimal("31")
    assert outlook.burn_per_day_usd == Decimal("2")
    assert outlook.days_left == pytest.approx(15.5)


def test_an_account_charged_nothing_lately_never_runs_out():
    account = AccountFactory(credits=Decimal("100"))

    outlook = selectors.account_outlook(account)

    assert (outlook.burn_per_day_usd, outlook.days_left) == (Decimal(0), None)
    assert not outlook.low and outlook.warning == ""


def test_an_overdrawn_account_has_no_days_left():
    account = AccountFactory(credits=Decimal("1"))
    _charge(account, "3")

    outlook = selectors.account_outlook(account)

    assert outlook.days_left == 0.0
    assert outlook.low_usd and outlook.low_days


def test_outlooks_list_the_accounts_that_run_out_first_and_sum_them_all(settings):
    settings.CREDIT_WARNING_USD = 0.0
    settings.CREDIT_WARNING_DAYS = 7.0
    idle = AccountFactory(email="idle@example.com", credits=Decimal("1"))
    slow = AccountFactory(email="slow@example.com", credits=Decimal("100"))
    fast = AccountFactory(email="fast@example.com", credits=Decimal("100"))
    _charge(slow, "7")  # 1 USD a day: 92 days
    _charge(fast, "70")  # 10 USD a day: 3 days

    listed, total = selectors.outlooks(limit=2)

    assert [o.email for o in listed] == ["fast@example.com", "slow@example.com"]
    assert listed[0].low_days and not listed[1].low
    assert total.credits_usd == idle.credits_usd + Decimal("123")
    assert total.burn_per_day_usd == Decimal("11")
    assert total.days_left == pytest.approx(124 / 11)


def test_accounts_at_or_below_zero_come_first_whatever_they_burn():
    rich = AccountFactory(email="rich@example.com", credits=Decimal("1000"))
    soon = AccountFactory(email="soon@example.com", credits=Decimal("100"))
    overdrawn = AccountFactory(email="overdrawn@example.com", credits=Decimal("1"))
    empty = AccountFactory(email="empty@example.com", credits=Decimal("1"))
    _charge(rich, "1")  # years left
    _charge(soon, "70")  # 3 days left
    Account.objects.filter(pk=overdrawn.pk).update(credits_usd=Decimal("-5"))
    Account.objects.filter(pk=empty.pk).update(credits_usd=Decimal(0))

    listed, total = selectors.outlooks(limit=10)

    # The debt is not netted against the others' credits.
    assert total.credits_usd == Decimal("999") + Decimal("30")
    assert [o.email for o in listed] == [
        "overdrawn@example.com",
        "empty@example.com",
        "soon@example.com",
        "rich@example.com",
    ]
