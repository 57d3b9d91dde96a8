from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from accounts import services
from accounts.models import Account


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

        # iexact also finds an account stored before e-mails were lower-cased.
        account = Account.objects.filter(email__iexact=email).first()
        if account is None:
            account = _account_create(email, credits_usd)
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
    return services.email_normalize(text)


def _credits(text: str) -> Decimal:
    try:
        credits_usd = Decimal(text)
    except InvalidOperation as error:
        raise CommandError("--credits must be a number of USD.") from error
    if not credits_usd.is_finite():
        raise CommandError("--credits must be a number of USD.")
    if credits_usd < 0:
        raise CommandError("--credits cannot be negative.")
    return credits_usd


def _account_create(email: str, credits_usd: Decimal) -> Account:
    try:
        return services.account_create(email, credits_usd)
    except ValueError as error:
        raise CommandError(f"--credits: {error}") from error
