"""A run's state changes, shared by the tasks, the relay and the API.

Each change is a conditional UPDATE, so that two workers (or a worker and a relay
that finds the run stalled) cannot both end a run: exactly one `result` or `error`
event is published.
"""

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from benchmarks import events, results
from benchmarks.models import Answer, Benchmark, Judgment, StepStatus

logger = logging.getLogger(__name__)

FINAL_STEPS = (StepStatus.DONE, StepStatus.FAILED)


# --- steps --------------------------------------------------------------------------


def steps_done(benchmark_id: Any) -> int:
    return (
        Answer.objects.filter(benchmark_id=benchmark_id, status__in=FINAL_STEPS).count()
        + Judgment.objects.filter(
            benchmark_id=benchmark_id, status__in=FINAL_STEPS
        ).count()
    )


def mark_running(benchmark_id: Any) -> bool:
    now = timezone.now()
    return bool(
        Benchmark.objects.filter(
            pk=benchmark_id, status=Benchmark.Status.QUEUED
        ).update(status=Benchmark.Status.RUNNING, started_at=now, progressed_at=now)
    )


def touch(benchmark_id: Any) -> bool:
    """Note that a step finished; False once the run has ended or is being
    aggregated, when the step's progress is no longer worth publishing (it would
    come after the run's `aggregating` or final event)."""
    return bool(
        Benchmark.objects.filter(
            pk=benchmark_id, status=Benchmark.Status.RUNNING, aggregating=False
        ).update(progressed_at=timezone.now())
    )


def fail(benchmark_id: Any, message: str, code: str) -> bool:
    """Mark a run failed and publish its one `error` event (once), with what its
    calls cost until then."""
    error = {"message": message, "code": code, "spend": results.spend(benchmark_id)}
    failed = Benchmark.objects.filter(
        pk=benchmark_id, status__in=(Benchmark.Status.QUEUED, Benchmark.Status.RUNNING)
    ).update(status=Benchmark.Status.FAILED, error=error, finished_at=timezone.now())
    if failed:
        logger.warning(
            "benchmarks.failed", extra={"benchmark": str(benchmark_id), "code": code}
        )
        events.publish(benchmark_id, events.ERROR, error)
    return bool(failed)


def settle_spend(benchmark_id: Any) -> None:
    """Bring a failed run's stored error up to what its calls cost by now: calls in
    flight when it failed finish, and are charged, after its `error` event went
    out with the figure of that moment."""
    failed = Benchmark.objects.filter(pk=benchmark_id, status=Benchmark.Status.FAILED)
    error = failed.values_list("error", flat=True).first()
    if error is None:
        return
    failed.update(error={**error, "spend": results.spend(benchmark_id)})


def fail_if_stalled(benchmark_id: Any) -> None:
    """Fail a run nobody is working on: queued with no worker taking it, or running
    with no step finished for BENCHMARK_STALL_TIMEOUT_S (its worker died)."""
    row = (
        Benchmark.objects.filter(pk=benchmark_id)
        .values("status", "created_at", "progressed_at", "rescues")
        .first()
    )
    if row is None:
        return
    now = timezone.now()
    if row["status"] == Benchmark.Status.QUEUED:
        waited = (now - row["created_at"]).total_seconds()
        if waited > settings.BENCHMARK_START_TIMEOUT_S:
            fail(
                benchmark_id,
                f"No worker started the benchmark within {waited:.0f} s. Is a "
                "Celery worker running (celery -A llmtest worker)?",
                "no_worker",
            )
    elif row["status"] == Benchmark.Status.RUNNING:
        idle = (now - row["progressed_at"]).total_seconds()
        if idle > settings.BENCHMARK_STALL_TIMEOUT_S:
            again = (
                f" since its unfinished steps were queued again ({row['rescues']} "
                f"time{'' if row['rescues'] == 1 else 's'})"
                if row["rescues"]
                else ""
            )
            fail(
                benchmark_id,
                f"No step of the benchmark finished for {idle:.0f} s{again}; the "
                "worker running it may have stopped.",
                "stalled",
            )


def claim_rescue(benchmark_id: Any, most: int) -> bool:
    """Take a rescue of a running run that stalled, if it has had fewer than
    `most`: True for the one caller that may queue its steps again."""
    now = timezone.now()
    stalled_since = now - timedelta(seconds=settings.BENCHMARK_STALL_TIMEOUT_S)
    return bool(
        Benchmark.objects.filter(
            pk=benchmark_id,
            status=Benchmark.Status.RUNNING,
            progressed_at__lt=stalled_since,
            rescues__lt=most,
        ).update(rescues=F("rescues") + 1, progressed_at=now)
    )


def complete(benchmark_id: Any, result: dict[str, Any]) -> bool:
    """Store a run's result; False if the run ended some other way meanwhile."""
    return bool(
        Benchmark.objects.filter(
            pk=benchmark_id, status=Benchmark.Status.RUNNING
        ).update(
            status=Benchmark.Status.DONE, result=result, finished_at=timezone.now()
        )
    )
