"""The Celery app. Benchmarks use it when REDIS_URL is set (see llmtest.jobs)."""

import os
from typing import Any

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmtest.settings")

app = Celery("llmtest")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def _refuse_without_redis(**kwargs: Any) -> None:
    """A worker without a broker would wait forever for tasks nobody can send it."""
    from django.conf import settings

    if settings.JOBS_RUNNER != "celery":
        raise SystemExit(
            "This gateway runs benchmarks in its own process (no REDIS_URL); a "
            "worker is only needed with REDIS_URL set."
        )


@signals.worker_ready.connect
def _watch_benchmarks(**kwargs: Any) -> None:
    """Each worker checks every unfinished benchmark now and then, so that a run
    whose worker died ends even when no gateway process is following it."""
    from benchmarks import watchdog

    watchdog.start_sweeper()
