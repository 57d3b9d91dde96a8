"""What POST /api/benchmark refuses before anything runs, and challenger picking."""

from decimal import Decimal

import pytest

from accounts import services as accounts
from benchmarks import challengers
from benchmarks.models import Benchmark
from proxy import providers
from tests.benchmarks.conftest import CURRENT, run_benchmark, stream_request
from tests.factories import CallFactory


def _error(stream):
    assert not stream.events, "no stream may start for a refused benchmark"
    import json

    return json.loads(stream.raw)["error"]


@pytest.mark.parametrize(
    ("body", "status", "param", "code"),
    [
        ({"flow": "nope"}, 404, "flow", "flow_not_found"),
        ({"optimizeFor": "vibes"}, 400, "optimizeFor", "invalid"),
        ({"currentModel": "mystery-model"}, 400, "currentModel", "unknown_model"),
        ({"challengers": ["gpt-4o", "x"]}, 400, "challengers", "invalid_challengers"),
        ({"challengers": ["nobody/knows"]}, 400, "challengers", "unknown_model"),
        ({"challengers": ["a", "b", "c", "d", "e", "f"]}, 400, "challengers", None),
        ({"flow": "bad name!"}, 400, "flow", "invalid"),
    ],
)
def test_fixable_errors_are_refused_before_anything_runs(
    flow, sse_http, body, status, param, code
):
    stream = run_benchmark(sse_http, **body)

    assert stream.status == status
    error = _error(stream)
    assert error["param"] == param
    if code:
        assert error["code"] == code
    assert error["message"]
    assert not Benchmark.objects.exists()


def test_too_few_samples(flow, sse_http, bench_settings):
    bench_settings.SAMPLES_MIN_FOR_BENCHMARK = 10

    stream = run_benchmark(sse_http)

    assert stream.status == 400
    error = _error(stream)
    assert error["code"] == "not_enough_samples"
    assert "Add 6 more" in error["message"]


def test_no_credits_is_402(flow, sse_http, account):
    accounts.credits_add(account, -account.credits_usd, "adjustment", "test")

    stream = run_benchmark(sse_http)

    assert stream.status == 402
    assert _error(stream)["code"] == "insufficient_credits"
    assert not Benchmark.objects.exists()


def test_current_model_defaults_to_the_most_used_one(flow, sse_http, fake_openai):
    stream = run_benchmark(sse_http, currentModel=None)
    assert stream.status == 400
    assert _error(stream)["code"] == "current_model_required"

    CallFactory.create_batch(3, flow=flow, requested_model="gpt-4.1")
    CallFactory.create(flow=flow, requested_model="gpt-4o")

    stream = run_benchmark(sse_http, currentModel=None, challengers=["gpt-4o-mini"])

    assert stream.events[-1].event == "result"
    assert Benchmark.objects.get().current_model == "gpt-4.1"


def test_errors_render_as_an_sse_event_for_sse_clients(flow, sse_http):
    stream = stream_request(
        sse_http,
        "POST",
        "/api/benchmark",
        json={"flow": "nope"},
        headers={"Accept": "text/event-stream"},
    )

    assert stream.status == 404
    assert [e.event for e in stream.events] == ["error"]
    assert stream.events[0].data["error"]["code"] == "flow_not_found"


def test_auto_picked_challengers_are_callable_and_fit_the_goal(flow, sse_http, gateway):
    snapshot = providers.snapshot()
    servable = {model for model, _ in providers.servable_models(snapshot)}
    base = challengers.blended_price(snapshot, CURRENT)

    cheaper = challengers.pick(snapshot, CURRENT, "cost", 5)
    stronger = challengers.pick(snapshot, CURRENT, "quality", 5)
    faster = challengers.pick(snapshot, CURRENT, "speed", 5)
    mixed = challengers.pick(snapshot, CURRENT, "balanced", 5)

    for picked in (cheaper, stronger, faster, mixed):
        assert 0 < len(picked) <= 5
        assert CURRENT not in picked
        assert set(picked) <= servable
        assert not any("embedding" in m or "tts" in m for m in picked)
    assert all(challengers.blended_price(snapshot, m) < base for m in cheaper)
    assert all(challengers.blended_price(snapshot, m) > base for m in stronger)
    # OpenAI and Anthropic are both configured: the picks take turns.
    owners = [providers.snapshot().resolve(m).provider.name for m in cheaper[:2]]
    assert sorted(owners) == ["anthropic", "openai"]
    assert len(set(mixed)) == len(mixed)


def test_auto_picked_benchmark_runs(flow, sse_http, fake_openai, fake_anthropic):
    stream = run_benchmark(sse_http, challengers=None, optimizeFor="cost")

    assert stream.events[-1].event == "result", stream.events[-1].data
    benchmark = Benchmark.objects.get()
    assert 1 <= len(benchmark.challengers) <= 5
    assert benchmark.optimize_for == "cost"
    assert Decimal(str(stream.events[-1].data["spend"]["total_usd"])) > 0
