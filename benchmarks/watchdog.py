"""Noticing runs that nobody works on.

A run that no worker starts fails. A running run with no finished step for
BENCHMARK_STALL_TIMEOUT_S lost its worker (killed, or a gateway restarted with its
in-process runner): its unfinished steps are queued again, so that a worker that is
still alive, or one started since, finishes the run. Twice: a step the dead worker
claimed shortly before it died is only taken back once its claim is that old, which
the second rescue sees. A run that stalls a third time fails with an `error` event.
Every step is claimed in its row, so a step queued twice still runs once.

The relay and the API check the runs they show; a sweeper thread in each gateway
process and each Celery worker checks every unfinished run every BENCHMARK_WATCH_S,
so that a run nobody follows ends too. Checks are conditional UPDATEs: several
processes sweeping at once rescue or fail a run once.
"""

import logging
import threading
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from benchmarks import events, runs, tasks
from benchmarks.models import Benchmark

logger = logging.getLogger(__name__)

# Rescues a stalled run gets before it is failed.
_MOST_RESCUES = 2


def _rescuable(benchmark_id: Any) -> bool:
    """Whether the run is running, stalled, and may be rescued again (a read: the
    relay asks every second, and a write would lock SQLite each time)."""
    row = (
        Benchmark.objects.filter(pk=benchmark_id)
        .values("status", "progressed_at", "rescues")
        .first()
    )
    if row is None or row["status"] != Benchmark.Status.RUNNING:
        return False
    idle = (timezone.now() - row["progressed_at"]).total_seconds()
    return row["rescues"] < _MOST_RESCUES and idle > settings.BENCHMARK_STALL_TIMEOUT_S


def check(benchmark_id: Any) -> None:
    """Rescue or fail the run if it stalled; nothing otherwise."""
    if _rescuable(benchmark_id) and runs.claim_rescue(benchmark_id, _MOST_RESCUES):
        benchmark = Benchmark.objects.only("total_steps").get(pk=benchmark_id)
        done = runs.steps_done(benchmark_id)
        unfinished = benchmark.total_steps - done
        logger.warning(
            "benchmarks.rescued",
            extra={"benchmark": str(benchmark_id), "steps": unfinished},
        )
        # Published before the steps are queued, so that it comes before theirs.
        events.progress(
            benchmark_id,
            "rescued",
            done,
            benchmark.total_steps,
            f"No step finished for a while (a worker stopped?): queued the "
            f"{unfinished} unfinished steps again.",
        )
        tasks.requeue(str(benchmark_id))
        return
    runs.fail_if_stalled(benchmark_id)


def _check_unfinished(runs_: QuerySet[Benchmark]) -> int:
    unfinished = list(
        runs_.filter(
            status__in=(Benchmark.Status.QUEUED, Benchmark.Status.RUNNING)
        ).values_list("pk", flat=True)
    )
    for benchmark_id in unfinished:
        check(benchmark_id)
    return len(unfinished)


def check_account(account_id: int) -> int:
    """`check` for each of an account's unfinished runs; returns how many."""
    return _check_unfinished(Benchmark.objects.filter(account_id=account_id))


def sweep() -> int:
    """`check` for every unfinished run; returns how many there were."""
    return _check_unfinished(Benchmark.objects.all())


# --- the sweeper thread -------------------------------------------------------------

_sweeper_lock = threading.Lock()
_sweeper: threading.Thread | None = None
_stop = threading.Event()


def start_sweeper() -> bool:
    """Start this process's sweeper (once; not when BENCHMARK_WATCH_S is 0).
    True when it runs."""
    global _sweeper
    interval = settings.BENCHMARK_WATCH_S
    if interval <= 0:
        return False
    with _sweeper_lock:
        if _sweeper is None or not _sweeper.is_alive():
            _stop.clear()
            _sweeper = threading.Thread(
                target=_sweep_every,
                args=(interval,),
                name="benchmark-watchdog",
                daemon=True,
            )
            _sweeper.start()
    return True


def stop_sweeper(timeout: float = 5.0) -> None:
    global _sweeper
    with _sweeper_lock:
        thread, _sweeper = _sweeper, None
    if thread is not None:
        _stop.set()
        thread.join(timeout)


def _sweep_every(interval: float) -> None:
    while not _stop.wait(interval):
        try:
            sweep()
        except Exception as error:
            # The database may be away for a while; the next sweep tries again.
            logger.warning(
                "benchmarks.sweep_failed", extra={"error": type(error).__name__}
            )
        finally:
            connection.close()  # its own; none kept open between sweeps
