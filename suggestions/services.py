"""Filing suggestions from benchmark results, and deciding them.

Accepting a suggestion writes the flow's route through `flows.routes`; the proxy
reads it from there.
"""

import logging
from datetime import datetime
from typing import Any, TypedDict

from django.db import transaction
from django.utils import timezone

from benchmarks.models import Benchmark
from flows import routes
from flows.models import Route
from llmtest.errors import GatewayError
from suggestions.models import Suggestion

logger = logging.getLogger(__name__)

# Suggestion.summary's max_length.
_SUMMARY_CHARS = 500


class Figures(TypedDict):
    """What a suggestion's `figures` hold, as the benchmark measured them."""

    cost_change_pct: float | None
    latency_change_ms: float | None
    monthly_cost_usd_current: float | None
    monthly_cost_usd_suggested: float | None
    # metric, rate, low, high, bar, wins, ties, losses, errors
    quality: dict[str, Any] | None
    samples: int | None


def _figures(result: dict[str, Any], recommendation: dict[str, Any]) -> Figures:
    quality = recommendation.get("quality")
    return Figures(
        cost_change_pct=recommendation.get("cost_change_pct"),
        latency_change_ms=recommendation.get("latency_change_ms"),
        monthly_cost_usd_current=recommendation.get("monthly_cost_usd_current"),
        monthly_cost_usd_suggested=recommendation.get("monthly_cost_usd_suggested"),
        quality=quality if isinstance(quality, dict) else None,
        samples=recommendation.get("samples", result.get("samples")),
    )


def _already_decided(suggestion_id: int) -> GatewayError:
    row = Suggestion.objects.filter(pk=suggestion_id).values_list(
        "status", "superseded_by_id"
    )
    current = row.first()
    if current is None:
        return GatewayError(
            404, f"No suggestion with id {suggestion_id}.", code="not_found"
        )
    status, superseded_by = current
    if superseded_by is not None:
        message = (
            f"Suggestion {suggestion_id} was superseded by suggestion "
            f"{superseded_by} and can no longer be decided."
        )
    else:
        message = f"Suggestion {suggestion_id} was already {status}."
    return GatewayError(409, message, code="already_decided")


def _claim(suggestion_id: int, status: str) -> datetime:
    """Mark a pending suggestion decided and return when, or raise GatewayError(409).

    A conditional UPDATE rather than read-then-write: of two concurrent decisions,
    the second waits for the first's row lock and then finds nothing pending.
    """
    now = timezone.now()
    claimed = Suggestion.objects.filter(
        pk=suggestion_id, status=Suggestion.Status.PENDING
    ).update(status=status, decided_at=now)
    if not claimed:
        raise _already_decided(suggestion_id)
    return now


def suggestion_file(benchmark: Benchmark) -> Suggestion | None:
    """File the switch a finished benchmark recommends; None when it recommends none.

    The flow's older pending suggestions are dismissed as superseded. Safe to call
    twice for one benchmark: the second call returns the first call's suggestion.
    """
    result = benchmark.result if isinstance(benchmark.result, dict) else {}
    recommendation = result.get("recommendation")
    if not isinstance(recommendation, dict):
        return None
    current = result.get("current_model") or benchmark.current_model
    suggested = recommendation.get("model")
    if not suggested or suggested == current:
        return None

    with transaction.atomic():
        filed = Suggestion.objects.filter(benchmark=benchmark).first()
        if filed is not None:
            return filed
        summary = recommendation.get("summary") or f"Switch {current} to {suggested}."
        suggestion = Suggestion.objects.create(
            account_id=benchmark.account_id,
            flow_id=benchmark.flow_id,
            benchmark=benchmark,
            current_model=current,
            suggested_model=suggested,
            optimize_for=result.get("optimize_for") or benchmark.optimize_for,
            summary=summary[:_SUMMARY_CHARS],
            figures=_figures(result, recommendation),
        )
        superseded = (
            Suggestion.objects.filter(
                flow_id=benchmark.flow_id, status=Suggestion.Status.PENDING
            )
            .exclude(pk=suggestion.pk)
            .update(
                status=Suggestion.Status.DISMISSED,
                superseded_by=suggestion,
                decided_at=suggestion.created_at,
            )
        )

    logger.info(
        "suggestions.filed",
        extra={
            "suggestion_id": suggestion.pk,
            "benchmark_id": str(benchmark.pk),
            "superseded": superseded,
        },
    )
    return suggestion


def suggestion_accept(suggestion: Suggestion) -> Route:
    """Accept a pending suggestion: mark it and route the flow's calls for the
    current model to the suggested one, both or neither.

    Raises GatewayError(409) when the suggestion was already decided.
    """
    with transaction.atomic():
        decided_at = _claim(suggestion.pk, Suggestion.Status.ACCEPTED)
        route = routes.route_set(
            suggestion.flow,
            suggestion.current_model,
            suggestion.suggested_model,
            note=f"suggestion {suggestion.pk}",
        )
    suggestion.status, suggestion.decided_at = Suggestion.Status.ACCEPTED, decided_at

    logger.info(
        "suggestions.accepted",
        extra={"suggestion_id": suggestion.pk, "route_id": route.pk},
    )
    return route


def suggestion_dismiss(suggestion: Suggestion) -> None:
    """Dismiss a pending suggestion. Raises GatewayError(409) when already decided."""
    decided_at = _claim(suggestion.pk, Suggestion.Status.DISMISSED)
    suggestion.status, suggestion.decided_at = Suggestion.Status.DISMISSED, decided_at

    logger.info("suggestions.dismissed", extra={"suggestion_id": suggestion.pk})
