"""Credits and the ledger: every change of a balance is a ledger row."""

import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.db.models import Sum

from accounts import keycache, services
from accounts.models import Account, CreditEntry
from accounts.services import Charge
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db


def _ledger_sum(account: Account) -> Decimal:
    total = CreditEntry.objects.filter(account=account).aggregate(s=Sum("amount_usd"))
    return total["s"] or Decimal(0)


def _charge(account: Account, amount: str, call_id: uuid.UUID | None = None) -> Charge:
    return Charge(account.pk, call_id or uuid.uuid4(), Decimal(amount), "support-bot")


def test_a_top_up_writes_a_ledger_row_and_raises_the_balance():
    account = AccountFactory()

    entry = services.credits_add(account, Decimal("5"), CreditEntry.Kind.TOPUP, "card")

    account.refresh_from_db()
    assert account.credits_usd == Decimal("5")
    assert account.total_spent == 0
    assert (entry.kind, entry.amount_usd, entry.note) == ("topup", Decimal("5"), "card")
    assert entry.call_id is None


def test_a_negative_adjustment_takes_credits_away_without_counting_as_spend():
    account = AccountFactory(credits=Decimal("5"))

    services.credits_add(account, Decimal("-1.5"), CreditEntry.Kind.ADJUSTMENT)

    account.refresh_from_db()
    assert account.credits_usd == Decimal("3.5")
    assert account.total_spent == 0
    assert _ledger_sum(account) == Decimal("3.5")


def test_a_refund_gives_credits_back_and_lowers_the_total_spent():
    account = AccountFactory(credits=Decimal("5"))
    with transaction.atomic():
        services.charges_apply([_charge(account, "2")])

    services.credits_add(account, Decimal("0.5"), CreditEntry.Kind.REFUND, "bad answer")

    account.refresh_from_db()
    assert account.credits_usd == Decimal("3.5")
    assert account.total_spent == Decimal("1.5")
    assert _ledger_sum(account) == Decimal("3.5")


def test_a_refund_larger_than_the_total_spent_is_refused_and_writes_nothing():
    account = AccountFactory(credits=Decimal("5"))
    with transaction.atomic():
        services.charges_apply([_charge(account, "2")])

    with pytest.raises(ValueError, match=r"more than the 2 USD .* has spent"):
        services.credits_add(account, Decimal("2.5"), CreditEntry.Kind.REFUND)

    account.refresh_from_db()
    assert (account.credits_usd, account.total_spent) == (Decimal("3"), Decimal("2"))
    assert not account.ledger.filter(kind=CreditEntry.Kind.REFUND).exists()


def test_a_refund_of_everything_spent_brings_the_total_spent_to_zero():
    account = AccountFactory(credits=Decimal("5"))
    with transaction.atomic():
        services.charges_apply([_charge(account, "2")])

    services.credits_add(account, Decimal("2"), CreditEntry.Kind.REFUND)

    account.refresh_from_db()
    assert (account.credits_usd, account.total_spent) == (Decimal("5"), Decimal(0))


def test_a_refund_checks_the_total_spent_in_the_database_not_a_stale_copy():
    account = AccountFactory(credits=Decimal("5"))
    with transaction.atomic():
        services.charges_apply([_charge(account, "2")])
    Account.objects.filter(pk=account.pk).update(total_spent=Decimal("0.5"))
    account.total_spent = Decimal("2")

    with pytest.raises(ValueError, match=r"more than the 0\.5 USD"):
        services.credits_add(account, Decimal("1"), CreditEntry.Kind.REFUND)

    account.refresh_from_db()
    assert account.total_spent == Decimal("0.5")


def test_charges_are_written_only_by_charges_apply():
    account = AccountFactory()

    with pytest.raises(ValueError):
        services.credits_add(account, Decimal("-1"), CreditEntry.Kind.CHARGE)

    assert not CreditEntry.objects.filter(account=account).exists()


def test_a_batch_of_charges_debits_each_account_and_names_each_call():
    first, second = AccountFactory(credits=Decimal("1")), AccountFactory()
    charges = [_charge(first, "0.25"), _charge(first, "0.5"), _charge(second, "0.125")]

    with transaction.atomic():
        services.charges_apply(charges)

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.credits_usd, first.total_spent) == (Decimal("0.25"), Decimal("0.75"))
    assert second.credits_usd == Decimal("-0.125")
    rows = CreditEntry.objects.filter(kind=CreditEntry.Kind.CHARGE)
    assert {row.call_id for row in rows} == {charge.call_id for charge in charges}
    assert {row.note for row in rows} == {"support-bot"}


def test_a_free_call_writes_no_ledger_row():
    account = AccountFactory(credits=Decimal("1"))

    with transaction.atomic():
        services.charges_apply([_charge(account, "0")])

    account.refresh_from_db()
    assert account.credits_usd == Decimal("1")
    assert not CreditEntry.objects.filter(kind=CreditEntry.Kind.CHARGE).exists()


def test_a_call_charged_twice_fails_and_leaves_the_first_charge_alone():
    account = AccountFactory(credits=Decimal("1"))
    call_id = uuid.uuid4()
    with transaction.atomic():
        services.charges_apply([_charge(account, "0.25", call_id)])

    with pytest.raises(IntegrityError), transaction.atomic():
        services.charges_apply([_charge(account, "0.25", call_id)])

    account.refresh_from_db()
    assert account.credits_usd == Decimal("0.75")
    assert account.total_spent == Decimal("0.25")
    assert CreditEntry.objects.filter(call_id=call_id).count() == 1


def test_a_replayed_batch_rolls_back_the_new_charges_it_carried():
    account = AccountFactory(credits=Decimal("1"))
    seen = _charge(account, "0.25")
    with transaction.atomic():
        services.charges_apply([seen])

    with pytest.raises(IntegrityError):
        services.charges_apply([_charge(account, "0.5"), seen])

    account.refresh_from_db()
    assert account.credits_usd == Decimal("0.75")
    assert _ledger_sum(account) == Decimal("0.75")


def test_the_balance_always_equals_the_ledger_sum_after_a_mix_of_changes():
    account = AccountFactory(credits=Decimal("10"))

    services.credits_add(account, Decimal("2.5"), CreditEntry.Kind.TOPUP)
    with transaction.atomic():
        services.charges_apply([_charge(account, "0.0000123"), _charge(account, "3")])
    services.credits_add(account, Decimal("-0.5"), CreditEntry.Kind.ADJUSTMENT)
    services.credits_add(account, Decimal("1"), CreditEntry.Kind.REFUND)

    account.refresh_from_db()
    assert account.credits_usd == Decimal("9.9999877")
    assert account.credits_usd == _ledger_sum(account)
    assert account.total_spent == Decimal("2.0000123")


def test_a_new_account_with_credits_has_them_as_its_first_ledger_row():
    account = services.account_create("new@example.com", Decimal("20"))

    entry = CreditEntry.objects.get(account=account)

    assert account.credits_usd == Decimal("20")
    assert (entry.kind, entry.amount_usd) == (CreditEntry.Kind.TOPUP, Decimal("20"))


def test_a_top_up_refreshes_the_cached_balance_once_committed(
    django_capture_on_commit_callbacks,
):
    account = AccountFactory()
    keycache.balance_set(account.pk, Decimal(0))

    with django_capture_on_commit_callbacks(execute=True):
        services.credits_add(account, Decimal("3"), CreditEntry.Kind.TOPUP)

    assert keycache.balance_get(account.pk) == Decimal("3")


@pytest.mark.parametrize(
    "amount",
    ["9999999999.9999999999", "1000000.0000000001", "-1000000.5", "NaN", "Infinity"],
)
def test_a_change_beyond_the_cap_or_not_a_number_is_refused_and_writes_nothing(
    amount,
):
    account = AccountFactory(credits=Decimal("3"))

    with pytest.raises(ValueError):
        services.credits_add(account, Decimal(amount), CreditEntry.Kind.ADJUSTMENT)

    account.refresh_from_db()
    assert account.credits_usd == Decimal("3")
    assert account.ledger.count() == 1


def test_a_change_of_exactly_the_cap_is_accepted():
    account = AccountFactory()

    services.credits_add(
        account, services.MAX_CREDIT_CHANGE_USD, CreditEntry.Kind.TOPUP
    )

    account.refresh_from_db()
    assert account.credits_usd == Decimal(1_000_000)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        ("0", "cannot be zero"),
        ("0.00000000001", "zero at 10 decimal places"),
        ("-0.00000000004", "zero at 10 decimal places"),
        ("1.00000000001", "at most 10 decimal places"),
    ],
)
def test_an_amount_that_is_zero_or_too_fine_for_the_ledger_is_refused(amount, message):
    account = AccountFactory()

    with pytest.raises(ValueError, match=message):
        services.credits_add(account, Decimal(amount), CreditEntry.Kind.ADJUSTMENT)

    assert not account.ledger.exists()


def test_a_change_that_would_take_the_balance_past_the_column_is_refused():
    account = AccountFactory()
    Account.objects.filter(pk=account.pk).update(credits_usd=Decimal("9999500000"))

    with pytest.raises(ValueError, match="beyond"):
        services.credits_add(account, Decimal("500000"), CreditEntry.Kind.TOPUP)

    account.refresh_from_db()
    assert account.credits_usd == Decimal("9999500000")
    assert not account.ledger.exists()


def test_a_new_account_stores_its_email_in_lower_case():
    account = services.account_create("  YOU@Example.com ")

    assert account.email == "you@example.com"


def test_a_new_account_with_credits_beyond_the_cap_is_not_created():
    with pytest.raises(ValueError, match="at most 1,000,000 USD"):
        services.account_create("big@example.com", Decimal("9999999999.9999999999"))

    assert not Account.objects.exists()


def test_a_new_account_cannot_start_with_negative_credits():
    with pytest.raises(ValueError, match="cannot be negative"):
        services.account_create("new@example.com", Decimal("-5"))

    assert not Account.objects.exists()
