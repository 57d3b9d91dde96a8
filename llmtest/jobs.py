"""Where background tasks run: Celery workers, or a pool of threads in this process.

With REDIS_URL set (JOBS_RUNNER=celery) `enqueue` sends a task to the broker and any
worker (`celery -A llmtest worker`) runs it. Without Redis the same task functions
run on JOBS_THREADS threads of the web process, so the embedded setup needs no
worker and still runs benchmarks concurrently and streams their progress live.
"""

import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from celery import Task
from django.conf import settings
from django.db import close_old_connections

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_running: set[Future[None]] = set()
_idle = threading.Condition(_lock)


def enqueue(task: Task, *args: Any) -> None:
    """Run `task(*args)` in the background, on the configured runner."""
    if settings.JOBS_RUNNER == "celery":
        task.apply_async(args, queue=settings.JOBS_QUEUE)
        return
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(
                max_workers=settings.JOBS_THREADS, thread_name_prefix="jobs"
            )
        future = _pool.submit(_run, task, args)
        _running.add(future)
    future.add_done_callback(_done)


def _run(task: Task, args: tuple[Any, ...]) -> None:
    try:
        task(*args)
    except Exception:
        # A task records its own failure; this is for what escaped it.
        logger.exception("jobs.task_failed", extra={"task": task.name})
    finally:
        close_old_connections()


def _done(future: Future[None]) -> None:
    with _idle:
        _running.discard(future)
        _idle.notify_all()


def wait_idle(timeout: float = 30.0) -> bool:
    """Block until the in-process runner has nothing queued or running."""
    with _idle:
        return _idle.wait_for(lambda: not _running, timeout)
