from typing import Any

from django.db.models.signals import post_delete
from django.dispatch import receiver

from accounts import services
from accounts.models import ApiKey


@receiver(post_delete, sender=ApiKey)
def forget_deleted_key(instance: ApiKey, **kwargs: Any) -> None:
    """A deleted key (alone, or with its account) must stop working at once."""
    services.api_key_forget(instance.key_hash)
