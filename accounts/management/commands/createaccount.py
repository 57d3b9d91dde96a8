from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts import services
from accounts.models import Account

# USD: the credit columns hold 10 digits before the decimal point.
_MAX_CREDITS = Decimal(10) ** 10


class Command(BaseCommand):
    help = (
        "Create an account (or add a key to an existing one) and print a new key once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email")
        parser.add_argument(
            "--credits", default="0", help="USD of prepaid credits for a new account."
        )
        parser.add_argument("--key-name", default="", help="A label for the key.")

    def handle(self, *args: object, **options: str) -> None:
        email = _email(options["email"])
        credits_usd = _credits(options["credits"])

        account = Account.objects.filter(email=email).first()
        if account is None:
            account = services.account_create(email, credits_usd)
            self.stderr.write(
                f"Created account {account.email} with {credits_usd} USD."
            )
        elif credits_usd:
            raise CommandError("The account exists; add credits in the admin instead.")
        _, raw_key = services.api_key_create(account, options["key_name"])

        self.stderr.write("Your API key (shown once, store it now):")
        self.stdout.write(raw_key)


def _email(text: str) -> str:
    try:
        validate_email(text)
    except ValidationError as error:
        raise CommandError(f"'{text}' is not an email address.") from error
    return text


def _credits(text: str) -> Decimal:
    try:
        credits_usd = Decimal(text)
    except InvalidOperation as error:
        raise CommandError("--credits must be a number of USD.") from error
    if not credits_usd.is_finite() or not 0 <= credits_usd < _MAX_CREDITS:
        raise CommandError(f"--credits must be between 0 and {_MAX_CREDITS} USD.")
    return credits_usd
