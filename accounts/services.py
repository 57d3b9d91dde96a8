"""Everything that changes an account: keys, authentication, credits and the ledger."""

import logging
import re
import secrets
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import F, QuerySet, Value
from django.utils import timezone

from accounts import keycache
from accounts.keycache import KeyIdentity
from accounts.models import KEY_PREFIX, Account, ApiKey, CreditEntry, hash_key
from llmtest.errors import GatewayError

logger = logging.getLogger(__name__)

# Random characters after "llmt_": 40 url-safe characters carry 240 bits.
_KEY_RANDOM_CHARS = 40
_KEY_SHAPE = re.compile(rf"^{KEY_PREFIX}[A-Za-z0-9_-]{{32,128}}$")

# USD: the most one top-up, adjustment or refund may move. Far above any real
# payment; a typo of a few extra digits is refused instead of credited.
MAX_CREDIT_CHANGE_USD = Decimal(1_000_000)
# The money columns keep 10 decimal places: a finer amount cannot be stored.
_MONEY_QUANTUM = Decimal("1e-10")
# USD: the widest balance the money columns (10 digits before the point) read back
# on every database. SQLite stores them as floats and reads 15 significant digits,
# so a balance within 0.0001 of 10^10 comes back as 10^10, which no longer fits.
_MAX_BALANCE_USD = Decimal(10**10 - 1)


@dataclass(frozen=True, slots=True)
class Charge:
    """What one call costs an account, as the call recorder hands it over."""

    account_id: int
    call_id: uuid.UUID
    amount_usd: Decimal
    note: str = ""


# --- accounts and keys --------------------------------------------------------------


def account_create(email: str, credits_usd: Decimal = Decimal(0)) -> Account:
    """Create an account, with its initial credits as a top-up.

    The e-mail is stored in lower case. Raises ValueError, before anything is
    written, for negative credits or credits that `credit_amount_check` refuses.
    """
    if credits_usd:
        credit_amount_check(credits_usd)
        if credits_usd < 0:
            raise ValueError("Initial credits cannot be negative.")

    with transaction.atomic():
        account = Account.objects.create(email=email_normalize(email))
        if credits_usd:
            credits_add(account, credits_usd, CreditEntry.Kind.TOPUP, "initial credits")
    account.refresh_from_db()
    return account


def email_normalize(email: str) -> str:
    """One account per address, however its letters are cased."""
    return email.strip().lower()


def api_key_create(account: Account, name: str = "") -> tuple[ApiKey, str]:
    """Mint a key. Returns the row and the full key, which is never stored."""
    raw = KEY_PREFIX + _random_key_body()
    key = ApiKey.objects.create(
        account=account,
        name=name,
        key_hash=hash_key(raw),
        start=raw[len(KEY_PREFIX) : len(KEY_PREFIX) + 4],
        end=raw[-4:],
    )
    return key, raw


def _random_key_body() -> str:
    # token_urlsafe may yield fewer characters after stripping; loop until long enough.
    body = ""
    while len(body) < _KEY_RANDOM_CHARS:
        body += secrets.token_urlsafe(_KEY_RANDOM_CHARS)
    return body[:_KEY_RANDOM_CHARS]


def api_key_revoke(key: ApiKey) -> bool:
    """Revoke a key; the shared cache forgets it, so it stops working at once.

    Returns False when the shared cache was unreachable: the key is revoked in the
    database, but a process that cached it may accept it for up to
    AUTH_CACHE_TTL_S more seconds.
    """
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    forgotten = api_key_forget(key.key_hash)
    logger.info("api_key.revoked", extra={"key_id": key.pk})
    if not forgotten:
        logger.error("api_key.revocation_not_propagated", extra={"key_id": key.pk})
    return forgotten


def api_key_forget(key_hash: str) -> bool:
    """Stop a revoked or deleted key at once, in every process sharing the cache.

    The cached identity is dropped now. Until the change commits, a request on
    another connection still reads the key as valid from the database and may cache
    it again, and one that read it just before may cache it just after; so once
    committed the key is cached as refused, which such late writes never replace.
    """
    forgotten = keycache.identity_forget(key_hash)
    transaction.on_commit(lambda: keycache.identity_refuse(key_hash))
    return forgotten


# --- authentication -----------------------------------------------------------------


def key_from_headers(authorization: str | None, x_api_key: str | None) -> str:
    """Pull the gateway key out of `Authorization: Bearer` or `x-api-key`."""
    raw = ""
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer":
            raise GatewayError(401, "Authorization must be 'Bearer llmt_…'.")
        raw = value.strip()
    elif x_api_key:
        raw = x_api_key.strip()
    if not raw:
        raise GatewayError(401, "Missing API key: send 'Authorization: Bearer llmt_…'.")
    if not _KEY_SHAPE.match(raw):
        raise GatewayError(
            401,
            "Malformed API key: a gateway key is 'llmt_' and at least 32 more "
            "characters.",
        )
    return raw


def authenticate(raw_key: str) -> KeyIdentity:
    """Resolve a key to its account, from the cache when it can. Raises 401."""
    key_hash = hash_key(raw_key)
    cached = keycache.identity_get(key_hash)
    if cached is None:
        cached = _identity_from_db(key_hash)
        keycache.identity_set(key_hash, cached)
    return _known(cached)


async def aauthenticate(raw_key: str) -> KeyIdentity:
    key_hash = hash_key(raw_key)
    cached = await keycache.aidentity_get(key_hash)
    if cached is None:
        cached = await sync_to_async(_identity_from_db)(key_hash)
        await keycache.aidentity_set(key_hash, cached)
    return _known(cached)


def _known(cached: KeyIdentity | bool | None) -> KeyIdentity:
    if not isinstance(cached, KeyIdentity):
        raise GatewayError(401, "Invalid API key: it is unknown or was revoked.")
    return cached


def _identity_from_db(key_hash: str) -> KeyIdentity | None:
    key = (
        ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True)
        .only("id", "account_id", "start", "end")
        .first()
    )
    if key is None:
        return None
    return KeyIdentity(key_id=key.pk, account_id=key.account_id, masked=key.masked)


# --- credits ------------------------------------------------------------------------


async def aensure_credits(account_id: int) -> None:
    """Refuse a call (402) when the account has nothing left to spend.

    The overdraft policy: a call is let through while the balance is above zero, and
    every call let through is charged in full once it finishes, since its cost is
    known only then. The balance can thus end below zero by the cost of the calls in
    flight when it crossed zero; from then on calls get 402 until a top-up.
    """
    balance = await keycache.abalance_get(account_id)
    if balance is None:
        balance = await sync_to_async(_balance_from_db)(account_id)
        await keycache.abalance_set(account_id, balance)
    if balance <= 0:
        raise GatewayError(
            402,
            "This account has no credits left; top it up to make more calls.",
            code="insufficient_credits",
        )


def _balance_from_db(account_id: int) -> Decimal:
    balance = (
        Account.objects.filter(pk=account_id)
        .values_list("credits_usd", flat=True)
        .first()
    )
    return balance if balance is not None else Decimal(0)


def credit_amount_check(amount_usd: Decimal) -> None:
    """Raise ValueError, with a message for the operator, for an amount no single
    credit change may carry: not a number, zero at the columns' 10 decimal places,
    finer than them, or larger than MAX_CREDIT_CHANGE_USD either way.
    """
    if not amount_usd.is_finite():
        raise ValueError("The amount must be a number of USD.")
    if abs(amount_usd) > MAX_CREDIT_CHANGE_USD:
        raise ValueError(
            f"One credit change can move at most {MAX_CREDIT_CHANGE_USD:,} USD; "
            "split a larger amount into several."
        )
    if amount_usd == 0:
        raise ValueError("The amount cannot be zero.")
    if amount_usd.quantize(_MONEY_QUANTUM) == 0:
        raise ValueError("The amount is zero at 10 decimal places.")
    if amount_usd != amount_usd.quantize(_MONEY_QUANTUM):
        raise ValueError("The amount can have at most 10 decimal places.")


def credits_add(
    account: Account, amount_usd: Decimal, kind: str, note: str = ""
) -> CreditEntry:
    """Add (or with a negative amount, take) credits, with its ledger row.

    Raises ValueError, and writes nothing, for an amount `credit_amount_check`
    refuses, one that would take the balance (or, for a refund, the total spent)
    beyond what the money columns hold, or a refund larger than the total spent.
    """
    if kind == CreditEntry.Kind.CHARGE:
        raise ValueError("charges are written by charges_apply")
    credit_amount_check(amount_usd)
    spent_change = -amount_usd if kind == CreditEntry.Kind.REFUND else Decimal(0)

    with transaction.atomic():
        # The bounds are part of the UPDATE, so two changes racing on one account
        # cannot pass them together.
        changed = _within_money_bounds(
            Account.objects.filter(pk=account.pk), amount_usd, spent_change
        ).update(
            credits_usd=F("credits_usd") + amount_usd,
            total_spent=F("total_spent") + spent_change,
        )
        if not changed:
            raise _change_refused(account, spent_change)
        entry = CreditEntry.objects.create(
            account=account, kind=kind, amount_usd=amount_usd, note=note
        )
        transaction.on_commit(lambda: _refresh_cached_balances([account.pk]))
    logger.info(
        "credits.added",
        extra={"account_id": account.pk, "kind": kind, "amount_usd": str(amount_usd)},
    )
    return entry


def _within_money_bounds(
    accounts: QuerySet[Account], credits_change: Decimal, spent_change: Decimal
) -> QuerySet[Account]:
    """The accounts whose balance and total spent stay storable after the change,
    and whose total spent, if the change lowers it (a refund), stays at or above 0.
    """
    # A refund gives back at most what was spent. Only a change that lowers the
    # total is held to zero, so an account already below zero can still be topped up.
    lowest_spent = Decimal(0) if spent_change < 0 else -_MAX_BALANCE_USD
    # Compared in SQL as `column + change`: a bound moved by the change instead
    # could itself be too wide for the column's type.
    return accounts.alias(
        new_credits=F("credits_usd") + Value(credits_change),
        new_spent=F("total_spent") + Value(spent_change),
    ).filter(
        new_credits__range=(-_MAX_BALANCE_USD, _MAX_BALANCE_USD),
        new_spent__range=(lowest_spent, _MAX_BALANCE_USD),
    )


def _change_refused(account: Account, spent_change: Decimal) -> ValueError:
    """Why `_within_money_bounds` let no row through; reads the account again."""
    spent = (
        Account.objects.filter(pk=account.pk)
        .values_list("total_spent", flat=True)
        .first()
    )
    if spent is not None and spent_change < 0 and spent + spent_change < 0:
        return ValueError(
            f"A refund of {-spent_change.normalize():f} USD is more than the "
            f"{spent.normalize():f} USD {account} has spent; a refund gives back "
            "at most what was spent."
        )
    return ValueError(
        f"This change would take the balance of {account} beyond "
        f"±{_MAX_BALANCE_USD:,} USD, the most an account can hold."
    )


def charges_apply(charges: Iterable[Charge]) -> None:
    """Debit a batch of calls: ledger rows and balances, all or nothing.

    Runs in its own atomic block (a savepoint inside the caller's transaction), so
    ledger rows are never written without their balance change. Each account is
    updated with one `F()` expression, so concurrent batches never lose a debit; the
    unique `call_id` on the ledger makes a replayed charge raise IntegrityError
    instead of charging twice.
    """
    totals: dict[int, Decimal] = defaultdict(Decimal)
    entries = []
    for charge in charges:
        if charge.amount_usd <= 0:
            continue
        totals[charge.account_id] += charge.amount_usd
        entries.append(
            CreditEntry(
                account_id=charge.account_id,
                kind=CreditEntry.Kind.CHARGE,
                amount_usd=-charge.amount_usd,
                call_id=charge.call_id,
                note=charge.note,
            )
        )
    if not entries:
        return

    with transaction.atomic():
        CreditEntry.objects.bulk_create(entries)
        for account_id, total in totals.items():
            Account.objects.filter(pk=account_id).update(
                credits_usd=F("credits_usd") - total,
                total_spent=F("total_spent") + total,
            )
        transaction.on_commit(lambda: _refresh_cached_balances(list(totals)))


def _refresh_cached_balances(account_ids: list[int]) -> None:
    rows = Account.objects.filter(pk__in=account_ids).values_list("pk", "credits_usd")
    for account_id, balance in rows:
        keycache.balance_set(account_id, balance)
