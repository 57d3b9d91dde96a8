"""Minting, storing, revoking and authenticating gateway keys (accounts.services)."""

import re

import pytest

from accounts import keycache, services
from accounts.models import ApiKey, hash_key
from llmtest.errors import GatewayError
from tests.factories import AccountFactory, api_key_for

pytestmark = pytest.mark.django_db


def _row_text(key: ApiKey) -> str:
    """Every column of the key's row as the database holds it, joined."""
    row = ApiKey.objects.filter(pk=key.pk).values().get()
    return " ".join(str(value) for value in row.values())


def test_a_new_key_is_llmt_followed_by_at_least_32_random_characters():
    account = AccountFactory()

    _, first = services.api_key_create(account)
    _, second = services.api_key_create(account)

    assert re.fullmatch(r"llmt_[A-Za-z0-9_-]{32,}", first)
    assert first != second
    assert first[5:37] != second[5:37]


def test_only_the_hash_and_the_display_characters_of_a_key_are_stored():
    account = AccountFactory()

    key, raw = services.api_key_create(account, name="ci")

    row = _row_text(key)
    assert raw not in row
    assert raw[5:] not in row
    assert key.key_hash == hash_key(raw) and key.key_hash in row
    assert (key.start, key.end) == (raw[5:9], raw[-4:])
    assert key.masked == f"llmt_{raw[5:9]}…{raw[-4:]}"


def test_a_key_authenticates_as_its_account():
    account = AccountFactory()
    key, raw = services.api_key_create(account)

    identity = services.authenticate(raw)

    assert (identity.account_id, identity.key_id) == (account.pk, key.pk)
    assert identity.masked == key.masked


def test_an_unknown_key_is_refused_with_401():
    unknown = "llmt_" + "x" * 40

    with pytest.raises(GatewayError) as caught:
        services.authenticate(unknown)

    assert caught.value.status == 401


def test_a_revoked_key_stops_working_even_after_it_was_cached():
    key, raw = services.api_key_create(AccountFactory())
    services.authenticate(raw)
    assert isinstance(keycache.identity_get(key.key_hash), keycache.KeyIdentity)

    services.api_key_revoke(key)

    assert keycache.identity_get(key.key_hash) is None
    with pytest.raises(GatewayError) as caught:
        services.authenticate(raw)
    assert caught.value.status == 401


def test_revoking_a_key_twice_keeps_the_first_revocation_time():
    key, _ = services.api_key_create(AccountFactory())
    services.api_key_revoke(key)
    first = ApiKey.objects.get(pk=key.pk).revoked_at

    services.api_key_revoke(ApiKey.objects.get(pk=key.pk))

    assert ApiKey.objects.get(pk=key.pk).revoked_at == first


def test_a_deleted_key_stops_working_even_after_it_was_cached():
    key, raw = services.api_key_create(AccountFactory())
    services.authenticate(raw)

    key.delete()

    with pytest.raises(GatewayError) as caught:
        services.authenticate(raw)
    assert caught.value.status == 401


def test_revoking_one_key_leaves_the_accounts_other_keys_working():
    account = AccountFactory()
    revoked, _ = services.api_key_create(account)
    kept = api_key_for(account)

    services.api_key_revoke(revoked)

    assert services.authenticate(kept).account_id == account.pk


@pytest.mark.parametrize(
    ("authorization", "x_api_key", "message"),
    [
        (None, None, "Missing API key"),
        ("", "", "Missing API key"),
        ("Bearer ", None, "Missing API key"),
        ("Basic dXNlcjpwYXNz", None, "Bearer"),
        ("Bearer sk-not-a-gateway-key-00000000000000000000", None, "Malformed"),
        ("Bearer llmt_short", None, "Malformed"),
        (None, "llmt_" + "a" * 200, "Malformed"),
    ],
)
def test_a_missing_or_malformed_key_is_refused_with_401(
    authorization, x_api_key, message
):
    with pytest.raises(GatewayError) as caught:
        services.key_from_headers(authorization, x_api_key)

    assert caught.value.status == 401
    assert message in caught.value.message


def test_the_key_is_read_from_bearer_or_from_x_api_key():
    raw = "llmt_" + "k" * 40

    from_bearer = services.key_from_headers(f"bearer  {raw} ", None)
    from_header = services.key_from_headers(None, f" {raw}")

    assert from_bearer == from_header == raw


def test_a_key_revoked_while_a_request_reads_it_is_not_cached_as_valid(
    monkeypatch, django_capture_on_commit_callbacks
):
    key, raw = services.api_key_create(AccountFactory())
    read_from_db = services._identity_from_db

    def read_then_revoked(key_hash: str) -> keycache.KeyIdentity | None:
        identity = read_from_db(key_hash)
        with django_capture_on_commit_callbacks(execute=True):
            services.api_key_revoke(ApiKey.objects.get(pk=key.pk))
        return identity

    monkeypatch.setattr(services, "_identity_from_db", read_then_revoked)
    services.authenticate(raw)
    monkeypatch.undo()

    with pytest.raises(GatewayError) as caught:
        services.authenticate(raw)
    assert caught.value.status == 401


def test_a_flood_of_made_up_keys_does_not_grow_the_local_cache_without_end(
    settings, monkeypatch
):
    settings.REDIS_URL = ""
    keycache.reset()
    monkeypatch.setattr(keycache, "_LOCAL_MAX_ENTRIES", 100)
    key, raw = services.api_key_create(AccountFactory())

    for n in range(1000):
        with pytest.raises(GatewayError):
            services.authenticate(f"llmt_made-up-{n:032d}")
    services.authenticate(raw)

    assert len(keycache._get_store()) <= 100
    assert keycache.identity_get(key.key_hash) is not None
