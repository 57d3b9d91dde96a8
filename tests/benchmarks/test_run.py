"""A whole benchmark through the API on the in-process runner, streamed over SSE."""

import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone

from benchmarks import relay, tasks, watchdog
from benchmarks.models import Answer, Benchmark, Judgment
from flows.models import Call
from tests.benchmarks.conftest import (
    CHALLENGERS,
    CURRENT,
    judge_with,
    run_benchmark,
    stream_request,
)
from tests.conftest import settle
from tests.fakes import judges
from tests.fakes.providers import ErrorReply


def test_progress_streams_live_then_one_result(flow, sse_http, fake_openai):
    judge_with(fake_openai, judges.prefers("gpt-4o-mini"))
    fake_openai.default_latency_s = 0.05

    stream = run_benchmark(sse_http)

    assert stream.status == 200
    assert stream.headers["content-type"].startswith("text/event-stream")
    kinds = [e.event for e in stream.events]
    assert kinds.count("result") == 1
    assert kinds[-1] == "result"
    assert set(kinds) == {"progress", "result"}
    ids = [int(e.id) for e in stream.events]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    progress = stream.of("progress")
    assert progress[0].data["stage"] == "queued"
    assert {"stage", "done", "total", "model", "message"} <= set(progress[-1].data)
    total = 4 * (1 + 2 * len(CHALLENGERS))
    assert progress[-1].data["total"] == total
    assert max(p.data["done"] for p in progress) == total
    # Arrived as they happened, not all at once at the end.
    assert stream.events[-1].at - progress[1].at > 0.1


def test_result_figures_and_recorded_spend(flow, sse_http, fake_openai, account):
    judge_with(fake_openai, judges.prefers("gpt-4o-mini"))

    result = run_benchmark(sse_http).of("result")[0].data
    settle()

    assert result["current_model"] == CURRENT
    assert result["samples"] == 4
    rows = {row["model"]: row for row in result["challengers"]}
    mini = rows["gpt-4o-mini"]
    assert (mini["wins"], mini["ties"], mini["losses"], mini["errors"]) == (4, 0, 0, 0)
    assert mini["cost_change_pct"] < 0  # gpt-4o-mini is cheaper than gpt-4o
    assert mini["summary"].startswith("gpt-4o-mini: won 4, tied 0, lost 0 of 4 | ")
    assert "cheaper" in mini["summary"]
    assert 0 < mini["interval"]["low"] < mini["interval"]["high"] <= 1
    tiny = rows["local/tiny"]  # neither answer names gpt-4o-mini: the judge ties
    assert (tiny["wins"], tiny["ties"], tiny["losses"]) == (0, 4, 0)

    benchmark = Benchmark.objects.get()
    assert benchmark.status == Benchmark.Status.DONE
    calls = Call.objects.filter(flow=flow)
    models_spend = calls.filter(source="benchmark").aggregate(s=Sum("cost_usd"))["s"]
    judge_spend = calls.filter(source="judge").aggregate(s=Sum("cost_usd"))["s"]
    assert calls.filter(source="benchmark").count() == 4 * 3
    assert calls.filter(source="judge").count() == 4 * 2 * 2
    assert Decimal(str(result["spend"]["models_usd"])) == round(models_spend, 10)
    assert Decimal(str(result["spend"]["judge_usd"])) == round(judge_spend, 10)
    account.refresh_from_db()
    assert account.total_spent == models_spend + judge_spend
    notes = set(account.ledger.filter(kind="charge").values_list("note", flat=True))
    assert notes == {"support-bot (benchmark)", "support-bot (judge)"}
    # Benchmark spend is spend, but not the models the flow runs on.
    assert sse_http.get("/api/flows").json() == []
    status = sse_http.get("/api/status").json()
    assert Decimal(str(status["spend"])) == models_spend + judge_spend


def test_judge_preferring_first_position_gives_ties_only(flow, sse_http, fake_openai):
    judge_with(fake_openai, judges.first_position)

    result = run_benchmark(sse_http).of("result")[0].data

    for row in result["challengers"]:
        if row["model"] == "local/tiny":
            continue
        assert (row["wins"], row["losses"], row["ties"]) == (0, 0, 4)
    assert all(r["wins"] == 0 for r in result["challengers"])


def test_unreadable_verdicts_are_retried_then_errors(
    flow, sse_http, fake_openai, bench_settings
):
    judge_with(fake_openai, judges.unreadable)

    result = run_benchmark(sse_http, challengers=["gpt-4o-mini"]).of("result")[0].data

    row = result["challengers"][0]
    assert (row["wins"], row["ties"], row["losses"], row["errors"]) == (0, 0, 0, 4)
    assert result["recommendation"]["model"] is None
    judge_requests = [r for r in fake_openai.requests if judges.is_judge_request(r)]
    assert len(judge_requests) == 4 * 2 * (1 + bench_settings.JUDGE_RETRIES)


def test_judge_requests_carry_the_configured_response_format_and_answers_do_not(
    flow, sse_http, fake_openai, settings
):
    settings.JUDGE_RESPONSE_FORMAT = {"type": "json_object"}
    judge_with(fake_openai, judges.first_position)

    run_benchmark(sse_http, challengers=["gpt-4o-mini"])

    calls = [r for r in fake_openai.requests if r.method == "POST"]
    judged = [r for r in calls if judges.is_judge_request(r)]
    answers = [r for r in calls if not judges.is_judge_request(r)]
    assert len(judged) == 4 * 2 and len(answers) == 4 * 2
    assert all(r.json["response_format"] == {"type": "json_object"} for r in judged)
    assert all("response_format" not in r.json for r in answers)


def test_insufficient_evidence_says_how_many_more_samples(
    flow, sse_http, fake_openai, bench_settings
):
    judge_with(fake_openai, judges.prefers("gpt-4o-mini"))

    result = run_benchmark(sse_http, optimizeFor="cost").of("result")[0].data

    recommendation = result["recommendation"]
    # 4 wins of 4: the interval's lower bound (51%) is below the 70% bar.
    assert recommendation["model"] is None
    assert recommendation["reason"].startswith("Evidence is insufficient")
    assert recommendation["more_samples_needed"] > 0


def test_a_winner_is_recommended_when_its_bound_clears_the_bar(
    flow, sse_http, fake_openai, bench_settings
):
    bench_settings.BENCHMARK_BAR_COST = 0.4
    judge_with(fake_openai, judges.prefers("gpt-4o-mini"))

    result = run_benchmark(sse_http, optimizeFor="cost").of("result")[0].data

    # Both challengers clear the bar (local/tiny by tying every time): for cost,
    # the cheaper one is recommended.
    recommendation = result["recommendation"]
    assert recommendation["model"] == "local/tiny"
    assert [r["model"] for r in result["challengers"] if r["recommended"]] == [
        "local/tiny"
    ]

    result = (
        run_benchmark(sse_http, optimizeFor="cost", challengers=["gpt-4o-mini"])
        .of("result")[0]
        .data
    )

    recommendation = result["recommendation"]
    assert recommendation["model"] == "gpt-4o-mini"
    assert recommendation["quality"]["low"] >= 0.4
    assert recommendation["cost_change_pct"] < 0


def test_failing_benchmark_ends_with_an_error_event(flow, sse_http, fake_openai):
    fake_openai.default_reply = ErrorReply(status=500, message="provider down")

    stream = run_benchmark(sse_http)

    assert [e.event for e in stream.events][-1] == "error"
    assert len(stream.of("error")) == 1
    assert not stream.of("result")
    error = stream.of("error")[0].data
    assert error["code"] == "baseline_failed"
    assert error["spend"] == {"models_usd": 0.0, "judge_usd": 0.0, "total_usd": 0.0}
    assert "provider down" in error["message"]
    assert Benchmark.objects.get().status == Benchmark.Status.FAILED


def test_resume_with_last_event_id_replays_what_was_missed(flow, sse_http, fake_openai):
    judge_with(fake_openai, judges.first_position)
    first = run_benchmark(sse_http)
    benchmark = Benchmark.objects.get()
    cut = first.events[3]

    resumed = stream_request(
        sse_http,
        "GET",
        f"/api/benchmark/{benchmark.pk}/events",
        headers={"Last-Event-ID": cut.id},
    )

    assert [e.id for e in resumed.events] == [e.id for e in first.events[4:]]
    assert resumed.events[-1].event == "result"

    everything = stream_request(
        sse_http, "GET", f"/api/benchmark/{benchmark.pk}/events"
    )
    assert [e.id for e in everything.events] == [e.id for e in first.events]


def test_bad_last_event_id_is_a_400(flow, sse_http, fake_openai):
    run_benchmark(sse_http)
    benchmark = Benchmark.objects.get()
    url = f"/api/benchmark/{benchmark.pk}/events"

    # Not a number; digits that are not ASCII (str.isdigit says yes to both); more
    # digits than int() takes.
    for bad in ("abc", "\u00b2", "\u0663", "1" * 5000):
        by_query = sse_http.get(url, params={"lastEventId": bad})
        assert by_query.status_code == 400, bad
        assert by_query.json()["error"]["param"] == "Last-Event-ID"
    by_header = sse_http.get(url, headers={"Last-Event-ID": "abc"})
    assert by_header.status_code == 400
    latin1 = sse_http.get(url, headers={"Last-Event-ID": "\u00b2".encode("latin-1")})
    assert latin1.status_code == 400


def test_heartbeats_while_nothing_happens(flow, sse_http, fake_openai, bench_settings):
    bench_settings.SSE_HEARTBEAT_S = 0.2
    fake_openai.default_latency_s = 0.7

    stream = run_benchmark(sse_http, challengers=["gpt-4o-mini"])

    assert any(c.startswith("heartbeat") for c in stream.comments)
    assert stream.events[-1].event == "result"


def test_running_a_task_twice_calls_nobody_twice(flow, sse_http, fake_openai):
    judge_with(fake_openai, judges.first_position)
    run_benchmark(sse_http, challengers=["gpt-4o-mini"])
    benchmark = Benchmark.objects.get()
    before = len(fake_openai.requests)
    answer = Answer.objects.filter(benchmark=benchmark).first()
    judgment = Judgment.objects.filter(benchmark=benchmark).first()

    tasks.answer(str(benchmark.pk), answer.sample_id, answer.model)
    tasks.judge(str(benchmark.pk), judgment.sample_id, judgment.challenger)
    tasks.start(str(benchmark.pk))

    assert len(fake_openai.requests) == before
    assert Benchmark.objects.get().status == Benchmark.Status.DONE


def test_a_run_that_stalls_again_after_its_rescue_ends_with_an_error_event(
    flow, sse_http, bench_settings
):
    bench_settings.BENCHMARK_STALL_TIMEOUT_S = 1
    long_ago = timezone.now() - timedelta(seconds=30)
    benchmark = Benchmark.objects.create(
        account=flow.account,
        flow=flow,
        status=Benchmark.Status.RUNNING,
        current_model=CURRENT,
        challengers=CHALLENGERS,
        judge_model="gpt-4o-mini",
        total_steps=10,
        progressed_at=long_ago,
    )

    # Its samples are gone, so the rescue has nothing to run and it stalls again.
    stream = stream_request(sse_http, "GET", f"/api/benchmark/{benchmark.pk}/events")

    stages = [e.data.get("stage") for e in stream.of("progress")]
    assert stages.count("rescued") == 2
    assert stream.events[-1].event == "error"
    assert stream.events[-1].data["code"] == "stalled"
    benchmark.refresh_from_db()
    assert benchmark.status == Benchmark.Status.FAILED


def _stalled_run(flow):
    """A running one-challenger run of the flow's samples whose last step finished
    30 s ago, and that time."""
    long_ago = timezone.now() - timedelta(seconds=30)
    samples = list(flow.samples.all())
    benchmark = Benchmark.objects.create(
        account=flow.account,
        flow=flow,
        status=Benchmark.Status.RUNNING,
        current_model=CURRENT,
        challengers=["gpt-4o-mini"],
        judge_model="gpt-4o-mini",
        total_steps=len(samples) * 3,
        progressed_at=long_ago,
    )
    benchmark.samples.set(samples)
    return benchmark, long_ago


def test_a_run_whose_worker_stopped_is_finished_by_its_rescue(
    flow, sse_http, fake_openai, bench_settings
):
    bench_settings.BENCHMARK_STALL_TIMEOUT_S = 1
    judge_with(fake_openai, judges.first_position)
    benchmark, long_ago = _stalled_run(flow)
    # What a killed worker leaves: every answer claimed, none finished.
    for sample in benchmark.samples.all():
        for model in benchmark.models:
            Answer.objects.create(
                benchmark=benchmark,
                sample=sample,
                model=model,
                status="running",
                claimed_at=long_ago,
            )

    stream = stream_request(sse_http, "GET", f"/api/benchmark/{benchmark.pk}/events")

    assert stream.of("progress")[0].data["stage"] == "rescued"
    assert stream.events[-1].event == "result", stream.events[-1].data
    assert len(stream.of("result")) == 1
    benchmark.refresh_from_db()
    assert benchmark.status == Benchmark.Status.DONE
    assert benchmark.rescues == 1
    # Each step ran once after the rescue: 8 answers and 4 judgments of 2 calls.
    assert len(fake_openai.requests) == 8 + 4 * 2


def test_list_and_detail(flow, sse_http, fake_openai):
    judge_with(fake_openai, judges.first_position)
    run_benchmark(sse_http)
    benchmark = Benchmark.objects.get()

    listed = sse_http.get("/api/benchmarks").json()
    detail = sse_http.get(f"/api/benchmarks/{benchmark.pk}").json()

    assert [row["id"] for row in listed] == [str(benchmark.pk)]
    assert listed[0]["status"] == "done"
    assert listed[0]["flow"] == "support-bot"
    assert listed[0]["samples"] == 4
    assert detail["result"]["benchmark_id"] == str(benchmark.pk)
    assert detail["done_steps"] == detail["total_steps"]


def test_a_sample_a_challengers_format_cannot_carry_fails_that_answer_not_the_run(
    flow, sse_http, fake_openai
):
    judge_with(fake_openai, judges.first_position)
    sample = flow.samples.first()
    sample.messages = [
        *sample.messages,
        {"role": "function", "name": "lookup", "content": "Order 42 shipped."},
    ]
    sample.save()

    stream = run_benchmark(sse_http, challengers=["claude-sonnet-4-6"])

    assert [e.event for e in stream.events][-1] == "result"
    failed = Answer.objects.get(sample=sample, model="claude-sonnet-4-6")
    assert failed.status == "failed"
    assert "function" in failed.error
    answered = Answer.objects.filter(model="claude-sonnet-4-6", status="done")
    assert answered.count() == 3


@pytest.mark.parametrize("name", ["a\u0000b", "-bot", "bot\n"])
def test_listing_by_a_flow_no_flow_can_be_named_is_a_400(flow, sse_http, name):
    response = sse_http.get("/api/benchmarks", params={"flow": name})

    assert response.status_code == 400
    assert response.json()["error"]["param"] == "flow"


def test_a_finished_run_whose_events_are_gone_still_ends_its_stream(flow, sse_http):
    from datetime import timedelta

    from django.utils import timezone

    result = {"benchmark_id": "x", "recommendation": {"model": None}}
    benchmark = Benchmark.objects.create(
        account=flow.account,
        flow=flow,
        status=Benchmark.Status.DONE,
        current_model=CURRENT,
        challengers=CHALLENGERS,
        judge_model="gpt-4o-mini",
        result=result,
        finished_at=timezone.now() - timedelta(days=2),
    )

    stream = stream_request(sse_http, "GET", f"/api/benchmark/{benchmark.pk}/events")

    assert [(e.event, e.data) for e in stream.events] == [("result", result)]


def test_resuming_after_the_last_event_says_there_is_nothing_more(
    flow, sse_http, fake_openai
):
    stream = run_benchmark(sse_http, challengers=["gpt-4o-mini"])
    benchmark = Benchmark.objects.get()
    last = stream.events[-1]

    response = sse_http.get(
        f"/api/benchmark/{benchmark.pk}/events", headers={"Last-Event-ID": last.id}
    )

    # 204 is what tells an EventSource to stop reconnecting.
    assert last.event == "result"
    assert response.status_code == 204
    assert response.content == b""


def test_resuming_from_an_id_the_stream_never_had_is_a_400(flow, sse_http, fake_openai):
    run_benchmark(sse_http, challengers=["gpt-4o-mini"])
    benchmark = Benchmark.objects.get()

    response = sse_http.get(
        f"/api/benchmark/{benchmark.pk}/events", headers={"Last-Event-ID": "9999"}
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unknown_event_id"


def test_no_progress_is_published_once_a_run_has_ended(flow, sse_http, fake_openai):
    fake_openai.default_reply = ErrorReply(status=500, message="provider down")
    stream = run_benchmark(sse_http)
    benchmark = Benchmark.objects.get()
    error_id = stream.events[-1].id
    # A step still in flight when the run failed finishes now.
    answer = Answer.objects.filter(benchmark=benchmark).first()

    tasks._progress(benchmark, "answering", answer.model, "late")
    response = sse_http.get(
        f"/api/benchmark/{benchmark.pk}/events", headers={"Last-Event-ID": error_id}
    )

    assert stream.events[-1].event == "error"
    assert response.status_code == 204


def test_a_step_that_finishes_after_its_run_failed_brings_the_runs_spend_up_to_date(
    flow, sse_http, fake_openai
):
    fake_openai.default_reply = ErrorReply(status=500, message="provider down")
    run_benchmark(sse_http)
    benchmark = Benchmark.objects.get()
    assert benchmark.error["spend"]["total_usd"] == 0
    # A call that was in flight when the run failed is charged now.
    answer = Answer.objects.filter(benchmark=benchmark).first()
    Answer.objects.filter(pk=answer.pk).update(cost_usd=Decimal("0.25"))

    tasks._progress(benchmark, "answering", answer.model, "late")

    benchmark.refresh_from_db()
    assert benchmark.error["spend"]["total_usd"] == 0.25
    assert benchmark.error["code"] == "baseline_failed"


def test_a_judge_that_cannot_be_reached_is_reported_as_such(
    flow, sse_http, fake_openai
):
    def judge_down(request):
        if judges.is_judge_request(request):
            return ErrorReply(status=503, message="judge overloaded")
        return None

    fake_openai.responder = judge_down

    result = run_benchmark(sse_http, challengers=["gpt-4o-mini"]).of("result")[0].data

    assert result["challengers"][0]["errors"] == 4
    reasons = set(Judgment.objects.values_list("reason", flat=True))
    assert len(reasons) == 1
    assert reasons.pop().startswith("The judge could not be asked:")


def _wait_for_status(benchmark: Benchmark, status: str, within_s: float) -> None:
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        benchmark.refresh_from_db()
        if benchmark.status == status:
            return
        time.sleep(0.1)
    raise AssertionError(f"still {benchmark.status}, not {status}")


def test_the_sweeper_finishes_a_stalled_run_nobody_follows(
    flow, fake_openai, bench_settings
):
    bench_settings.BENCHMARK_STALL_TIMEOUT_S = 1
    bench_settings.BENCHMARK_WATCH_S = 0.2
    judge_with(fake_openai, judges.first_position)
    benchmark, _ = _stalled_run(flow)

    # No client, no API call: only the sweeper thread notices.
    assert watchdog.start_sweeper()
    try:
        _wait_for_status(benchmark, Benchmark.Status.DONE, within_s=30)
    finally:
        watchdog.stop_sweeper()

    assert benchmark.rescues == 1
    stored = relay.follow(benchmark.pk, poll_s=0.05)
    kinds = [kind for kind, _ in stored]
    assert kinds[0] == "progress" and kinds[-1] == "result"


def test_the_sweeper_fails_a_queued_run_no_worker_took(flow, bench_settings):
    bench_settings.BENCHMARK_START_TIMEOUT_S = 1
    bench_settings.BENCHMARK_WATCH_S = 0.2
    benchmark = Benchmark.objects.create(
        account=flow.account,
        flow=flow,
        current_model=CURRENT,
        challengers=["gpt-4o-mini"],
        judge_model="gpt-4o-mini",
        total_steps=3,
    )
    Benchmark.objects.filter(pk=benchmark.pk).update(
        created_at=timezone.now() - timedelta(seconds=30)
    )

    assert watchdog.start_sweeper()
    try:
        _wait_for_status(benchmark, Benchmark.Status.FAILED, within_s=10)
    finally:
        watchdog.stop_sweeper()

    assert benchmark.error["code"] == "no_worker"
    assert list(relay.follow(benchmark.pk, poll_s=0.05))[-1][0] == "error"


def test_no_sweeper_when_the_setting_is_zero(bench_settings):
    bench_settings.BENCHMARK_WATCH_S = 0

    assert not watchdog.start_sweeper()
