"""Publishing a benchmark's events, and their SSE encoding.

Publishing goes through django-eventstream's `send_event`, which stores each event
(numbered per channel) in the database and, with Redis configured, publishes a
wake-up that every web process hears (`benchmarks.relay` reads them back).
"""

import logging
import time
from typing import Any

from django_eventstream import send_event

logger = logging.getLogger(__name__)

PROGRESS = "progress"
RESULT = "result"
ERROR = "error"
TERMINAL = (RESULT, ERROR)


def channel_of(benchmark_id: Any) -> str:
    return f"benchmark-{benchmark_id}"


def publish(benchmark_id: Any, event_type: str, data: dict[str, Any]) -> None:
    """Store and announce one event. Never raises: progress is not worth a step."""
    try:
        send_event(channel_of(benchmark_id), event_type, data)
    except Exception:
        # Stored but not announced (Redis down) is fine: relays read storage on
        # a timer. Not stored at all is logged; the relay then falls back on the
        # benchmark row for the final event.
        logger.warning(
            "benchmarks.event_not_published",
            extra={"benchmark": str(benchmark_id), "event": event_type},
        )


def progress(
    benchmark_id: Any,
    stage: str,
    done: int,
    total: int,
    message: str,
    model: str | None = None,
) -> None:
    publish(
        benchmark_id,
        PROGRESS,
        {
            "stage": stage,
            "done": done,
            "total": total,
            "model": model,
            "message": message,
            "at": time.time(),
        },
    )


def sse(event_type: str, data: str, event_id: int | str | None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    body = "\n".join(f"data: {line}" for line in data.splitlines() or [""])
    return f"{head}event: {event_type}\n{body}\n\n".encode()
