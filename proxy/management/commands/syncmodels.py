from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from proxy import modelsdev


class Command(BaseCommand):
    help = (
        "Fetch models.dev's model metadata (release dates, capabilities, limits) "
        "into the model catalog. Runs whether or not MODELS_DEV_SYNC is on."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url",
            default="",
            help=f"The document to read (default: MODELS_DEV_URL, "
            f"{settings.MODELS_DEV_URL}).",
        )

    def handle(self, *args: object, **options: str) -> None:
        result = modelsdev.sync(options["url"] or None)

        if not result.ok:
            raise CommandError(
                f"models.dev sync failed, the catalog is unchanged: {result.error}"
            )
        self.stdout.write(
            f"Synced {result.models} models from models.dev "
            f"({result.created} new to this gateway)."
        )
