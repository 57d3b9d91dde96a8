"""The `createaccount` management command."""

import io
import re
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from accounts import services
from accounts.models import Account, ApiKey, CreditEntry, hash_key

pytestmark = pytest.mark.django_db


def _run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("createaccount", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_it_creates_the_account_and_prints_the_key_once_on_stdout():
    out, err = _run("new@example.com", "--credits", "25", "--key-name", "laptop")

    key = out.strip()
    account = Account.objects.get(email="new@example.com")
    assert re.fullmatch(r"llmt_[A-Za-z0-9_-]{32,}", key)
    assert out.count(key) == 1 and key not in err
    assert ApiKey.objects.get(account=account, name="laptop").key_hash == hash_key(key)
    assert services.authenticate(key).account_id == account.pk


def test_the_initial_credits_are_a_ledger_top_up():
    _run("new@example.com", "--credits", "25")

    account = Account.objects.get(email="new@example.com")
    entry = CreditEntry.objects.get(account=account)
    assert account.credits_usd == Decimal("25")
    assert (entry.kind, entry.amount_usd) == (CreditEntry.Kind.TOPUP, Decimal("25"))


def test_run_again_it_adds_a_second_key_to_the_existing_account():
    first, _ = _run("team@example.com")

    second, _ = _run("team@example.com")

    assert first.strip() != second.strip()
    assert Account.objects.count() == 1
    assert ApiKey.objects.filter(account__email="team@example.com").count() == 2


@pytest.mark.parametrize(
    "args",
    [
        ("bad@example.com", "--credits", "ten"),
        ("bad@example.com", "--credits", "-1"),
        ("bad@example.com", "--credits", "NaN"),
        ("bad@example.com", "--credits", "Infinity"),
        ("bad@example.com", "--credits", "9999999999.9999999999"),
        ("bad@example.com", "--credits", "0.00000000001"),
        ("not-an-email",),
    ],
)
def test_it_refuses_bad_input_and_creates_nothing(args):
    with pytest.raises(CommandError):
        _run(*args)

    assert not Account.objects.exists()
    assert not ApiKey.objects.exists()


def test_it_refuses_credits_for_an_existing_account():
    _run("team@example.com")

    with pytest.raises(CommandError):
        _run("team@example.com", "--credits", "5")

    assert Account.objects.get().credits_usd == 0
    assert ApiKey.objects.count() == 1


def test_it_says_why_oversized_credits_are_refused():
    with pytest.raises(CommandError, match="at most 1,000,000 USD"):
        _run("big@example.com", "--credits", "9999999999.9999999999")


def test_an_email_in_another_case_is_the_same_account():
    _run("YOU@example.com")

    _run("you@EXAMPLE.com")

    account = Account.objects.get()
    assert account.email == "you@example.com"
    assert ApiKey.objects.filter(account=account).count() == 2
