"""The same benchmark run by real Celery workers on Redis (skipped without Redis)."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from benchmarks.models import Benchmark
from tests.benchmarks.conftest import judge_with, read_sse, run_benchmark
from tests.fakes import judges

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or connection.vendor != "postgresql",
    reason="needs Redis and PostgreSQL (the CI run that sets REDIS_URL)",
)

ROOT = Path(__file__).resolve().parents[2]


def _database_url() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@pytest.fixture
def worker(flow: Any, fake_openai: Any, fake_anthropic: Any, bench_settings: Any):
    """Start Celery workers on a queue of their own; yields a function that starts
    one more and returns its process."""
    queue = f"test-{uuid.uuid4().hex[:8]}"
    bench_settings.JOBS_RUNNER = "celery"
    bench_settings.JOBS_QUEUE = queue
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "llmtest.settings_test",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": os.environ["REDIS_URL"],
        "JOBS_QUEUE": queue,
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "sk-test-openai-provider-key-0000",
        "ANTHROPIC_BASE_URL": fake_anthropic.base_url,
        "ANTHROPIC_API_KEY": "sk-ant-test-anthropic-provider-key-0000",
        "OPENAI_COMPATIBLE_PROVIDERS": f"local={fake_openai.base_url}",
        "JUDGE_MODEL": bench_settings.JUDGE_MODEL,
        "JUDGE_RETRIES": "1",
        "LOG_LEVEL": "WARNING",
    }
    processes: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen(  # noqa: S603
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "llmtest",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                "4",
                "--loglevel",
                "WARNING",
                "--without-mingle",
                "--without-gossip",
                "-n",
                f"{queue}-{len(processes)}@%h",
            ],
            cwd=ROOT,
            env=env,
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.terminate()
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    redis.Redis.from_url(django_settings.REDIS_URL).delete(queue)


@pytest.fixture
def two_workers(worker: Any) -> Iterator[None]:
    worker()
    worker()
    yield


_ONE_CHALLENGER = {
    "flow": "support-bot",
    "currentModel": "gpt-4o",
    "challengers": ["gpt-4o-mini"],
}


def _kill_once_it_calls(process: subprocess.Popen[bytes], fake_openai: Any) -> None:
    """Wait for the worker's first call to the provider, then kill the worker."""

    def called() -> bool:
        # A model call (POST): the gateway itself reads the provider's model list.
        return any(r.method == "POST" for r in fake_openai.requests)

    deadline = time.monotonic() + 30
    while not called() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert called(), "the worker never called the provider"
    os.kill(process.pid, signal.SIGKILL)
    process.wait()


def test_two_workers_share_a_benchmark(two_workers, sse_http, fake_openai):
    judge_with(fake_openai, judges.prefers("gpt-4o-mini"))
    fake_openai.default_latency_s = 0.05

    stream = run_benchmark(sse_http)

    kinds = [e.event for e in stream.events]
    assert kinds[-1] == "result", stream.events[-1].data
    assert kinds.count("result") == 1
    result = stream.of("result")[0].data
    mini = next(r for r in result["challengers"] if r["model"] == "gpt-4o-mini")
    assert mini["wins"] == 4
    assert Benchmark.objects.get().status == Benchmark.Status.DONE
    # Every step ran once, whichever worker took it.
    calls = [r for r in fake_openai.requests if r.method == "POST"]
    assert len(calls) == 4 * 3 + 4 * 2 * 2


def test_a_killed_worker_leaves_the_run_failed_with_an_error_event(
    worker, sse_http, fake_openai, bench_settings
):
    bench_settings.BENCHMARK_STALL_TIMEOUT_S = 2
    fake_openai.default_latency_s = 1.0
    process = worker()

    with sse_http.stream(
        "POST",
        "/api/benchmark",
        json=_ONE_CHALLENGER,
    ) as response:
        _kill_once_it_calls(process, fake_openai)
        stream = read_sse(response)

    assert stream.events[-1].event == "error"
    assert stream.events[-1].data["code"] == "stalled"
    assert Benchmark.objects.get().status == Benchmark.Status.FAILED


def test_a_worker_started_after_one_was_killed_finishes_the_run(
    worker, sse_http, fake_openai, bench_settings
):
    bench_settings.BENCHMARK_STALL_TIMEOUT_S = 2
    judge_with(fake_openai, judges.first_position)
    fake_openai.default_latency_s = 1.0
    process = worker()

    with sse_http.stream(
        "POST",
        "/api/benchmark",
        json=_ONE_CHALLENGER,
    ) as response:
        _kill_once_it_calls(process, fake_openai)
        worker()
        stream = read_sse(response)

    assert stream.events[-1].event == "result", stream.events[-1].data
    assert "rescued" in [e.data.get("stage") for e in stream.of("progress")]
    assert Benchmark.objects.get().status == Benchmark.Status.DONE
