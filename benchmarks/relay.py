"""Relaying a benchmark's stored events to an SSE client, live.

The relay is our own generator rather than django-eventstream's view (which never
ends and sends its own keep-alive events):

- it replays the stored events after the client's last one (all of them for a new
  stream, so nothing sent before the client connected is lost);
- it waits for a wake-up, but reads storage again at least every SSE_POLL_S
  seconds, because wake-ups can be lost (the library's Redis subscriber does not
  come back after a Redis restart);
- it sends a `:` comment every SSE_HEARTBEAT_S seconds of silence;
- it ends after the `result` or `error` event, and notices a run that stalled (a
  dead worker) or whose events are gone, so it never runs forever.
"""

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone
from django_eventstream.event import Event
from django_eventstream.models import Event as StoredEvent
from django_eventstream.storage import EventDoesNotExist
from django_eventstream.utils import get_storage
from django_eventstream.views import Listener, get_listener_manager

from benchmarks import watchdog
from benchmarks.events import ERROR, PROGRESS, RESULT, TERMINAL, channel_of, sse
from benchmarks.models import Benchmark

# Seconds a finished run's last event may take to be stored before the relay sends
# one rebuilt from the row instead.
_FINAL_EVENT_GRACE_S = 10.0


def _decoded(event: Event) -> Any:
    """An event's data as published: `send_event` stores it JSON-encoded."""
    return json.loads(event.data) if isinstance(event.data, str) else event.data


def _read(channel: str, after: int) -> tuple[list[Event], int]:
    """Stored events after `after`, and the id to read from next time."""
    storage = get_storage()
    try:
        return storage.get_events(channel, after, limit=500), after
    except EventDoesNotExist as missing:
        # Either the client's id is ahead of the channel (nothing to replay yet)
        # or the events were trimmed; both read on from what exists now.
        current = int(missing.current_id)
        if after > current:
            return [], after
        return storage.get_events(channel, current, limit=500), current


class _Counter:
    """Keeps `done` in a stream's progress events from stepping back: two workers
    may count their steps in one order and publish them in the other."""

    def __init__(self) -> None:
        self.done = 0

    def data(self, event_type: str, data: Any) -> Any:
        if event_type != PROGRESS or not isinstance(data, dict):
            return data
        if not isinstance(data.get("done"), int):
            return data
        self.done = max(self.done, data["done"])
        return {**data, "done": self.done}


def resume_check(benchmark_id: Any, after: int) -> str | None:
    """Why a stream resumed after event `after` has nothing to send: "ended" when
    the run's `result` or `error` event is at or before it, "unknown" when the
    channel has no event that far; None when there is something to relay."""
    channel = channel_of(benchmark_id)
    terminal = (
        StoredEvent.objects.filter(channel=channel, type__in=TERMINAL)
        .order_by("eid")
        .values_list("eid", flat=True)
        .first()
    )
    if after > get_storage().get_current_id(channel):
        return "unknown"
    if terminal is not None and after >= terminal:
        return "ended"
    return None


def _state(benchmark_id: Any) -> dict[str, Any] | None:
    """The benchmark's status, after failing it if it stalled."""
    watchdog.check(benchmark_id)
    row = (
        Benchmark.objects.filter(pk=benchmark_id)
        .values("status", "result", "error", "finished_at")
        .first()
    )
    return None if row is None else dict(row)


def _final_event_lost(state: dict[str, Any]) -> bool:
    """Whether a finished run's last event should have been stored by now.

    A run is marked finished just before its last event is stored (so that only one
    task ends it); within that window the event is still coming.
    """
    finished_at = state["finished_at"]
    if state["status"] not in (Benchmark.Status.DONE, Benchmark.Status.FAILED):
        return False
    waited = (timezone.now() - finished_at).total_seconds() if finished_at else 0
    return waited > _FINAL_EVENT_GRACE_S


def _final(state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The last event rebuilt from the row, for a finished run whose events are
    gone (trimmed, or never stored because the database refused them)."""
    if state["status"] == Benchmark.Status.DONE:
        return RESULT, state["result"]
    error = state["error"] or {"message": "The benchmark failed.", "code": "failed"}
    return ERROR, error


def _final_event(state: dict[str, Any]) -> bytes:
    event_type, data = _final(state)
    return sse(event_type, json.dumps(data), None)


async def stream(benchmark_id: Any, after: int = 0) -> AsyncIterator[bytes]:
    """The benchmark's events after event `after` (0: all), live, until the end."""
    channel = channel_of(benchmark_id)
    listener = Listener()
    listener.channels = {channel}
    listener.assign_loop()
    manager = get_listener_manager()
    manager.add_listener(listener)
    last_beat = time.monotonic()
    counter = _Counter()
    try:
        # Sent at once so that clients and proxies see the stream is open.
        yield b": stream open\n\n"
        while True:
            listener.aevent.clear()
            listener.channel_items.clear()
            events, after = await sync_to_async(_read)(channel, after)
            for event in events:
                after = int(event.id)
                data = counter.data(event.type, _decoded(event))
                yield sse(event.type, json.dumps(data), event.id)
                last_beat = time.monotonic()
                if event.type in TERMINAL:
                    return
            if not events:
                state = await sync_to_async(_state)(benchmark_id)
                if state is None:
                    return
                if _final_event_lost(state):
                    yield _final_event(state)
                    return
            wait = min(
                settings.SSE_POLL_S,
                max(0.0, settings.SSE_HEARTBEAT_S - (time.monotonic() - last_beat)),
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listener.aevent.wait(), timeout=wait)
            if time.monotonic() - last_beat >= settings.SSE_HEARTBEAT_S:
                yield f": heartbeat {timezone.now():%H:%M:%S}\n\n".encode()
                last_beat = time.monotonic()
    finally:
        manager.remove_listener(listener)


def follow(
    benchmark_id: Any, after: int = 0, poll_s: float | None = None
) -> Iterator[tuple[str, Any]]:
    """The run's events after event `after` as (event type, data), read from
    storage every `poll_s` seconds (SSE_POLL_S) until the last one: the same events
    as `stream`, for a caller without an event loop (the benchmark command)."""
    channel = channel_of(benchmark_id)
    wait = settings.SSE_POLL_S if poll_s is None else poll_s
    counter = _Counter()
    while True:
        events, after = _read(channel, after)
        for event in events:
            after = int(event.id)
            yield event.type, counter.data(event.type, _decoded(event))
            if event.type in TERMINAL:
                return
        if not events:
            state = _state(benchmark_id)
            if state is None:
                return
            if _final_event_lost(state):
                yield _final(state)
                return
            time.sleep(wait)
