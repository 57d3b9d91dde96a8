"""What the gateway adds to a call: latency, throughput, memory, and no lost records.

Serves the gateway as in production (uvicorn, 2 workers, PostgreSQL and Redis), with
fake providers in their own processes: one that answers at once and one that waits
100 ms. Drives it with an aiohttp client at 1, 32 and 64 concurrent clients, streamed
and not, and prints:

- added latency: through the gateway minus direct to the provider, the two requests
  interleaved one after the other, at p50/p95/p99;
- requests per second through the gateway;
- peak memory (VmHWM) of each worker;
- whether the number of call records equals the number of requests sent.

    .venv/bin/python -m bench.proxy_overhead [--requests 3000] [--workers 2]

It needs PostgreSQL and Redis on 127.0.0.1 (as CI starts them); pass --database-url
and --redis-url to use others. The bench database is dropped and made anew.
"""

import argparse
import asyncio
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bench._common import (
    PYTHON,
    ROOT,
    percentile,
    recreate_database,
    start_fake,
    start_gateway,
)

# The model every bench call asks for, priced by an override so each call is charged.
MODEL = "gpt-4o-mini"
MESSAGES = [{"role": "user", "content": "Where is my parcel? Order 1234."}]
TARGETS = {
    "added_p50_ms_at_1": 3.0,
    "rps_instant_json": 500.0,
    "share_of_ideal_at_64_slow": 0.60,
    "worker_peak_mb": 250.0,
}


@dataclass
class Run:
    name: str
    concurrency: int
    gateway_ms: list[float]
    direct_ms: list[float]
    rate: float
    failures: int


def _env(args: argparse.Namespace, instant: int, slow: int) -> dict[str, str]:
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key",
        "DATABASE_URL": args.database_url,
        "REDIS_URL": args.redis_url,
        "OPENAI_BASE_URL": f"http://127.0.0.1:{instant}/v1",
        "OPENAI_API_KEY": "sk-bench-provider-key",
        "OPENAI_COMPATIBLE_PROVIDERS": f"slow=http://127.0.0.1:{slow}/v1",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "llmtest.settings",
    }


def _prepare(env: dict[str, str]) -> str:
    """Migrate, then make an account with ample credits; returns its key."""
    subprocess.run(
        [PYTHON, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        check=True,
    )
    script = (
        "from decimal import Decimal;"
        "from accounts import services;"
        "from proxy.models import PriceOverride;"
        f"PriceOverride.objects.create(model='{MODEL}', input_per_mtok=Decimal('1'),"
        " output_per_mtok=Decimal('4'));"
        "PriceOverride.objects.create(model='slow/gpt-4o-mini',"
        " input_per_mtok=Decimal('1'), output_per_mtok=Decimal('4'));"
        "account = services.account_create('bench@example.com', Decimal('1000000'));"
        "print(services.api_key_create(account)[1])"
    )
    done = subprocess.run(
        [PYTHON, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip().splitlines()[-1]


def _count_calls(env: dict[str, str]) -> int:
    done = subprocess.run(
        [
            PYTHON,
            "manage.py",
            "shell",
            "-c",
            "from flows.models import Call; print(Call.objects.count())",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return int(done.stdout.strip().splitlines()[-1])


def _worker_pids(master: int) -> list[int]:
    """uvicorn's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [
        int(pid)
        for pid in children
        if b"resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes()
    ]


def _peak_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def _one(
    session: aiohttp.ClientSession,
    url: str,
    headers: dict[str, str],
    body: bytes,
    stream: bool,
) -> tuple[float, bool]:
    start = time.perf_counter()
    async with session.post(url, data=body, headers=headers) as response:
        if stream:
            async for _ in response.content.iter_any():
                pass
        else:
            await response.read()
        ok = response.status == 200
    return (time.perf_counter() - start) * 1000, ok


async def _drive(
    session: aiohttp.ClientSession,
    targets: dict[str, tuple[str, dict[str, str]]],
    model: str,
    stream: bool,
    requests: int,
    concurrency: int,
    interleave: bool,
) -> Run:
    """`requests` gateway calls from `concurrency` clients; with interleave, each
    client sends a direct call right before each gateway call."""
    body = json.dumps({"model": model, "messages": MESSAGES, "stream": stream}).encode()
    direct_body = json.dumps(
        {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": stream}
    ).encode()
    gateway_url, gateway_headers = targets["gateway"]
    direct_url, direct_headers = targets["direct"]
    gateway_ms: list[float] = []
    direct_ms: list[float] = []
    failures = 0
    remaining = requests

    async def client() -> None:
        nonlocal remaining, failures
        while remaining > 0:
            remaining -= 1
            if interleave:
                elapsed, _ = await _one(
                    session, direct_url, direct_headers, direct_body, stream
                )
                direct_ms.append(elapsed)
            elapsed, ok = await _one(
                session, gateway_url, gateway_headers, body, stream
            )
            gateway_ms.append(elapsed)
            failures += not ok

    start = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed_s = time.perf_counter() - start
    rate = requests / elapsed_s if not interleave else float("nan")
    name = f"{'stream' if stream else 'json'}"
    return Run(name, concurrency, gateway_ms, direct_ms, rate, failures)


def _report(run: Run, label: str) -> None:
    row = f"{label:34} {run.concurrency:>4}"
    if run.direct_ms:
        added = [
            percentile(run.gateway_ms, p) - percentile(run.direct_ms, p)
            for p in (50, 95, 99)
        ]
        row += "  added p50/p95/p99 ms: " + " / ".join(f"{a:6.2f}" for a in added)
    else:
        latency = [percentile(run.gateway_ms, p) for p in (50, 95, 99)]
        row += f"  {run.rate:7.0f} req/s  p50/p95/p99 ms: " + " / ".join(
            f"{v:6.1f}" for v in latency
        )
    if run.failures:
        row += f"  FAILED: {run.failures}"
    print(row, flush=True)


async def _bench(args: argparse.Namespace, port: int, key: str, instant: int) -> dict:
    gateway_headers = {
        "authorization": f"Bearer {key}",
        "x-flow": "bench",
        "content-type": "application/json",
    }
    targets = {
        "gateway": (f"http://127.0.0.1:{port}/v1/chat/completions", gateway_headers),
        "direct": (
            f"http://127.0.0.1:{instant}/v1/chat/completions",
            {"content-type": "application/json"},
        ),
    }
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=60)
    figures: dict = {"sent": 0, "failures": 0}
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await _drive(session, targets, MODEL, False, 300, 8, False)  # warm up
        figures["sent"] += 300
        for stream in (False, True):
            mode = "stream" if stream else "json"
            run = await _drive(
                session, targets, MODEL, stream, args.latency_requests, 1, True
            )
            _report(run, f"instant {mode}, interleaved")
            figures[f"added_{mode}_at_1"] = [
                percentile(run.gateway_ms, p) - percentile(run.direct_ms, p)
                for p in (50, 95, 99)
            ]
            figures["sent"] += args.latency_requests
            figures["failures"] += run.failures
            for concurrency in (32, 64):
                run = await _drive(
                    session, targets, MODEL, stream, args.requests, concurrency, True
                )
                _report(run, f"instant {mode}, interleaved")
                figures["sent"] += args.requests
                figures["failures"] += run.failures
                run = await _drive(
                    session, targets, MODEL, stream, args.requests, concurrency, False
                )
                _report(run, f"instant {mode}, gateway only")
                figures[f"rps_{mode}_{concurrency}"] = run.rate
                figures["sent"] += args.requests
                figures["failures"] += run.failures
        for stream in (False, True):
            mode = "stream" if stream else "json"
            slow_requests = max(640, args.requests // 2)
            run = await _drive(
                session, targets, "slow/gpt-4o-mini", stream, slow_requests, 64, False
            )
            _report(run, f"100 ms provider {mode}, gateway only")
            figures[f"slow_share_{mode}"] = run.rate / (64 / 0.1)
            figures["sent"] += slow_requests
            figures["failures"] += run.failures
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--latency-requests", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/llmtest_bench"
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/14")
    args = parser.parse_args()

    instant_fake, instant = start_fake("openai", 0)
    slow_fake, slow = start_fake("openai", 100)
    env = _env(args, instant, slow)
    recreate_database(args.database_url)
    subprocess.run(
        ["redis-cli", "-u", args.redis_url, "flushdb"], check=False, capture_output=True
    )
    key = _prepare(env)
    gateway, port = start_gateway(env, args.workers)
    try:
        time.sleep(1.0)
        figures = asyncio.run(_bench(args, port, key, instant))
        peaks = [_peak_mb(pid) for pid in _worker_pids(gateway.pid)]
    finally:
        # A graceful stop: each worker writes the records it still holds.
        gateway.send_signal(signal.SIGTERM)
        gateway.wait(timeout=60)
        instant_fake.terminate()
        slow_fake.terminate()

    recorded = _count_calls(env)
    print()
    print(f"peak memory per worker (MB): {', '.join(f'{p:.0f}' for p in peaks)}")
    print(
        f"gateway requests sent: {figures['sent']}, failed: {figures['failures']}, "
        f"call records: {recorded}"
    )
    added = figures["added_json_at_1"][0]
    checks = {
        f"added p50 at 1 client {added:.2f} ms <= 3 ms": added <= 3.0,
        f"{figures['rps_json_64']:.0f} req/s (json, 64 clients) >= 500": max(
            figures["rps_json_32"], figures["rps_json_64"]
        )
        >= 500,
        f"100 ms provider at 64 clients: {figures['slow_share_json']:.0%} of ideal "
        ">= 60%": figures["slow_share_json"] >= 0.60,
        f"peak per worker {max(peaks):.0f} MB <= 250 MB": max(peaks) <= 250,
        "no record lost": recorded == figures["sent"],
    }
    for text, ok in checks.items():
        print(f"{'PASS' if ok else 'MISS'}  {text}")


if __name__ == "__main__":
    main()
