"""What the proxy needs to know about flows on every call, without a query each time.

Active routes (which model serves a flow's calls for a requested model) and the
flows whose sample capture differs from the settings are read into one snapshot
that each process keeps for CONFIG_CACHE_TTL_S seconds. A change made in this
process (accepting a suggestion, the admin) drops the snapshot at once; other
processes see it within the TTL.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Q

from flows.models import Flow, Route
from llmtest.snapshots import Cached

logger = logging.getLogger(__name__)

FlowKey = tuple[int, str]  # (account id, flow name)


@dataclass(frozen=True, slots=True)
class FlowConfig:
    routes: dict[tuple[int, str, str], str]
    capture: dict[FlowKey, tuple[float | None, int | None]]

    def route(self, account_id: int, flow: str, model: str) -> str | None:
        """The model that serves `model` in this flow, if a route says so."""
        return self.routes.get((account_id, flow, model))

    def capture_rate(self, account_id: int, flow: str) -> float:
        rate = self.capture.get((account_id, flow), (None, None))[0]
        return settings.SAMPLE_CAPTURE_RATE if rate is None else rate

    def capture_cap(self, account_id: int, flow: str) -> int:
        cap = self.capture.get((account_id, flow), (None, None))[1]
        return settings.SAMPLE_CAPTURE_CAP if cap is None else cap


def _load() -> FlowConfig:
    routes = {
        (account_id, flow, from_model): to_model
        for account_id, flow, from_model, to_model in Route.objects.filter(
            active=True
        ).values_list("flow__account_id", "flow__name", "from_model", "to_model")
    }
    capture = {
        (account_id, name): (rate, cap)
        for account_id, name, rate, cap in Flow.objects.filter(
            Q(capture_rate__isnull=False) | Q(capture_cap__isnull=False)
        ).values_list("account_id", "name", "capture_rate", "capture_cap")
    }
    return FlowConfig(routes, capture)


_cached = Cached(_load, "flows")
config = _cached.get
aconfig = _cached.aget
# Forget the snapshot in this process.
invalidate = _cached.invalidate
