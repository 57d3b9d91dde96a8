"""The `--account EMAIL` option of the management commands that act for an account."""

from django.core.management.base import CommandError

from accounts import services
from accounts.models import Account


def account_from_option(email: str | None) -> Account:
    """The account the e-mail names, or the only account there is when none is
    given. CommandError when there is no such account, or no single one."""
    if email:
        # iexact also finds an account stored before e-mails were lower-cased.
        account = Account.objects.filter(
            email__iexact=services.email_normalize(email)
        ).first()
        if account is None:
            raise CommandError(f"There is no account {email}.")
        return account

    accounts = list(Account.objects.order_by("email")[:2])
    if not accounts:
        raise CommandError(
            "There is no account yet: create one with manage.py createaccount EMAIL."
        )
    if len(accounts) > 1:
        raise CommandError(
            f"There are {Account.objects.count()} accounts: name one with "
            "--account EMAIL."
        )
    return accounts[0]
