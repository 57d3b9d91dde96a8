from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from flows import config, recorder
from flows.models import Flow, Route


@receiver([post_save, post_delete], sender=Flow)
def forget_flow_settings(instance: Flow, created: bool = False, **kwargs: Any) -> None:
    # Flows are made by the first call that names them, with no settings of their
    # own: such a flow changes no snapshot, and reloading it would cost that call.
    if created and instance.capture_rate is None and instance.capture_cap is None:
        return
    # On commit: a snapshot reloaded before then would keep the old values.
    transaction.on_commit(config.invalidate)
    transaction.on_commit(recorder.forget_sample_counts)


@receiver([post_save, post_delete], sender=Route)
def forget_routes(**kwargs: Any) -> None:
    transaction.on_commit(config.invalidate)
