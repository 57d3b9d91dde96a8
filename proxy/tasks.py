"""Periodic work of the proxy app (scheduled by Celery beat, see settings)."""

import logging

from celery import shared_task
from django.conf import settings

from proxy import modelsdev

logger = logging.getLogger(__name__)


@shared_task(
    name="proxy.sync_models", acks_late=True, time_limit=300, soft_time_limit=240
)
def sync_models() -> None:
    """Sync models.dev's metadata into the catalog, when MODELS_DEV_SYNC is on.

    A failed sync is logged and left for the next run: the document changes slowly
    and the catalog works without it, so it is not retried at once.
    """
    if not settings.MODELS_DEV_SYNC:
        logger.info("modelsdev.sync_disabled")
        return
    modelsdev.sync()
