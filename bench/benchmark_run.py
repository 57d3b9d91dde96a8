"""How long a benchmark takes on real Celery workers, how live its progress is, and
whether its recorded spend adds up.

Serves the gateway as in production (uvicorn, PostgreSQL, Redis) with two Celery
workers (`--pool threads`, CONCURRENCY task slots each), and a fake OpenAI provider
in its own process that answers every call in LATENCY ms and judges by a fixed rule.
Seeds SAMPLES samples (MT-Bench's first turns, from ../shared/data), runs one
benchmark of the current model and five challengers over SSE, and prints:

- total time against the ideal: calls x latency / task slots;
- how long each progress event took from its step finishing (the time the worker
  stamped on it) to reaching the SSE client: p50, p95, max;
- the benchmark's spend as its result reports it, against the sum of its call
  records and of the account's ledger charges.

    .venv/bin/python -m bench.benchmark_run [--samples 50] [--latency-ms 200]
        [--workers 2] [--concurrency 4]

It needs PostgreSQL and Redis on 127.0.0.1 (as CI starts them); pass --database-url
and --redis-url to use others. The bench database is dropped and made anew.
"""

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

import httpx

from bench._common import (
    PYTHON,
    ROOT,
    percentile,
    recreate_database,
    start_fake,
    start_gateway,
)

CURRENT = "gpt-4o"
CHALLENGERS = [
    "gpt-4o-mini",
    "gpt-4.1-mini",
    "gpt-4.1-nano",
    "gpt-5-mini",
    "gpt-5-nano",
]
JUDGE = "gpt-4o-mini"
QUESTIONS = ROOT.parent / "shared" / "data" / "mt-bench-questions.jsonl"
TARGETS = {"time_vs_ideal": 1.5, "event_delay_s": 1.0}


def _env(args: argparse.Namespace, fake: int) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "OPENAI_BASE_URL": f"http://127.0.0.1:{fake}/v1",
        "OPENAI_API_KEY": "sk-bench-provider-key",
        "JUDGE_MODEL": JUDGE,
        "JOBS_QUEUE": "bench",
        "SAMPLES_MIN_FOR_BENCHMARK": "10",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "llmtest.settings",
    }


def _shell(env: dict[str, str], script: str) -> str:
    done = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _prepare(env: dict[str, str]) -> str:
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    return _shell(
        env,
        "from decimal import Decimal; from accounts import services;"
        "account = services.account_create('bench@example.com', Decimal('1000'));"
        "print(services.api_key_create(account)[1])",
    )


def _samples(count: int) -> list[list[dict[str, str]]]:
    questions = [json.loads(line) for line in QUESTIONS.read_text().splitlines()]
    return [
        [
            {"role": "system", "content": "You are a helpful assistant."},
            {"role": "user", "content": question["turns"][0]},
        ]
        for question in questions[:count]
    ]


def _start_workers(env: dict[str, str], count: int, slots: int) -> list[Any]:
    return [
        subprocess.Popen(
            [
                PYTHON,
                "-m",
                "celery",
                "-A",
                "llmtest",
                "worker",
                "--pool",
                "threads",
                "--concurrency",
                str(slots),
                "--loglevel",
                "WARNING",
                "-n",
                f"bench{i}@%h",
            ],
            cwd=ROOT,
            env=env,
        )
        for i in range(count)
    ]


def _read_stream(response: httpx.Response) -> list[tuple[str, Any, float]]:
    """(event, data, arrival time) for each event, read as it arrives."""
    events: list[tuple[str, Any, float]] = []
    kind, data = "message", ""
    for line in response.iter_lines():
        if line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data = line[5:].strip()
        elif line == "" and data:
            events.append((kind, json.loads(data), time.time()))
            kind, data = "message", ""
    return events


def _spend_check(env: dict[str, str], benchmark_id: str) -> tuple[Decimal, Decimal]:
    """The sum of the run's call records, and of the account's ledger charges."""
    script = (
        "from django.db.models import Sum; from flows.models import Call;"
        "from accounts.models import CreditEntry;"
        "from benchmarks.models import Answer, Judgment;"
        f"b = '{benchmark_id}';"
        "ids = [a.call_id for a in Answer.objects.filter(benchmark_id=b)"
        " if a.call_id] + [i for j in Judgment.objects.filter(benchmark_id=b)"
        " for i in j.call_ids];"
        "calls = Call.objects.filter(id__in=ids).aggregate(s=Sum('cost_usd'))['s'];"
        "charged = -CreditEntry.objects.filter(kind='charge')"
        ".aggregate(s=Sum('amount_usd'))['s'];"
        "print(f'{calls} {charged} {len(ids)}')"
    )
    calls, charged, _ = _shell(env, script).split()
    return Decimal(calls), Decimal(charged)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=50)
    parser.add_argument("--latency-ms", type=float, default=200.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/llmtest_bench_runs",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    args = parser.parse_args()

    fake, fake_port = start_fake(
        "openai", args.latency_ms, "--judge", "prefer:gpt-4.1-mini"
    )
    recreate_database(args.database_url)
    subprocess.run(
        ["redis-cli", "-u", args.redis_url, "flushdb"],
        check=True,
        capture_output=True,
    )
    env = _env(args, fake_port)
    key = _prepare(env)
    gateway, port = start_gateway(env, 1)
    workers = _start_workers(env, args.workers, args.concurrency)
    try:
        _run(args, env, port, key)
    finally:
        for process in [*workers, gateway, fake]:
            process.terminate()
        for process in [*workers, gateway, fake]:
            process.wait(timeout=30)


def _run(args: argparse.Namespace, env: dict[str, str], port: int, key: str) -> None:
    headers = {"Authorization": f"Bearer {key}"}
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(base_url=base, headers=headers, timeout=600) as http:
        seeded = http.post(
            "/api/samples",
            json={"flow": "bench", "samples": _samples(args.samples)},
        )
        seeded.raise_for_status()
        time.sleep(3)  # let the workers connect to the broker
        started = time.time()
        with http.stream(
            "POST",
            "/api/benchmark",
            json={
                "flow": "bench",
                "currentModel": CURRENT,
                "challengers": CHALLENGERS,
                "optimizeFor": "cost",
            },
        ) as response:
            response.raise_for_status()
            events = _read_stream(response)
    elapsed = time.time() - started
    kinds = [kind for kind, _, _ in events]
    if kinds[-1] != "result":
        sys.exit(f"the benchmark did not finish: {events[-1]}")
    result = events[-1][1]
    models = 1 + len(CHALLENGERS)
    calls = args.samples * models + args.samples * len(CHALLENGERS) * 2
    slots = args.workers * args.concurrency
    ideal = calls * args.latency_ms / 1000 / slots
    delays = [
        arrived - data["at"]
        for kind, data, arrived in events
        if kind == "progress" and data.get("at")
    ]
    spend = Decimal(str(result["spend"]["total_usd"]))
    recorded, charged = _spend_check(env, result["benchmark_id"])

    print(
        f"\n{args.samples} samples x {models} models, {calls} calls of "
        f"{args.latency_ms:.0f} ms, {args.workers} workers x {args.concurrency} slots"
    )
    print(
        f"total {elapsed:.1f} s, ideal {ideal:.1f} s: {elapsed / ideal:.2f}x "
        f"(target <= {TARGETS['time_vs_ideal']}x)"
    )
    print(
        f"progress events: {len(delays)}; delivery delay p50 "
        f"{percentile(delays, 50) * 1000:.0f} ms, p95 "
        f"{percentile(delays, 95) * 1000:.0f} ms, max {max(delays) * 1000:.0f} ms "
        f"(target <= {TARGETS['event_delay_s'] * 1000:.0f} ms)"
    )
    same = spend == round(recorded, 10) == round(charged, 10)
    print(
        f"spend: result {spend} USD (models {result['spend']['models_usd']}, judge "
        f"{result['spend']['judge_usd']}); call records {recorded}; ledger charges "
        f"{charged}: {'equal' if same else 'DIFFERENT'}"
    )
    print(f"verdict: {result['recommendation']['reason']}")
    for row in result["challengers"]:
        print(f"  {row['summary']}")


if __name__ == "__main__":
    main()
