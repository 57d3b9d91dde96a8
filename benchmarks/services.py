"""Starting a benchmark, and the state changes every step of one goes through."""

import logging
from collections import Counter
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Account
from benchmarks import events, runs, tasks
from benchmarks.challengers import needs_of, pick
from benchmarks.models import Benchmark
from flows import config as flow_config
from flows.models import Call, Flow
from llmtest import jobs
from llmtest.errors import GatewayError
from proxy import catalog, providers, upstream
from proxy.providers import Resolved, Snapshot

logger = logging.getLogger(__name__)

# Days of traffic that decide a flow's current model.
_RECENT_DAYS = 30


def benchmark_start(
    account: Account,
    flow_name: str,
    current_model: str | None = None,
    optimize_for: str = Benchmark.Goal.BALANCED,
    challengers: list[str] | None = None,
) -> Benchmark:
    """Check everything the caller can fix, create the run and queue it.

    Raises GatewayError (400, 402 or 404) before anything is created.
    """
    flow = Flow.objects.filter(account=account, name=flow_name).first()
    if flow is None:
        raise GatewayError(
            404,
            f"There is no flow named '{flow_name}' on this account. Send calls with "
            "the X-Flow header, or seed samples with POST /api/samples.",
            code="flow_not_found",
            param="flow",
        )
    samples = list(
        flow.samples.order_by("-created_at", "-id")[: settings.BENCHMARK_MAX_SAMPLES]
    )
    minimum = settings.SAMPLES_MIN_FOR_BENCHMARK
    if len(samples) < minimum:
        raise GatewayError(
            400,
            f"The flow '{flow_name}' has {len(samples)} "
            f"sample{'' if len(samples) == 1 else 's'}; a benchmark needs at "
            f"least {minimum}. Add {minimum - len(samples)} more with POST "
            "/api/samples, or let the proxy capture them from traffic.",
            code="not_enough_samples",
            param="flow",
        )
    snapshot = providers.snapshot()
    current = current_model or _current_model(flow)
    current_target = _check_callable(snapshot, current, "currentModel")
    if current_model:
        _check_known(snapshot, current, current_target, "currentModel")
    if challengers is not None:
        _check_count(challengers)
        # One challenger per model a provider serves: 'openai/gpt-4o' and 'gpt-4o'
        # are the same model.
        targets: dict[tuple[str, str], str] = {}
        for model in challengers:
            target = _check_callable(snapshot, model, "challengers")
            _check_known(snapshot, model, target, "challengers")
            if target == current_target:
                raise GatewayError(
                    400,
                    f"'{model}' is the current model '{current}'; it cannot also be "
                    "a challenger.",
                    code="invalid_challengers",
                    param="challengers",
                )
            targets.setdefault(target, model)
        chosen = list(targets.values())
    else:
        needs = needs_of(
            (sample.messages for sample in samples), settings.BENCHMARK_MAX_TOKENS
        )
        chosen = pick(
            snapshot, current, optimize_for, settings.BENCHMARK_MAX_CHALLENGERS, needs
        )
        if not chosen:
            raise GatewayError(
                400,
                f"No challenger for '{current}' is available: configure another "
                "provider (or price a model in the admin), or name the challengers.",
                code="no_challengers",
                param="challengers",
            )
    judge = settings.JUDGE_MODEL
    _check_callable(snapshot, judge, "judge", status=503, code="judge_unavailable")
    account.refresh_from_db(fields=["credits_usd"])
    if account.credits_usd <= 0:
        raise GatewayError(
            402,
            "This account has no credits left; a benchmark's calls are paid from "
            "them. Top it up first.",
            code="insufficient_credits",
        )
    _refuse_a_second_run(flow)
    try:
        with transaction.atomic():
            benchmark = Benchmark.objects.create(
                account=account,
                flow=flow,
                current_model=current,
                challengers=chosen,
                optimize_for=optimize_for,
                judge_model=judge,
                total_steps=len(samples) * (1 + 2 * len(chosen)),
            )
            benchmark.samples.set(samples)
            transaction.on_commit(lambda: _queue(benchmark))
    except IntegrityError:
        # Another request started one between the check and the insert.
        _refuse_a_second_run(flow)
        raise
    return benchmark


def _check_count(challengers: list[str]) -> None:
    """The API's serializer checks this too; the command line comes here only."""
    most = settings.BENCHMARK_MAX_CHALLENGERS
    if not challengers or len(challengers) > most:
        raise GatewayError(
            400,
            f"Name 1 to {most} challengers (leave them out to let the gateway pick); "
            f"{len(challengers)} named.",
            code="invalid_challengers",
            param="challengers",
        )


def _refuse_a_second_run(flow: Flow) -> None:
    """GatewayError(409) while the flow has a run that is still going. A stalled
    one is failed first rather than rescued: the new run takes its place, so a dead
    worker does not block the flow."""
    unfinished = Benchmark.objects.filter(
        flow=flow, status__in=(Benchmark.Status.QUEUED, Benchmark.Status.RUNNING)
    )
    for benchmark_id in unfinished.values_list("pk", flat=True):
        runs.fail_if_stalled(benchmark_id)
    running = unfinished.values_list("pk", flat=True).first()
    if running is not None:
        raise GatewayError(
            409,
            f"A benchmark of '{flow.name}' is still running ({running}): follow it "
            f"at /api/benchmark/{running}/events, or start another once it ends.",
            code="benchmark_running",
        )


def _queue(benchmark: Benchmark) -> None:
    events.progress(
        benchmark.pk,
        "queued",
        0,
        benchmark.total_steps,
        f"Queued: {benchmark.samples.count()} samples on {len(benchmark.models)} "
        f"models, judged by {benchmark.judge_model}.",
    )
    jobs.enqueue(tasks.start, str(benchmark.pk))


def _current_model(flow: Flow) -> str:
    """The model the flow's calls asked for most in recent traffic, or, when a
    route serves that model with another, the model that serves it."""
    since = timezone.now() - timedelta(days=_RECENT_DAYS)
    counts = Counter(
        Call.objects.filter(
            flow=flow, source=Call.Source.PROXY, created_at__gte=since
        ).values_list("requested_model", flat=True)
    )
    if not counts:
        raise GatewayError(
            400,
            f"The flow '{flow.name}' has no recent traffic to tell its model; pass "
            "currentModel.",
            code="current_model_required",
            param="currentModel",
        )
    requested = counts.most_common(1)[0][0]
    routed = flow_config.config().route(flow.account_id, flow.name, requested)
    return routed or requested


def _check_known(
    snapshot: Snapshot, model: str, target: tuple[str, str], param: str
) -> None:
    """GatewayError(400) for a model id its provider does not list and nothing
    prices (a typo would otherwise cost a whole run of failed calls). A provider
    whose list is unknown (it has none, or did not answer) gets the benefit of
    the doubt."""
    provider_name, provider_model = target
    listed = [item.id for item in catalog.listed(snapshot).get(provider_name, [])]
    resolved = Resolved(snapshot.providers[provider_name], provider_model)
    if not listed or provider_model in listed or snapshot.rates(resolved):
        return
    raise GatewayError(
        400,
        f"The model '{model}' is neither in the list of models the provider "
        f"'{provider_name}' serves nor in the pricing catalog; check its id "
        "(GET /v1/models lists the models this gateway can call).",
        code="unknown_model",
        param=param,
    )


def _check_callable(
    snapshot: Snapshot,
    model: str,
    param: str,
    status: int = 400,
    code: str = "unknown_model",
) -> tuple[str, str]:
    """The (provider, model) a model id is served by; GatewayError when none."""
    try:
        resolved = snapshot.resolve(model)
        upstream.require_key(resolved.provider)
        return resolved.provider.name, resolved.model
    except GatewayError as error:
        what = "judge model" if param == "judge" else "model"
        raise GatewayError(
            status,
            f"The {what} '{model}' cannot be called: {error.message}",
            code=code,
            param=None if param == "judge" else param,
        ) from error
