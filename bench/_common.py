"""Shared pieces of the benchmark scripts: processes, ports and percentiles."""

import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on port {port}")


def start_fake(
    kind: str, latency_ms: float, *extra: str
) -> tuple[subprocess.Popen[bytes], int]:
    """A fake provider in its own process (it records nothing, so memory is flat)."""
    port = free_port()
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "tests.fakes.providers",
            "--kind",
            kind,
            "--port",
            str(port),
            "--latency-ms",
            str(latency_ms),
            *extra,
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    wait_for_port(port)
    return process, port


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def recreate_database(url: str) -> None:
    if not url.startswith("postgres"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
        return
    import psycopg

    base, _, name = url.rpartition("/")
    with psycopg.connect(f"{base}/postgres", autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


def start_gateway(
    env: dict[str, str], workers: int
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen(
        [
            PYTHON,
            "-m",
            "uvicorn",
            "llmtest.asgi:application",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-access-log",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--timeout-graceful-shutdown",
            "30",
        ],
        cwd=ROOT,
        env=env,
    )
    wait_for_port(port)
    return process, port
