from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from proxy import providers
from proxy.models import PriceOverride, Provider


@receiver([post_save, post_delete], sender=Provider)
@receiver([post_save, post_delete], sender=PriceOverride)
def forget_provider_snapshot(**kwargs: Any) -> None:
    providers.invalidate()
