"""What POST /api/benchmark refuses before anything runs, and challenger picking."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as accounts
from benchmarks import challengers
from benchmarks.models import Answer, Benchmark
from proxy import catalog, client, providers
from tests.benchmarks.conftest import CURRENT, run_benchmark, stream_request
from tests.factories import CallFactory
from tests.fakes.providers import ErrorReply, JsonReply


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
        ({"challengers": ["openai/gpt-4o"]}, 400, "challengers", "invalid_challengers"),
        ({"challengers": []}, 400, "challengers", None),
        ({"challengers": ["nobody/knows"]}, 400, "challengers", "unknown_model"),
        # The provider lists its models and nothing prices this id: a typo.
        ({"currentModel": "gpt-4ö"}, 400, "currentModel", "unknown_model"),
        ({"challengers": ["gpt-4o-minii"]}, 400, "challengers", "unknown_model"),
        ({"challengers": ["a", "b", "c", "d", "e", "f"]}, 400, "challengers", None),
        ({"flow": "bad name!"}, 400, "flow", "invalid"),
        ({"flow": 123}, 400, "flow", None),
        ({"currentModel": 4}, 400, "currentModel", None),
        ({"challengers": [4]}, 400, "challengers.0", None),
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


def test_a_model_only_the_providers_list_names_is_accepted(flow, sse_http, fake_openai):
    # gpt-fake has no price anywhere; the fake OpenAI lists it.
    stream = run_benchmark(sse_http, currentModel="gpt-fake", challengers=[CURRENT])

    assert stream.status == 200
    assert stream.events[-1].event == "result"


def test_any_id_is_accepted_when_the_provider_lists_nothing(
    flow, sse_http, fake_openai
):
    fake_openai.models = []
    catalog.invalidate()

    stream = run_benchmark(sse_http, currentModel="gpt-unlisted", challengers=[CURRENT])

    assert stream.status == 200
    assert stream.events[-1].event in ("result", "error")
    assert Benchmark.objects.get().current_model == "gpt-unlisted"


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
    servable = {served.id for served in catalog.servable(snapshot)}
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
    # OpenAI, Anthropic and a local server are configured: the picks take turns.
    owners = [providers.snapshot().resolve(m).provider.name for m in cheaper]
    assert len(set(owners[:3])) == 3
    assert {"anthropic", "openai"} <= set(owners)
    assert len(set(mixed)) == len(mixed)


def test_auto_picked_benchmark_runs(flow, sse_http, fake_openai, fake_anthropic):
    stream = run_benchmark(sse_http, challengers=None, optimizeFor="cost")

    assert stream.events[-1].event == "result", stream.events[-1].data
    benchmark = Benchmark.objects.get()
    assert 1 <= len(benchmark.challengers) <= 5
    assert benchmark.optimize_for == "cost"
    assert Decimal(str(stream.events[-1].data["spend"]["total_usd"])) > 0


@pytest.mark.parametrize("goal", ["speed", "balanced", "cost", "quality"])
def test_auto_picked_challengers_on_an_openai_only_gateway_all_answer(
    flow, sse_http, settings, fake_openai, goal
):
    settings.ANTHROPIC_API_KEY = ""
    settings.OPENAI_COMPATIBLE_PROVIDERS = {}
    providers.invalidate()

    stream = run_benchmark(sse_http, challengers=None, optimizeFor=goal)

    assert stream.events[-1].event == "result", stream.events[-1].data
    benchmark = Benchmark.objects.get()
    assert benchmark.challengers
    snapshot = providers.snapshot()
    for model in benchmark.challengers:
        assert snapshot.resolve(model).provider.name == "openai"
    failed = Answer.objects.exclude(status="done")
    assert not failed.exists(), [(a.model, a.error) for a in failed]


def test_a_challenger_the_provider_refuses_loses_without_ending_the_run(
    flow, sse_http, fake_openai
):
    def refuse_nano(request):
        if (request.json or {}).get("model") == "gpt-4.1-nano":
            return ErrorReply(status=404, message="The model does not exist.")
        return None

    fake_openai.responder = refuse_nano

    stream = run_benchmark(sse_http, challengers=["gpt-4o-mini", "gpt-4.1-nano"])

    assert stream.events[-1].event == "result", stream.events[-1].data
    result = stream.events[-1].data
    refused = Answer.objects.filter(model="gpt-4.1-nano")
    assert refused.count() == 4
    assert set(refused.values_list("status", flat=True)) == {"failed"}
    assert "does not exist" in refused.first().error
    by_model = {c["model"]: c for c in result["challengers"]}
    assert by_model["gpt-4.1-nano"]["losses"] == 4
    assert Answer.objects.filter(model="gpt-4o-mini", status="done").count() == 4


def _say_hi(account, model: str) -> client.Completion:
    return client.complete(
        account_id=account.pk,
        flow="support-bot",
        model=model,
        messages=[{"role": "user", "content": "hi"}],
        source=client.BENCHMARK,
    )


def test_a_model_no_provider_takes_is_a_failed_completion(gateway, account):
    completion = _say_hi(account, "nobody-serves-this")

    assert not completion.ok
    assert completion.status == 400
    assert completion.code == "model_not_found"


@pytest.mark.parametrize("body", [{"choices": "nope"}, {"object": "chat.completion"}])
def test_a_reply_that_is_no_completion_is_a_failed_one_not_an_empty_answer(
    gateway, account, fake_openai, body
):
    fake_openai.enqueue(JsonReply(body=body))

    completion = _say_hi(account, "gpt-4o-mini")

    assert not completion.ok
    assert completion.code == "unreadable_reply"
    assert completion.text == ""


def test_a_second_run_of_a_flow_waits_for_the_first_to_end(flow, sse_http, fake_openai):
    fake_openai.default_latency_s = 0.3
    with sse_http.stream(
        "POST",
        "/api/benchmark",
        json={
            "flow": "support-bot",
            "currentModel": "gpt-4o",
            "challengers": ["gpt-4o-mini"],
        },
    ) as first:
        running = Benchmark.objects.get()

        second = sse_http.post(
            "/api/benchmark",
            json={
                "flow": "support-bot",
                "currentModel": "gpt-4o",
                "challengers": ["gpt-4o-mini"],
            },
        )
        first.read()

    error = second.json()["error"]
    assert second.status_code == 409
    assert error["code"] == "benchmark_running"
    assert str(running.pk) in error["message"]
    assert Benchmark.objects.count() == 1

    third = run_benchmark(sse_http, challengers=["gpt-4o-mini"])

    assert third.events[-1].event == "result"
    assert Benchmark.objects.count() == 2


def test_a_stalled_run_does_not_block_the_next_one(
    flow, sse_http, fake_openai, bench_settings
):
    stalled = Benchmark.objects.create(
        account=flow.account,
        flow=flow,
        current_model="gpt-4o",
        judge_model="gpt-4o-mini",
        status=Benchmark.Status.RUNNING,
        progressed_at=timezone.now() - timedelta(hours=1),
    )

    stream = run_benchmark(sse_http, challengers=["gpt-4o-mini"])

    assert stream.events[-1].event == "result"
    stalled.refresh_from_db()
    assert stalled.status == Benchmark.Status.FAILED
    assert stalled.error["code"] == "stalled"
