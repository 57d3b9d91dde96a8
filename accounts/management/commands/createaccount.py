from decimal import Decimal, InvalidOperation

from django.core.management.base import BaseCommand, CommandError, CommandParser

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
        try:
            credits_usd = Decimal(options["credits"])
        except InvalidOperation as error:
            raise CommandError("--credits must be a number of USD.") from error
        if credits_usd < 0:
            raise CommandError("--credits cannot be negative.")

        account = Account.objects.filter(email=options["email"]).first()
        if account is None:
            account = services.account_create(options["email"], credits_usd)
            self.stderr.write(
                f"Created account {account.email} with {credits_usd} USD."
            )
        elif credits_usd:
            raise CommandError("The account exists; add credits in the admin instead.")
        _, raw_key = services.api_key_create(account, options["key_name"])

        self.stderr.write("Your API key (shown once, store it now):")
        self.stdout.write(raw_key)
