"""The background call recorder: every call it can write is written and charged."""

from decimal import Decimal

import pytest

from accounts.models import Account
from flows import recorder
from flows.models import Call, Flow
from flows.recorder import CallRecord
from tests.conftest import settle
from tests.factories import AccountFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _record(account_id: int, **fields) -> CallRecord:
    values = {
        "account_id": account_id,
        "flow": "support-bot",
        "api": "chat.completions",
        "requested_model": "gpt-4o-mini",
        "served_model": "gpt-4o-mini",
        "provider": "openai",
        "stream": False,
        "outcome": Call.Outcome.OK,
        "http_status": 200,
        "latency_ms": 120.0,
        "cost_usd": Decimal("0.25"),
        "priced": True,
        **fields,
    }
    call = CallRecord(**values)
    recorder.record(call)
    return call


@pytest.fixture
def one_batch(settings) -> None:
    """Calls recorded within 250 ms of each other are written together."""
    settings.RECORDER_FLUSH_MS = 250


def test_a_recorded_call_is_written_with_its_charge():
    account = AccountFactory(credits=Decimal("1"))

    call = _record(account.pk)
    settle()

    account.refresh_from_db()
    written = Call.objects.get(pk=call.id)
    assert (written.flow.name, written.cost_usd) == ("support-bot", Decimal("0.25"))
    assert account.credits_usd == Decimal("0.75")
    assert account.ledger.get(call_id=call.id).amount_usd == Decimal("-0.25")


def test_a_call_of_a_deleted_account_does_not_take_its_batch_down(one_batch):
    gone, kept = AccountFactory(), AccountFactory(credits=Decimal("1"))
    gone_id = gone.pk
    Account.objects.filter(pk=gone_id).delete()

    _record(gone_id)
    call = _record(kept.pk)
    settle()

    kept.refresh_from_db()
    assert list(Call.objects.values_list("pk", flat=True)) == [call.id]
    assert kept.credits_usd == Decimal("0.75")


def test_a_call_whose_flow_was_deleted_meanwhile_is_still_written():
    account = AccountFactory(credits=Decimal("1"))
    _record(account.pk)
    settle()
    Flow.objects.all().delete()

    call = _record(account.pk)
    settle()

    assert Call.objects.get().pk == call.id
    assert Flow.objects.get().name == "support-bot"


def test_a_model_id_longer_than_its_column_is_cut_and_the_call_still_charged(
    one_batch,
):
    account = AccountFactory(credits=Decimal("1"))
    long_model = "local/" + "m" * 300

    call = _record(account.pk, requested_model=long_model, served_model=long_model)
    settle()

    account.refresh_from_db()
    written = Call.objects.get(pk=call.id)
    assert written.requested_model == long_model[:200]
    assert account.credits_usd == Decimal("0.75")


def test_a_batch_waits_for_a_database_that_is_briefly_unreachable(
    settings, monkeypatch
):
    # The database "goes away" for the first two tries of the batch.
    from django.db import OperationalError

    monkeypatch.setattr(recorder, "_RETRY_DELAY_S", 0.01)
    failures = iter([OperationalError("connection refused")] * 2)
    real_bulk_create = Call.objects.bulk_create

    def flaky_bulk_create(rows, *args, **kwargs):
        error = next(failures, None)
        if error is not None:
            raise error
        return real_bulk_create(rows, *args, **kwargs)

    monkeypatch.setattr(Call.objects, "bulk_create", flaky_bulk_create)
    account = AccountFactory(credits=Decimal("5"))

    _record(account.pk)
    settle()

    assert Call.objects.filter(account=account).count() == 1
    assert Account.objects.get(pk=account.pk).credits_usd == Decimal("4.75")
