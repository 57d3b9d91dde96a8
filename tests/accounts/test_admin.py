"""The admin pages of accounts, keys, the ledger and feedback."""

import re
from decimal import Decimal

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient

from accounts import services
from accounts.models import Account, ApiKey, CreditEntry, Feedback, hash_key
from tests.factories import AccountFactory, CallFactory, api_key_for

pytestmark = pytest.mark.django_db

FULL_KEY = re.compile(r"llmt_[A-Za-z0-9_-]{32,}")


def _action(staff: Client, url: str, action: str, ids: list[int], **fields):
    data = {"action": action, ACTION_CHECKBOX_NAME: [str(pk) for pk in ids], **fields}
    return staff.post(url, data)


def _shown_keys(response) -> list[str]:
    return FULL_KEY.findall(response.content.decode())


def _database_dump() -> str:
    """Every row of every table, as text: where a leaked key would show up."""
    rows = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            quoted = connection.ops.quote_name(table)
            cursor.execute(f"SELECT * FROM {quoted}")  # noqa: S608 (table names)
            rows += [str(row) for row in cursor.fetchall()]
    return "\n".join(rows)


# --- accounts ------------------------------------------------------------------------


def test_the_change_credits_action_first_asks_for_the_amount(staff):
    account = AccountFactory(credits=Decimal("3"))

    response = _action(
        staff, "/admin/accounts/account/", "change_credits", [account.pk]
    )

    assert response.status_code == 200
    assert b'name="amount_usd"' in response.content
    assert account.email.encode() in response.content
    assert account.ledger.count() == 1


def test_the_change_credits_action_writes_a_ledger_row_and_changes_the_balance(staff):
    first, second = AccountFactory(credits=Decimal("3")), AccountFactory()

    response = _action(
        staff,
        "/admin/accounts/account/",
        "change_credits",
        [first.pk, second.pk],
        apply="1",
        kind="topup",
        amount_usd="7.25",
        note="invoice 42",
    )

    assert response.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.credits_usd, second.credits_usd) == (
        Decimal("10.25"),
        Decimal("7.25"),
    )
    entries = CreditEntry.objects.filter(note="invoice 42")
    assert {(e.account_id, e.kind, e.amount_usd) for e in entries} == {
        (first.pk, "topup", Decimal("7.25")),
        (second.pk, "topup", Decimal("7.25")),
    }


def test_an_admin_adjustment_can_take_credits_away(staff):
    account = AccountFactory(credits=Decimal("3"))

    _action(
        staff,
        "/admin/accounts/account/",
        "change_credits",
        [account.pk],
        apply="1",
        note="correction",
        kind="adjustment",
        amount_usd="-1",
    )

    account.refresh_from_db()
    assert account.credits_usd == Decimal("2")
    assert account.ledger.first().kind == CreditEntry.Kind.ADJUSTMENT


@pytest.mark.parametrize(
    ("kind", "amount"),
    [("topup", "0"), ("topup", "-5"), ("refund", "-1"), ("topup", "lots"), ("x", "1")],
)
def test_the_change_credits_action_refuses_a_bad_amount_and_changes_nothing(
    staff, kind, amount
):
    account = AccountFactory(credits=Decimal("3"))

    response = _action(
        staff,
        "/admin/accounts/account/",
        "change_credits",
        [account.pk],
        apply="1",
        note="correction",
        kind=kind,
        amount_usd=amount,
    )

    assert response.status_code == 200
    assert b"errorlist" in response.content
    account.refresh_from_db()
    assert account.credits_usd == Decimal("3")
    assert account.ledger.count() == 1


def test_a_refund_of_more_than_was_spent_is_a_form_error_and_changes_nothing(staff):
    account = AccountFactory(credits=Decimal("3"))

    response = _action(
        staff,
        "/admin/accounts/account/",
        "change_credits",
        [account.pk],
        apply="1",
        note="correction",
        kind="refund",
        amount_usd="1",
    )

    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert b"has spent" in response.content
    account.refresh_from_db()
    assert (account.credits_usd, account.total_spent) == (Decimal("3"), Decimal(0))


def test_an_oversized_top_up_is_a_form_error_and_the_account_still_works(staff):
    account = AccountFactory(credits=Decimal("10"))
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key_for(account)}")

    response = _action(
        staff,
        "/admin/accounts/account/",
        "change_credits",
        [account.pk],
        apply="1",
        note="correction",
        kind="topup",
        amount_usd="9999999999.9999999999",
    )

    assert response.status_code == 200
    assert "at most 1,000,000 USD" in response.content.decode()
    account.refresh_from_db()
    assert account.credits_usd == Decimal("10")
    assert api.get("/api/account").status_code == 200
    assert staff.get("/admin/accounts/account/").status_code == 200


def test_a_change_one_account_cannot_hold_is_applied_to_none_of_them(staff):
    full = AccountFactory()
    Account.objects.filter(pk=full.pk).update(credits_usd=Decimal("9999999000"))
    # Created last, so listed (and changed) first: the refusal must undo it.
    roomy = AccountFactory(credits=Decimal("3"))

    response = _action(
        staff,
        "/admin/accounts/account/",
        "change_credits",
        [roomy.pk, full.pk],
        apply="1",
        note="correction",
        kind="topup",
        amount_usd="1000",
    )

    assert response.status_code == 200
    assert b"errorlist" in response.content
    assert full.email in response.content.decode()
    roomy.refresh_from_db()
    assert roomy.credits_usd == Decimal("3")
    assert not CreditEntry.objects.filter(amount_usd=Decimal("1000")).exists()


def test_the_account_balance_cannot_be_edited_by_hand(staff):
    account = AccountFactory(credits=Decimal("3"))

    response = staff.post(
        f"/admin/accounts/account/{account.pk}/change/",
        {
            "email": account.email,
            "credits_usd": "1000",
            "total_spent": "0",
            "keys-TOTAL_FORMS": "0",
            "keys-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302
    account.refresh_from_db()
    assert account.credits_usd == Decimal("3")


def test_balances_read_in_dollars_with_the_exact_amount_beside(staff):
    account = AccountFactory(credits=Decimal("19.973804352"))

    page = staff.get(f"/admin/accounts/account/{account.pk}/change/").content.decode()
    listing = staff.get("/admin/accounts/account/").content.decode()

    assert "$19.97 (19.973804352)" in page
    assert "19.9738043520" not in page
    assert "$19.97 (19.973804352)" in listing


def test_the_account_page_shows_its_keys_masked_and_its_ledger(staff):
    account = AccountFactory(credits=Decimal("3"))
    key, raw = services.api_key_create(account)

    response = staff.get(f"/admin/accounts/account/{account.pk}/change/")

    page = response.content.decode()
    assert response.status_code == 200
    assert key.masked in page
    assert raw not in page
    assert "factory" in page


def test_a_busy_accounts_page_shows_its_latest_ledger_rows_and_links_the_rest(staff):
    account, other = AccountFactory(), AccountFactory(credits=Decimal("1"))
    for n in range(25):
        services.credits_add(account, Decimal(n + 1), "topup", f"payment #{n + 1:02d}")

    page = staff.get(f"/admin/accounts/account/{account.pk}/change/")
    ledger = staff.get(f"/admin/accounts/creditentry/?account__id__exact={account.pk}")

    text = page.content.decode()
    assert "payment #25" in text and "payment #06" in text
    assert "payment #05" not in text
    assert f"/admin/accounts/creditentry/?account__id__exact={account.pk}" in text
    assert ledger.status_code == 200
    assert ledger.context["cl"].result_count == 25
    assert other.ledger.get().pk not in {e.pk for e in ledger.context["cl"].result_list}


def test_the_create_key_action_shows_the_full_key_once_and_stores_its_hash(staff):
    account = AccountFactory()

    response = _action(staff, "/admin/accounts/account/", "create_key", [account.pk])
    shown = _shown_keys(staff.get("/admin/accounts/account/"))
    shown_again = _shown_keys(staff.get("/admin/accounts/account/"))

    assert response.status_code == 302
    assert len(shown) == 1 and shown_again == []
    key = ApiKey.objects.get(account=account)
    assert key.key_hash == hash_key(shown[0])
    assert shown[0] not in _database_dump()
    assert services.authenticate(shown[0]).account_id == account.pk


# --- keys ----------------------------------------------------------------------------


def test_the_key_add_form_shows_the_full_key_once_and_stores_its_hash(staff):
    account = AccountFactory()

    response = staff.post(
        "/admin/accounts/apikey/add/", {"account": account.pk, "name": "ci"}
    )
    shown = _shown_keys(staff.get(response["Location"]))
    shown_again = _shown_keys(staff.get("/admin/accounts/apikey/"))

    assert response.status_code == 302
    assert len(shown) == 1 and shown_again == []
    key = ApiKey.objects.get(account=account)
    assert (key.name, key.key_hash) == ("ci", hash_key(shown[0]))
    assert (key.start, key.end) == (shown[0][5:9], shown[0][-4:])
    assert shown[0] not in _database_dump()


def test_the_key_pages_never_show_a_full_key(staff):
    key, raw = services.api_key_create(AccountFactory())

    pages = [
        staff.get("/admin/accounts/apikey/"),
        staff.get(f"/admin/accounts/apikey/{key.pk}/change/"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert key.masked in page.content.decode()
        assert raw not in page.content.decode()
        assert key.key_hash not in page.content.decode()


def test_the_revoke_action_revokes_and_the_key_then_gets_401(staff):
    raw = api_key_for(AccountFactory())
    key = ApiKey.objects.get()
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/account").status_code == 200

    response = _action(staff, "/admin/accounts/apikey/", "revoke", [key.pk])

    assert response.status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert api.get("/api/account").status_code == 401


def test_deleting_a_key_in_the_admin_makes_it_get_401(staff):
    raw = api_key_for(AccountFactory())
    key = ApiKey.objects.get()
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert api.get("/api/account").status_code == 200

    staff.post(f"/admin/accounts/apikey/{key.pk}/delete/", {"post": "yes"})

    assert not ApiKey.objects.exists()
    assert api.get("/api/account").status_code == 401


def test_deleting_an_account_in_the_admin_makes_its_keys_get_401(staff):
    account = AccountFactory()
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key_for(account)}")
    assert api.get("/api/account").status_code == 200

    staff.post(f"/admin/accounts/account/{account.pk}/delete/", {"post": "yes"})

    assert not Account.objects.exists()
    assert api.get("/api/account").status_code == 401


# --- the ledger and feedback ---------------------------------------------------------


def test_ledger_rows_are_read_only(staff):
    account = AccountFactory(credits=Decimal("3"))
    entry = account.ledger.get()

    add = staff.get("/admin/accounts/creditentry/add/")
    change = staff.post(
        f"/admin/accounts/creditentry/{entry.pk}/change/", {"amount_usd": "1000"}
    )
    delete = staff.post(
        f"/admin/accounts/creditentry/{entry.pk}/delete/", {"post": "yes"}
    )

    assert (add.status_code, change.status_code, delete.status_code) == (403, 403, 403)
    entry.refresh_from_db()
    assert entry.amount_usd == Decimal("3")
    assert staff.get("/admin/accounts/creditentry/").status_code == 200


def test_feedback_sent_through_the_api_is_listed_in_the_admin(staff):
    account = AccountFactory(email="agent@example.com")
    api = APIClient(HTTP_AUTHORIZATION=f"Bearer {api_key_for(account)}")
    api.post(
        "/api/feedback",
        {"rating": 2, "agent_model": "o3-pro-agent", "agent_environment": "zed"},
        format="json",
    )

    response = staff.get("/admin/accounts/feedback/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "o3-pro-agent" in page and "zed" in page and "agent@example.com" in page
    feedback = Feedback.objects.get()
    assert (
        staff.get(f"/admin/accounts/feedback/{feedback.pk}/change/").status_code == 200
    )


def test_feedback_cannot_be_added_in_the_admin(staff):
    response = staff.get("/admin/accounts/feedback/add/")

    assert response.status_code == 403


# --- credits from an account's page, the ledger and the low-credit warning ------------


def _account_page(account: Account) -> str:
    return f"/admin/accounts/account/{account.pk}/change/"


def _credits_page(account: Account) -> str:
    return f"/admin/accounts/account/{account.pk}/credits/"


def test_an_accounts_page_links_to_its_credits_form(staff):
    account = AccountFactory(credits=Decimal("30"))

    page = staff.get(_account_page(account)).content.decode()
    form = staff.get(_credits_page(account))

    assert f'href="{_credits_page(account)}"' in page
    assert form.status_code == 200
    assert b'name="amount_usd"' in form.content and b'name="note"' in form.content
    assert b'name="action"' not in form.content


def test_credits_added_from_an_accounts_page_are_a_ledger_row_with_the_reason(staff):
    account = AccountFactory(credits=Decimal("30"))

    response = staff.post(
        _credits_page(account),
        {"apply": "1", "kind": "topup", "amount_usd": "12.5", "note": "invoice 77"},
    )

    assert response.status_code == 302
    assert response["Location"] == _account_page(account)
    account.refresh_from_db()
    assert account.credits_usd == Decimal("42.5")
    entry = account.ledger.first()
    assert (entry.kind, entry.amount_usd, entry.note) == (
        "topup",
        Decimal("12.5"),
        "invoice 77",
    )
    assert "invoice 77" in staff.get(_account_page(account)).content.decode()


def test_a_credit_change_needs_a_reason(staff):
    account = AccountFactory(credits=Decimal("30"))

    response = staff.post(
        _credits_page(account),
        {"apply": "1", "kind": "adjustment", "amount_usd": "-2", "note": ""},
    )

    assert response.status_code == 200
    assert response.context["form"].errors["note"] == ["This field is required."]
    account.refresh_from_db()
    assert account.credits_usd == Decimal("30")


def test_the_credits_page_of_an_unknown_account_is_a_404(staff):
    assert staff.get("/admin/accounts/account/999999/credits/").status_code == 404


def test_an_accounts_page_shows_its_ledger_newest_first(staff):
    account = AccountFactory(credits=Decimal("30"))
    services.credits_add(account, Decimal("-1.5"), "adjustment", "goodwill reversal")

    page = staff.get(_account_page(account)).content.decode()

    assert 'id="account-ledger"' in page
    assert page.index("goodwill reversal") < page.index("factory")


def _charge(account: Account, usd: str) -> None:
    call = CallFactory(flow__account=account, cost_usd=Decimal(usd))
    services.charges_apply([services.Charge(account.pk, call.id, Decimal(usd))])


def test_an_account_below_the_warning_level_is_shown_as_low(staff, settings):
    settings.CREDIT_WARNING_USD = 5.0
    account = AccountFactory(credits=Decimal("4"))

    page = staff.get(_account_page(account)).content.decode()

    assert 'id="low-credit"' in page
    assert "below the 5 USD warning level" in page


def test_an_account_that_burns_through_its_credits_within_the_days_is_low(
    staff, settings
):
    settings.CREDIT_WARNING_USD = 1.0
    settings.CREDIT_WARNING_DAYS = 7.0
    account = AccountFactory(credits=Decimal("50"))
    _charge(account, "14")  # 2 USD a day over the week: 18 days left

    relaxed = staff.get(_account_page(account)).content.decode()
    settings.CREDIT_WARNING_DAYS = 30.0
    strict = staff.get(_account_page(account)).content.decode()

    assert 'id="low-credit"' not in relaxed
    assert "18.0 days left at that rate" in relaxed
    assert 'id="low-credit"' in strict
    assert "fewer than 30 days at the current burn" in strict


def test_an_accounts_outlook_reads_like_the_dashboard(staff):
    account = AccountFactory(credits=Decimal("1000"))
    _charge(account, "0.0007")  # 0.0001 USD a day: ages left

    page = staff.get(_account_page(account)).content.decode()

    assert "$1,000.00 left; burning $0.0001 a day" in page
    assert "over a year left at that rate" in page
    assert "days left" not in page


def test_the_ledger_writes_tiny_amounts_without_an_exponent(staff):
    account = AccountFactory(credits=Decimal("30"))
    _charge(account, "0.0000000001")

    page = staff.get(_account_page(account)).content.decode()

    ledger = page[page.index('id="account-ledger"') :]
    assert "-0.0000000001" in ledger
    assert "1E-10" not in ledger
