"""Which model serves a flow's calls: the services that write routes.

The proxy reads the active routes through `flows.config`; every change here drops
this process's snapshot once its transaction commits (other processes pick it up
within CONFIG_CACHE_TTL_S).
"""

import logging
from collections.abc import Iterable

from django.db import transaction

from flows import config
from flows.models import Flow, Route

logger = logging.getLogger(__name__)

# Route.note's max_length.
_NOTE_CHARS = 300


def _lock_flow(flow_id: int) -> None:
    # Route changes of one flow are serialised on the flow's row: the "one active
    # route per model" rule spans rows that may not exist yet, so there is no
    # route row to lock.
    Flow.objects.select_for_update().filter(pk=flow_id).first()


def _switch_off(routes: Iterable[Route]) -> None:
    for route in routes:
        route.active = False
        route.save(update_fields=["active", "updated_at"])


def _repoint_chains(flow: Flow, from_model: str, to_model: str, note: str) -> None:
    """Routes that led to `from_model` now lead to `to_model` (A→B, B→C: A→C).

    The old route is switched off and a new one made, so the history stays and
    switching the old one back on undoes the change. A route that would now lead
    back to its own model is only switched off.
    """
    leading_here = list(
        Route.objects.filter(flow=flow, active=True, to_model=from_model)
    )
    _switch_off(leading_here)
    for old in leading_here:
        if old.from_model == to_model:
            continue
        chained = f"{note} (was {old.from_model} -> {old.to_model})".strip()
        Route.objects.create(
            flow=flow,
            from_model=old.from_model,
            to_model=to_model,
            note=chained[:_NOTE_CHARS],
        )


def route_set(flow: Flow, from_model: str, to_model: str, note: str = "") -> Route:
    """Serve the flow's calls for `from_model` with `to_model` from now on.

    Replaces the active route for (flow, from_model), if any, and repoints the
    flow's routes that led to `from_model`. Raises ValueError when both models are
    the same or one is empty.
    """
    if not from_model or not to_model:
        raise ValueError("A route needs both a requested and a serving model.")
    if from_model == to_model:
        raise ValueError(f"A route from {from_model} to itself changes nothing.")

    with transaction.atomic():
        _lock_flow(flow.pk)
        _switch_off(Route.objects.filter(flow=flow, active=True, from_model=from_model))
        _repoint_chains(flow, from_model, to_model, note)
        route = Route.objects.create(
            flow=flow, from_model=from_model, to_model=to_model, note=note[:_NOTE_CHARS]
        )
        transaction.on_commit(config.invalidate)

    logger.info(
        "flows.route_set",
        extra={
            "flow_id": flow.pk,
            "route_id": route.pk,
            "from_model": from_model,
            "to_model": to_model,
        },
    )
    return route


def route_disable(route: Route) -> Route:
    """Switch a route off: the flow's calls get the model they ask for again."""
    with transaction.atomic():
        _lock_flow(route.flow_id)
        route.refresh_from_db(fields=["active"])
        if route.active:
            _switch_off([route])
        transaction.on_commit(config.invalidate)

    logger.info("flows.route_disabled", extra={"route_id": route.pk})
    return route


def route_enable(route: Route) -> Route:
    """Switch a route back on, switching off whichever route replaced it."""
    with transaction.atomic():
        _lock_flow(route.flow_id)
        route.refresh_from_db(fields=["active"])
        if not route.active:
            replacing = Route.objects.filter(
                flow_id=route.flow_id, from_model=route.from_model, active=True
            )
            _switch_off(replacing)
            route.active = True
            route.save(update_fields=["active", "updated_at"])
        transaction.on_commit(config.invalidate)

    logger.info("flows.route_enabled", extra={"route_id": route.pk})
    return route
