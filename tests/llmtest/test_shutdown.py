"""A gateway worker stopped gracefully writes every call record it still holds."""

import os
import signal
import subprocess
import sys
from decimal import Decimal

import openai
import pytest
from django.db import connection

from flows.models import Call
from tests.factories import AccountFactory, api_key_for
from tests.fakes.providers import FakeOpenAI
from tests.gateway import _free_port

pytestmark = pytest.mark.django_db(transaction=True)


def _database_url() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    user, host = db["USER"] or "postgres", db["HOST"] or "127.0.0.1"
    return f"postgres://{user}@{host}:{db['PORT'] or 5432}/{db['NAME']}"


def _wait_for_port(port: int) -> None:
    import socket
    import time

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError("the gateway did not start")


def test_records_waiting_in_the_recorder_are_written_when_uvicorn_stops(
    fake_openai: FakeOpenAI,
):
    account = AccountFactory(credits=Decimal("5"))
    key = api_key_for(account)
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "llmtest.settings_test",
        "DATABASE_URL": _database_url(),
        "OPENAI_BASE_URL": fake_openai.base_url,
        "OPENAI_API_KEY": "sk-test-provider",
        # Nothing is flushed on the timer: only the shutdown can write these.
        "RECORDER_FLUSH_MS": "600000",
        "RECORDER_BATCH_SIZE": "100000",
    }
    server = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
        [
            sys.executable,
            "-m",
            "uvicorn",
            "llmtest.asgi:application",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    try:
        _wait_for_port(port)
        client = openai.OpenAI(
            base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0
        )
        for _ in range(5):
            client.chat.completions.create(
                model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}]
            )
        assert Call.objects.count() == 0
    finally:
        server.send_signal(signal.SIGTERM)
        exit_code = server.wait(timeout=30)

    # uvicorn re-raises the signal it handled once it has shut down cleanly.
    assert exit_code in (0, -signal.SIGTERM)
    assert Call.objects.filter(account=account).count() == 5
