"""A benchmark's work, as tasks any worker can pick up.

`start` queues one `answer` task per sample and model. When a sample has both the
current model's answer and a challenger's, the task that completed the pair queues
a `judge` task for it. The task that completes the last step aggregates the result.

Every task is safe to run twice: a step is claimed in its row before any model is
called, a finished step is never redone, and a step whose claim is older than the
task time limit (its worker died) can be claimed again. Only the first task to end
a run publishes its `result` or `error` event.
"""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from benchmarks import events, results, runs
from benchmarks.judge import combine, judge_messages, parse_verdict
from benchmarks.models import Answer, Benchmark, Judgment, StepStatus
from benchmarks.signals import benchmark_finished
from flows import recorder
from llmtest import jobs
from llmtest.errors import GatewayError
from proxy import client

logger = logging.getLogger(__name__)


class _RunEnded(Exception):
    """The run was failed while this step worked; stop quietly."""


@contextmanager
def _step(benchmark_id: str) -> Iterator[None]:
    """Whatever a step raises fails the run with an `error` event, never silently."""
    try:
        yield
    except _RunEnded:
        pass
    except GatewayError as error:
        if error.status == 402:
            runs.fail(
                benchmark_id,
                "The account ran out of credits during the benchmark; top it up "
                "and run it again.",
                "insufficient_credits",
            )
        else:
            runs.fail(benchmark_id, error.message, error.code or "benchmark_failed")
    except Exception:
        logger.exception("benchmarks.step_failed", extra={"benchmark": benchmark_id})
        runs.fail(
            benchmark_id, "The benchmark hit an internal error.", "internal_error"
        )
    finally:
        # The step's calls are recorded and charged before the step counts as done.
        recorder.drain(timeout=30)


def _live(benchmark_id: str) -> Benchmark | None:
    benchmark = Benchmark.objects.select_related("flow").filter(pk=benchmark_id).first()
    if benchmark is None or benchmark.finished:
        return None
    return benchmark


@shared_task(name="benchmarks.start")
def start(benchmark_id: str) -> None:
    with _step(benchmark_id):
        benchmark = _live(benchmark_id)
        if benchmark is None:
            return
        runs.mark_running(benchmark_id)
        sample_ids = list(benchmark.samples.order_by("id").values_list("pk", flat=True))
        events.progress(
            benchmark_id,
            "running",
            runs.steps_done(benchmark_id),
            benchmark.total_steps,
            f"Replaying {len(sample_ids)} samples on {len(benchmark.models)} models.",
        )
        # Every step's row exists before any task runs; each task then only
        # claims its own. The current model's answer first for each sample, so
        # judging starts early.
        Answer.objects.bulk_create(
            [
                Answer(benchmark_id=benchmark_id, sample_id=sample_id, model=model)
                for sample_id in sample_ids
                for model in benchmark.models
            ],
            ignore_conflicts=True,
        )
        for sample_id in sample_ids:
            for model in benchmark.models:
                jobs.enqueue(answer, benchmark_id, sample_id, model)


def _claim(table: type[Answer] | type[Judgment], **keys: Any) -> Any:
    """Take a step for this task: its row, or None if it is done or taken.

    A step still marked running after the task time limit lost its worker; it may
    be taken again.
    """
    now = timezone.now()
    lease = now - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT)
    taken = (
        table.objects.filter(**keys)  # type: ignore[attr-defined]
        .filter(
            Q(status=StepStatus.PENDING)
            | Q(status=StepStatus.RUNNING, claimed_at__lt=lease)
        )
        .update(status=StepStatus.RUNNING, claimed_at=now)
    )
    if not taken:
        return None
    return table.objects.select_related("sample").get(**keys)  # type: ignore[attr-defined]


@shared_task(name="benchmarks.answer")
def answer(benchmark_id: str, sample_id: int, model: str) -> None:
    with _step(benchmark_id):
        benchmark = _live(benchmark_id)
        if benchmark is None:
            return
        row = _claim(
            Answer, benchmark_id=benchmark_id, sample_id=sample_id, model=model
        )
        done = None
        if row is not None:
            completion = client.complete(
                account_id=benchmark.account_id,
                flow=benchmark.flow.name,
                model=model,
                messages=row.sample.messages,
                source=client.BENCHMARK,
                max_tokens=settings.BENCHMARK_MAX_TOKENS,
            )
            if completion.status == 402:
                raise GatewayError(402, completion.error)
            row.status = StepStatus.DONE if completion.ok else StepStatus.FAILED
            row.text = completion.text
            row.error = completion.error[:500]
            row.call_id = completion.call_id
            row.latency_ms = completion.latency_ms
            row.cost_usd = completion.cost_usd
            row.finished_at = timezone.now()
            row.save()
            done = _progress(benchmark, "answering", model, _answer_message(row))
        _queue_judgments(benchmark, sample_id, model)
        _finish_if_complete(benchmark, done)


def requeue(benchmark_id: str) -> None:
    """Queue again every unfinished step of a run whose worker stopped: steps it
    had claimed go back to pending, `start` queues each answer again (a finished
    one only queues its judgments if they are missing), and each unfinished
    judgment is queued."""
    stale = timezone.now() - timedelta(seconds=settings.BENCHMARK_STALL_TIMEOUT_S)
    for table in (Answer, Judgment):
        rows = table.objects.filter(benchmark_id=benchmark_id)  # type: ignore[attr-defined]
        rows.filter(status=StepStatus.RUNNING, claimed_at__lt=stale).update(
            status=StepStatus.PENDING
        )
    jobs.enqueue(start, benchmark_id)
    judgments = (
        Judgment.objects.filter(benchmark_id=benchmark_id)
        .exclude(status__in=runs.FINAL_STEPS)
        .values_list("sample_id", "challenger")
    )
    for sample_id, challenger in judgments:
        jobs.enqueue(judge, benchmark_id, sample_id, challenger)


def _answer_message(row: Answer) -> str:
    if row.status == StepStatus.DONE:
        return (
            f"{row.model} answered sample {row.sample_id} in {row.latency_ms:.0f} ms."
        )
    return f"{row.model} failed on sample {row.sample_id}: {row.error}"


def _queue_judgments(benchmark: Benchmark, sample_id: int, model: str) -> None:
    """Queue a judge task for each pair this answer completes on this sample (the
    current model's answer completes up to one per challenger); the unique row
    makes sure only one task queues each."""
    pairs = benchmark.challengers if model == benchmark.current_model else [model]
    finished = set(
        Answer.objects.filter(
            benchmark=benchmark,
            sample_id=sample_id,
            model__in=[benchmark.current_model, *pairs],
            status__in=runs.FINAL_STEPS,
        ).values_list("model", flat=True)
    )
    if benchmark.current_model not in finished:
        return
    for challenger in pairs:
        if challenger not in finished:
            continue
        _, created = Judgment.objects.get_or_create(
            benchmark=benchmark, sample_id=sample_id, challenger=challenger
        )
        if created:
            jobs.enqueue(judge, str(benchmark.pk), sample_id, challenger)


@shared_task(name="benchmarks.judge")
def judge(benchmark_id: str, sample_id: int, challenger: str) -> None:
    with _step(benchmark_id):
        benchmark = _live(benchmark_id)
        if benchmark is None:
            return
        row = _claim(
            Judgment,
            benchmark_id=benchmark_id,
            sample_id=sample_id,
            challenger=challenger,
        )
        done = None
        if row is not None:
            _judge(benchmark, row)
            row.finished_at = timezone.now()
            row.save()
            message = f"Judged {challenger} on sample {sample_id}: {row.verdict}."
            done = _progress(benchmark, "judging", challenger, message)
        _finish_if_complete(benchmark, done)


def _judge(benchmark: Benchmark, row: Judgment) -> None:
    answers = {
        a.model: a
        for a in Answer.objects.filter(
            benchmark=benchmark,
            sample_id=row.sample_id,
            model__in=(benchmark.current_model, row.challenger),
        )
    }
    baseline, rival = answers[benchmark.current_model], answers[row.challenger]
    row.status = StepStatus.DONE
    if baseline.status != StepStatus.DONE:
        row.verdict = Judgment.Verdict.ERROR
        row.reason = "The current model gave no answer to compare with."
        return
    if rival.status != StepStatus.DONE:
        row.verdict = Judgment.Verdict.LOSS
        row.reason = f"The challenger gave no answer: {rival.error}"[:500]
        return
    conversation = row.sample.messages
    orders = [
        judge_messages(conversation, baseline.text, rival.text),
        judge_messages(conversation, rival.text, baseline.text),
    ]
    picks: list[str | None] = [None, None]
    reasons = ["", ""]
    cost = Decimal(0)
    call_ids: list[str] = []
    pending = [0, 1]
    failure = ""  # the judge call's own error, when it failed rather than misspoke
    for _attempt in range(1 + settings.JUDGE_RETRIES):
        outcomes = client.complete_many(
            [
                {
                    "account_id": benchmark.account_id,
                    "flow": benchmark.flow.name,
                    "model": benchmark.judge_model,
                    "messages": orders[i],
                    "source": client.JUDGE,
                    "max_tokens": 300,
                    "response_format": settings.JUDGE_RESPONSE_FORMAT,
                }
                for i in pending
            ]
        )
        still = []
        for i, outcome in zip(pending, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                raise outcome
            if outcome.status == 402:
                raise GatewayError(402, outcome.error)
            if outcome.call_id:
                call_ids.append(str(outcome.call_id))
            cost += outcome.cost_usd or 0
            verdict = parse_verdict(outcome.text) if outcome.ok else None
            if not outcome.ok:
                failure = outcome.error or "the call failed"
            if verdict is None:
                still.append(i)
            else:
                picks[i], reasons[i] = verdict
        pending = still
        if not pending:
            break
    row.first_order = picks[0] or "error"
    row.second_order = picks[1] or "error"
    row.verdict = combine(picks[0], picks[1])
    if row.verdict != Judgment.Verdict.ERROR:
        row.reason = (reasons[0] or reasons[1])[:500]
    elif failure:
        row.reason = f"The judge could not be asked: {failure}"[:500]
    else:
        row.reason = "The judge's verdict could not be read."
    row.cost_usd = cost
    row.call_ids = call_ids


def _progress(benchmark: Benchmark, stage: str, model: str, message: str) -> int:
    """Publish a finished step, unless the run has ended meanwhile; returns the
    run's steps done."""
    live = runs.touch(benchmark.pk)
    done = runs.steps_done(benchmark.pk)
    if live:
        events.progress(
            benchmark.pk, stage, done, benchmark.total_steps, message, model
        )
    else:
        runs.settle_spend(benchmark.pk)
    return done


def _finish_if_complete(benchmark: Benchmark, done: int | None = None) -> None:
    if done is None:
        done = runs.steps_done(benchmark.pk)
    if done < benchmark.total_steps:
        return
    claimed = Benchmark.objects.filter(
        pk=benchmark.pk, status=Benchmark.Status.RUNNING, aggregating=False
    ).update(aggregating=True)
    if not claimed:
        return
    events.progress(
        benchmark.pk,
        "aggregating",
        benchmark.total_steps,
        benchmark.total_steps,
        "Every answer is in and judged; computing the verdict.",
    )
    benchmark.refresh_from_db()
    result = results.aggregate(benchmark)
    if result["baseline"]["answered"] == 0:
        runs.fail(
            benchmark.pk,
            f"The current model {benchmark.current_model} answered none of the "
            f"samples (first error: {result['baseline']['first_error']}).",
            "baseline_failed",
        )
        return
    if not runs.complete(benchmark.pk, result):
        return
    benchmark.refresh_from_db()
    try:
        for _receiver, extra in benchmark_finished.send(Benchmark, benchmark=benchmark):
            if isinstance(extra, dict):
                result.update(extra)
    except Exception:
        # The result stands without a suggestion; the run is not failed for it.
        logger.exception("benchmarks.finished_hook_failed")
    Benchmark.objects.filter(pk=benchmark.pk).update(result=result)
    events.publish(benchmark.pk, events.RESULT, result)
