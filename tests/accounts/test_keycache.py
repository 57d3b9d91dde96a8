"""The key and balance cache: shared through Redis, and failing open without it."""

import asyncio
from decimal import Decimal

import pytest

from accounts import keycache, services
from tests.factories import AccountFactory, api_key_for

pytestmark = pytest.mark.django_db(transaction=True)

# Nothing listens on port 1: every Redis command fails to connect.
UNREACHABLE_REDIS = "redis://127.0.0.1:1/0"


@pytest.fixture
def redis_down(settings):
    settings.REDIS_URL = UNREACHABLE_REDIS
    keycache.reset()
    yield
    keycache.reset()


def test_keys_still_authenticate_from_the_database_while_redis_is_down(redis_down):
    account = AccountFactory()
    raw = api_key_for(account)

    identity = services.authenticate(raw)
    again = asyncio.run(services.aauthenticate(raw))

    assert identity.account_id == again.account_id == account.pk


def test_the_credit_check_still_reads_the_database_while_redis_is_down(redis_down):
    broke = AccountFactory()
    funded = AccountFactory(credits=Decimal("1"))

    asyncio.run(services.aensure_credits(funded.pk))

    with pytest.raises(services.GatewayError) as caught:
        asyncio.run(services.aensure_credits(broke.pk))
    assert caught.value.status == 402


def test_a_debit_lowers_a_cached_balance_but_never_invents_one():
    keycache.balance_set(1, Decimal("1.5"))

    asyncio.run(keycache.abalance_debit(1, Decimal("0.25")))
    asyncio.run(keycache.abalance_debit(2, Decimal("0.25")))

    assert keycache.balance_get(1) == Decimal("1.25")
    assert keycache.balance_get(2) is None
