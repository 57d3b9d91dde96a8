"""A flow with samples, a judge on the fake provider, and an SSE reader."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx
import pytest

from flows.models import Flow, Sample
from flows.samples import sample_digest
from llmtest import jobs
from proxy.models import PriceOverride
from tests.fakes import judges

CURRENT = "gpt-4o"
CHALLENGERS = ["gpt-4o-mini", "local/tiny"]


@dataclass
class SSEEvent:
    event: str
    data: Any
    id: str | None
    at: float = field(default_factory=time.monotonic)


@dataclass
class SSEStream:
    status: int
    headers: httpx.Headers
    events: list[SSEEvent]
    comments: list[str]
    raw: str = ""

    def of(self, kind: str) -> list[SSEEvent]:
        return [e for e in self.events if e.event == kind]


def read_sse(response: httpx.Response, stop_after: int | None = None) -> SSEStream:
    """Read an SSE response line by line as it arrives, noting when each event came."""
    events: list[SSEEvent] = []
    comments: list[str] = []
    kind, data, event_id = "message", [], None
    for line in response.iter_lines():
        if line.startswith(":"):
            comments.append(line[1:].strip())
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
        elif line.startswith("id:"):
            event_id = line[3:].strip()
        elif line == "" and data:
            text = "\n".join(data)
            try:
                value = json.loads(text)
            except ValueError:
                value = text
            events.append(SSEEvent(kind, value, event_id))
            kind, data, event_id = "message", [], None
            if stop_after is not None and len(events) >= stop_after:
                break
    return SSEStream(response.status_code, response.headers, events, comments)


def stream_request(
    http: httpx.Client, method: str, url: str, **kwargs: Any
) -> SSEStream:
    with http.stream(method, url, **kwargs) as response:
        if not response.headers.get("content-type", "").startswith("text/event-stream"):
            response.read()
            return SSEStream(
                response.status_code, response.headers, [], [], response.text
            )
        return read_sse(response)


def add_samples(flow: Flow, count: int, topic: str = "order") -> list[Sample]:
    rows = []
    for i in range(count):
        messages = [
            {"role": "system", "content": "You are a helpful support agent."},
            {"role": "user", "content": f"Question {i} about my {topic}?"},
        ]
        rows.append(
            Sample.objects.create(
                flow=flow,
                messages=messages,
                digest=sample_digest(messages),
                source="seeded",
            )
        )
    return rows


@pytest.fixture
def bench_settings(settings: Any) -> Any:
    """The thread runner (whatever REDIS_URL says), a small minimum, a fake judge."""
    settings.JOBS_RUNNER = "threads"
    settings.SAMPLES_MIN_FOR_BENCHMARK = 3
    settings.JUDGE_MODEL = "gpt-4o-mini"
    settings.JUDGE_RETRIES = 1
    settings.SSE_POLL_S = 0.2
    return settings


@pytest.fixture
def flow(account: Any, gateway: Any, bench_settings: Any) -> Iterator[Flow]:
    flow = Flow.objects.create(account=account, name="support-bot")
    add_samples(flow, 4)
    PriceOverride.objects.create(
        model="local/tiny",
        input_per_mtok=Decimal("0.01"),
        output_per_mtok=Decimal("0.02"),
    )
    yield flow
    assert jobs.wait_idle(30), "background tasks still running"


@pytest.fixture
def sse_http(gateway: Any, api_key: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {api_key}"}
    with httpx.Client(base_url=gateway.url, headers=headers, timeout=30) as client:
        yield client


def judge_with(fake: Any, verdict: judges.Verdict, latency_s: float = 0.0) -> None:
    fake.responder = judges.judge_responder(verdict, latency_s)


def run_benchmark(http: httpx.Client, **body: Any) -> SSEStream:
    body.setdefault("flow", "support-bot")
    body.setdefault("currentModel", CURRENT)
    body.setdefault("challengers", CHALLENGERS)
    return stream_request(http, "POST", "/api/benchmark", json=body)
