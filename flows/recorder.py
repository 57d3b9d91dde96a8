"""Writes call records and their charges off the response path, in batches.

The proxy hands each finished call to `record()`, which only puts it on a queue. A
background thread takes what is waiting every RECORDER_FLUSH_MS milliseconds (or as
soon as RECORDER_BATCH_SIZE are waiting) and writes the calls, their ledger rows and
the balance updates in one transaction. `drain()` makes it write at once and waits:
the ASGI lifespan shutdown calls it before a worker exits, and so does `atexit`.

A call the proxy chose to capture carries its conversation and answer; once the
calls are written, those become the flow's captured samples (redacted, at most the
flow's cap), written apart from the calls, so that a sample that cannot be written
never costs a call record or a charge.
"""

import atexit
import logging
import queue
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field, fields
from datetime import datetime
from decimal import Decimal
from typing import Any, cast

from django.conf import settings
from django.db import (
    DataError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    transaction,
)
from django.db.models import CharField
from django.utils import timezone

from accounts.services import Charge, charges_apply
from flows import config as flows_config
from flows import samples
from flows.models import Call, Flow, Sample

logger = logging.getLogger(__name__)

# Seconds to wait between retries of a batch whose transaction failed.
_RETRY_DELAY_S = 0.5
# Put on the queue to make the writer write what it holds without waiting.
_FLUSH_NOW = object()
# Times a batch is retried before its calls are given up on (and logged by id).
_MAX_ATTEMPTS = 5
# Errors that writing the same rows again cannot fix: the database refuses a row
# (its account was deleted, a call id was seen before, a value does not fit).
_REFUSED = (IntegrityError, DataError)
# Errors of a database that is down or unreachable: worth waiting for.
_UNREACHABLE = (OperationalError, InterfaceError)
# Seconds: the longest pause between two tries against a database that is down.
_MAX_RETRY_DELAY_S = 10.0
# Characters each text column of a call holds; longer values are cut to fit.
_TEXT_LIMITS = {
    field.name: field.max_length
    for field in Call._meta.fields
    if isinstance(field, CharField) and field.max_length
}
# Seconds a count of a flow's captured samples is trusted: samples deleted in the
# admin, or a cap raised in another process, are noticed within this time.
_SAMPLE_COUNT_TTL_S = 60.0

FlowKey = tuple[int, str]  # (account id, flow name)


@dataclass(slots=True)
class CallRecord:
    """Everything known about one finished call, as the proxy measured it."""

    account_id: int
    flow: str
    api: str
    requested_model: str
    served_model: str
    provider: str
    stream: bool
    outcome: str
    http_status: int
    latency_ms: float
    id: uuid.UUID = field(default_factory=uuid.uuid4)
    source: str = Call.Source.PROXY
    input_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    output_tokens: int = 0
    reasoning_tokens: int = 0
    ttft_ms: float | None = None
    cost_usd: Decimal | None = None
    priced: bool = False
    # The provider reported no usage: the token counts are the proxy's estimate.
    usage_estimated: bool = False
    created_at: datetime = field(default_factory=timezone.now)
    # Set on a call captured as a sample: its request's messages (an Anthropic
    # request's as {role, content}, its system prompt first), unredacted, and the
    # text of the answer.
    sample_messages: list[dict[str, Any]] | None = None
    sample_answer: str = ""


# The fields of a CallRecord that are columns of its Call.
_CALL_FIELDS = tuple(
    f.name for f in fields(CallRecord) if not f.name.startswith("sample_")
)


def _charge_note(call: CallRecord) -> str:
    """The ledger row's note: the flow, and for benchmark spend, what it paid for."""
    if call.source == Call.Source.PROXY:
        return call.flow
    return f"{call.flow} ({call.source})"


class _Recorder:
    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[CallRecord | object] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._flows: dict[FlowKey, int] = {}
        # Captured samples per flow, with when they were counted; and the flows
        # found at their cap, with when.
        self._sample_counts: dict[FlowKey, tuple[int, float]] = {}
        self._full: dict[FlowKey, float] = {}
        # Calls handed over but not yet written (or given up on).
        self._pending = 0
        self._settled = threading.Condition()

    def record(self, call: CallRecord) -> None:
        with self._settled:
            self._pending += 1
        self._queue.put(call)
        if self._thread is None or not self._thread.is_alive():
            self._start()

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(
                target=self._run, name="call-recorder", daemon=True
            )
            self._thread.start()

    def _run(self) -> None:
        while True:
            batch = self._take_batch()
            if batch:
                self._write(batch)
            close_old_connections()

    def _take_batch(self) -> list[CallRecord]:
        """Wait for a call, then gather more until the flush interval or the batch
        size is reached, or a flush is asked for."""
        batch: list[CallRecord] = []
        item = self._queue.get()
        deadline = time.monotonic() + settings.RECORDER_FLUSH_MS / 1000
        while item is not _FLUSH_NOW:
            batch.append(cast(CallRecord, item))
            remaining = deadline - time.monotonic()
            if len(batch) >= settings.RECORDER_BATCH_SIZE or remaining <= 0:
                break
            try:
                item = self._queue.get(timeout=remaining)
            except queue.Empty:
                break
        return batch

    def _write(self, batch: list[CallRecord]) -> None:
        try:
            self._write_isolating(batch)
            self._write_samples(batch)
        finally:
            with self._settled:
                self._pending -= len(batch)
                self._settled.notify_all()

    def _write_isolating(self, batch: list[CallRecord]) -> None:
        """Write a batch; a call the database refuses is split off and dropped alone.

        Without this, one call of a just-deleted account would take every other
        account's calls and charges in its batch down with it.
        """
        try:
            self._write_retrying(batch)
            return
        except _REFUSED:
            # The flow ids cached here may name flows deleted since.
            self._flows.clear()
        if len(batch) > 1:
            middle = len(batch) // 2
            self._write_isolating(batch[:middle])
            self._write_isolating(batch[middle:])
            return
        try:
            self._write_retrying(batch)
        except _REFUSED:
            call = batch[0]
            logger.exception(
                "recorder.call_dropped",
                extra={
                    "call_id": str(call.id),
                    "account_id": call.account_id,
                    "cost_usd": str(call.cost_usd),
                },
            )

    def _write_retrying(self, batch: list[CallRecord]) -> None:
        """Write a batch, retrying what may pass next time. Raises _REFUSED errors.

        A database that cannot be reached is waited for, with growing pauses, for
        up to RECORDER_RETRY_FOR_S: the calls were answered, so their records and
        charges must land. Any other failure gets a few quick retries.
        """
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                self._write_once(batch)
                return
            except _REFUSED:
                raise
            except Exception as error:
                logger.exception(
                    "recorder.batch_failed",
                    extra={"calls": len(batch), "attempt": attempt},
                )
                self._flows.clear()
                close_old_connections()
                if not self._worth_retrying(error, attempt, started):
                    break
                time.sleep(min(_RETRY_DELAY_S * 2 ** (attempt - 1), _MAX_RETRY_DELAY_S))
        logger.error(
            "recorder.batch_dropped",
            extra={"call_ids": ",".join(str(c.id) for c in batch)},
        )

    def _worth_retrying(self, error: Exception, attempt: int, started: float) -> bool:
        if isinstance(error, _UNREACHABLE):
            return time.monotonic() - started < settings.RECORDER_RETRY_FOR_S
        return attempt < _MAX_ATTEMPTS

    def _write_once(self, batch: list[CallRecord]) -> None:
        with transaction.atomic():
            rows = [self._row(call) for call in batch]
            Call.objects.bulk_create(rows)
            charges_apply(
                Charge(c.account_id, c.id, c.cost_usd, _charge_note(c))
                for c in batch
                if c.cost_usd
            )

    def _row(self, call: CallRecord) -> Call:
        values = {name: getattr(call, name) for name in _CALL_FIELDS}
        values["flow_id"] = self._flow_id(call.account_id, values.pop("flow"))
        for name, limit in _TEXT_LIMITS.items():
            if isinstance(values.get(name), str):
                values[name] = values[name][:limit]
        return Call(**values)

    def _flow_id(self, account_id: int, name: str) -> int:
        key = (account_id, name)
        if key not in self._flows:
            flow, _ = Flow.objects.get_or_create(account_id=account_id, name=name)
            self._flows[key] = flow.pk
        return self._flows[key]

    def _write_samples(self, batch: list[CallRecord]) -> None:
        captured: dict[FlowKey, list[CallRecord]] = defaultdict(list)
        for call in batch:
            if call.sample_messages is not None:
                captured[(call.account_id, call.flow)].append(call)
        for key, calls in captured.items():
            try:
                self._write_flow_samples(key, calls)
            except Exception as error:
                # The calls and their charges are written: only the samples are lost.
                # The error's class only: a database's message may quote the text.
                logger.error(
                    "recorder.samples_dropped",
                    extra={
                        "account_id": key[0],
                        "flow": key[1],
                        "samples": len(calls),
                        "error": type(error).__name__,
                    },
                )
                self._flows.pop(key, None)
                self._sample_counts.pop(key, None)

    def _write_flow_samples(self, key: FlowKey, calls: list[CallRecord]) -> None:
        """Keep the calls' conversations as captured samples, up to the flow's cap."""
        flow_id = self._flow_id(*key)
        room = flows_config.config().capture_cap(*key) - self._captured(key, flow_id)
        if room <= 0:
            return

        kept: dict[str, Sample] = {}
        for call in calls:
            if len(kept) >= room:
                break
            sample = samples.captured_sample(
                call.sample_messages, call.sample_answer, redact=settings.SAMPLE_REDACT
            )
            if sample is not None and sample.digest not in kept:
                kept[sample.digest] = Sample(
                    flow_id=flow_id,
                    messages=sample.messages,
                    answer=sample.answer,
                    model=call.served_model[: _TEXT_LIMITS["served_model"]],
                    source=Sample.Source.CAPTURED,
                    digest=sample.digest,
                    created_at=call.created_at,
                )
        if not kept:
            return

        # Conversations the flow has already are skipped by the database.
        Sample.objects.bulk_create(list(kept.values()), ignore_conflicts=True)
        self._sample_counts.pop(key, None)
        self._captured(key, flow_id)

    def _captured(self, key: FlowKey, flow_id: int) -> int:
        """The flow's captured samples, counted again when the count is stale.
        Marks the flow full, for as long as the count is trusted, at its cap."""
        cached = self._sample_counts.get(key)
        if cached is None or time.monotonic() - cached[1] >= _SAMPLE_COUNT_TTL_S:
            count = Sample.objects.filter(
                flow_id=flow_id, source=Sample.Source.CAPTURED
            ).count()
            cached = self._sample_counts[key] = (count, time.monotonic())
        count, counted_at = cached
        if count >= flows_config.config().capture_cap(*key):
            self._full[key] = counted_at
        else:
            self._full.pop(key, None)
        return count

    def capture_full(self, account_id: int, flow: str) -> bool:
        """Whether the flow had all the captured samples its cap allows when they
        were last counted: capturing another of its calls would be wasted."""
        full_at = self._full.get((account_id, flow))
        return full_at is not None and time.monotonic() - full_at < _SAMPLE_COUNT_TTL_S

    def forget_sample_counts(self) -> None:
        """Count captured samples afresh (a flow's cap changed, samples deleted)."""
        self._sample_counts.clear()
        self._full.clear()

    def flush(self, timeout: float = 10.0) -> bool:
        """Block until everything recorded so far is written. Returns success."""
        with self._settled:
            return self._settled.wait_for(lambda: self._pending <= 0, timeout)

    def forget_flows(self) -> None:
        """Drop the flow-id cache (tests that delete flows between runs)."""
        self._flows.clear()
        self.forget_sample_counts()

    def drain(self, timeout: float = 30.0) -> bool:
        """Write everything waiting now, and wait for it (used at shutdown)."""
        if self._thread is not None and self._thread.is_alive():
            self._queue.put(_FLUSH_NOW)
        return self.flush(timeout)


_recorder = _Recorder()
record = _recorder.record
flush = _recorder.flush
drain = _recorder.drain
forget_flows = _recorder.forget_flows
forget_sample_counts = _recorder.forget_sample_counts
capture_full = _recorder.capture_full

atexit.register(drain)
