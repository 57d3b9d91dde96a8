"""Which HTTP client should carry the proxy's upstream calls: aiohttp or httpx?

Runs a fake provider in its own process, then measures each client from one asyncio
loop, as the gateway would use it: one request at a time (latency) and 64 at once
(throughput), non-streamed and streamed.

    .venv/bin/python bench/upstream_clients.py [--requests 2000]
"""

import argparse
import asyncio
import functools
import json
import statistics
import time
from collections.abc import Awaitable, Callable

import aiohttp
import httpx

from bench._common import percentile, start_fake

BODY = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
STREAM_BODY = {**BODY, "stream": True}


async def _aiohttp_call(session: aiohttp.ClientSession, url: str, body: dict) -> None:
    async with session.post(url, data=json.dumps(body)) as response:
        if body.get("stream"):
            async for _ in response.content.iter_any():
                pass
        else:
            await response.read()


async def _httpx_call(client: httpx.AsyncClient, url: str, body: dict) -> None:
    if body.get("stream"):
        async with client.stream("POST", url, content=json.dumps(body)) as response:
            async for _ in response.aiter_raw():
                pass
    else:
        response = await client.post(url, content=json.dumps(body))
        response.read()


async def _measure(
    call: Callable[[], Awaitable[None]], requests: int, concurrency: int
) -> tuple[list[float], float]:
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            await call()
            latencies.append((time.perf_counter() - start) * 1000)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, requests / (time.perf_counter() - start)


async def _run(url: str, requests: int) -> None:
    headers = {"content-type": "application/json"}
    session = aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), headers=headers
    )
    client = httpx.AsyncClient(
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=200),
        headers=headers,
    )
    clients: dict[str, Callable[[dict], Awaitable[None]]] = {
        "aiohttp": lambda body: _aiohttp_call(session, url, body),
        "httpx": lambda body: _httpx_call(client, url, body),
    }
    print(
        f"{'client':8} {'mode':7} {'conc':>4} {'p50 ms':>8} {'p99 ms':>8} {'req/s':>8}"
    )
    for mode, body in (("json", BODY), ("stream", STREAM_BODY)):
        for concurrency in (1, 64):
            for name, call in clients.items():
                one = functools.partial(call, body)
                await _measure(one, 200, concurrency)  # warm-up, not counted
                latencies, rate = await _measure(one, requests, concurrency)
                print(
                    f"{name:8} {mode:7} {concurrency:>4} "
                    f"{statistics.median(latencies):8.3f} "
                    f"{percentile(latencies, 99):8.3f} {rate:8.0f}"
                )
    await session.close()
    await client.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    fake, port = start_fake("openai", 0)
    try:
        asyncio.run(_run(f"http://127.0.0.1:{port}/v1/chat/completions", args.requests))
    finally:
        fake.terminate()


if __name__ == "__main__":
    main()
