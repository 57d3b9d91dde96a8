"""The key and balance cache: shared through Redis, and failing open without it."""

import asyncio
from decimal import Decimal

import pytest
from asgiref.sync import async_to_sync

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
    again = async_to_sync(services.aauthenticate)(raw)

    assert identity.account_id == again.account_id == account.pk


def test_the_credit_check_still_reads_the_database_while_redis_is_down(redis_down):
    broke = AccountFactory()
    funded = AccountFactory(credits=Decimal("1"))

    async_to_sync(services.aensure_credits)(funded.pk)

    with pytest.raises(services.GatewayError) as caught:
        async_to_sync(services.aensure_credits)(broke.pk)
    assert caught.value.status == 402


def test_a_debit_lowers_a_cached_balance_but_never_invents_one():
    keycache.balance_set(1, Decimal("1.5"))

    asyncio.run(keycache.abalance_debit(1, Decimal("0.25")))
    asyncio.run(keycache.abalance_debit(2, Decimal("0.25")))

    assert keycache.balance_get(1) == Decimal("1.25")
    assert keycache.balance_get(2) is None


def test_after_a_redis_failure_redis_is_left_alone_for_a_moment(redis_down):
    store = keycache._get_store()

    store.get("llmt:key:anything")

    assert not store._usable()


def test_once_redis_answers_again_every_cached_identity_is_read_afresh(settings):
    import redis

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis on 127.0.0.1:6379")
    settings.REDIS_URL = url
    keycache.reset()
    identity = keycache.KeyIdentity(key_id=1, account_id=1, masked="llmt_abcd…wxyz")
    keycache.identity_set("somehash", identity)
    store = keycache._get_store()

    store._outage(redis.ConnectionError("a blip"))
    store._skip_until = 0.0  # the pause is over
    after = keycache.identity_get("somehash")

    assert after is None
    keycache.reset()


def test_revoking_while_redis_is_unreachable_says_the_revocation_may_lag(
    redis_down,
):
    account = AccountFactory()
    key, _ = services.api_key_create(account)

    propagated = services.api_key_revoke(key)

    assert propagated is False
    key.refresh_from_db()
    assert key.revoked_at is not None
