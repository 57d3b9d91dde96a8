"""relay.follow: a run's stored events, read without an event loop."""

import json
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from benchmarks import events, relay
from tests.factories import BenchmarkFactory

pytestmark = pytest.mark.django_db


def test_it_yields_the_stored_events_up_to_the_last_one():
    benchmark = BenchmarkFactory(status="running")
    events.progress(benchmark.pk, "queued", 0, 3, "Queued.")
    events.publish(benchmark.pk, events.RESULT, {"benchmark_id": str(benchmark.pk)})
    events.progress(benchmark.pk, "late", 3, 3, "Never read.")

    seen = list(relay.follow(benchmark.pk, poll_s=0.01))

    assert [kind for kind, _ in seen] == ["progress", "result"]
    assert seen[0][1]["stage"] == "queued"
    assert seen[1][1] == {"benchmark_id": str(benchmark.pk)}


def test_it_rebuilds_the_last_event_of_a_finished_run_whose_events_are_gone():
    benchmark = BenchmarkFactory(
        status="failed",
        error={"message": "The worker died.", "code": "stalled"},
        finished_at=timezone.now() - timedelta(days=1),
    )

    seen = list(relay.follow(benchmark.pk, poll_s=0.01))

    assert seen == [("error", {"message": "The worker died.", "code": "stalled"})]


def test_it_ends_when_the_run_is_gone():
    benchmark = BenchmarkFactory(status="running")
    benchmark_id = benchmark.pk
    benchmark.delete()

    assert list(relay.follow(benchmark_id, poll_s=0.01)) == []


@pytest.mark.django_db(transaction=True)
def test_the_sse_stream_never_steps_back_on_events_as_stored():
    # Stored as send_event stores them (JSON text), published out of order.
    benchmark = BenchmarkFactory(status="running")
    for done in (1, 3, 2):
        events.progress(benchmark.pk, "answering", done, 3, "A step.")
    events.publish(benchmark.pk, events.RESULT, {"benchmark_id": str(benchmark.pk)})

    async def read() -> list[bytes]:
        return [chunk async for chunk in relay.stream(benchmark.pk)]

    chunks = async_to_sync(read)()

    progress = [
        json.loads(chunk.decode().split("data: ", 1)[1])
        for chunk in chunks
        if b"event: progress" in chunk
    ]
    assert [event["done"] for event in progress] == [1, 3, 3]
    assert progress[2]["stage"] == "answering"
    assert b"event: result" in chunks[-1]
