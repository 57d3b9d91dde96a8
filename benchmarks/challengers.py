"""Picking challengers: models the gateway can call that may serve a flow better.

The candidates are the models the catalog says the gateway can serve
(`proxy.catalog.servable`: the pricing catalog's models of every configured
provider, the models the providers' own lists name, and every model an operator
priced), less those that are no chat model to switch a flow to: deprecated ones,
ones models.dev says write no text, and ids that name embeddings, audio, images and
the like. Of the rest, a model is left out when what the catalog knows of it rules
it out for the flow's samples: a context window smaller than the longest sample
needs, no tool calls while the samples use tools, no image input while they send
images. A model the catalog knows nothing about stays in.

What "better" may mean:

- cost: cheaper than the current model, the strongest of those first;
- speed: faster, by the median latency this gateway measured for the model over the
  last week when it has enough calls, else small models and fast providers first;
- quality: stronger, i.e. dearer (the catalog has no quality score; price is the
  proxy every provider's line-up follows), the next step up first;
- balanced: a mix of the three.

When the current model has no price, "cheaper" starts from the cheapest model and
"stronger" from the catalog's median price.

Picks alternate between providers, so that one provider's line-up does not fill
every slot when others are configured.
"""

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from statistics import median
from typing import Any

from django.utils import timezone

from flows.models import Call
from proxy import catalog
from proxy.providers import Snapshot

# Catalog entries that are not chat models, or not ones to switch a flow to.
_NOT_CHAT = re.compile(
    r"embed|tts|whisper|transcri|audio|realtime|image|dall-e|moderation|search|"
    r"computer-use|deep-research|babbage|davinci|curie|^ada|instruct|ft:|:|"
    r"-live|live-|rerank|vision-preview|guard|\d{4}-\d{2}-\d{2}|-\d{4}$|-16k|-32k",
    re.IGNORECASE,
)
_SMALL = re.compile(r"mini|nano|flash|haiku|lite|small|tiny|\b\d{1,2}b\b", re.I)
_FAST_PROVIDERS = {"groq", "cerebras", "sambanova", "fireworks", "together"}
# Calls of a model in the last week before its measured latency is trusted.
_MIN_CALLS_FOR_LATENCY = 20
# Characters of a conversation's JSON per token: English runs near four, and a
# rough count only has to tell an 8k-token window from a 128k one.
_CHARS_PER_TOKEN = 4
# Content part types that carry an image, in the OpenAI and Anthropic formats.
_IMAGE_PARTS = {"image_url", "image", "input_image"}


@dataclass(frozen=True, slots=True)
class Needs:
    """What a flow's samples ask of a model (nothing, by default)."""

    context_tokens: int = 0  # the longest sample and its answer, roughly
    tools: bool = False
    images: bool = False


def needs_of(conversations: Iterable[list[Any]], answer_tokens: int) -> Needs:
    """What these sample conversations need of a model answering them with up to
    `answer_tokens` tokens."""
    longest, tools, images = 0, False, False
    for messages in conversations:
        size = len(json.dumps(messages, ensure_ascii=False)) // _CHARS_PER_TOKEN
        longest = max(longest, size)
        for message in messages:
            if not isinstance(message, dict):
                continue
            tools = tools or message.get("role") == "tool" or "tool_calls" in message
            images = images or _has_image(message.get("content"))
    return Needs(longest + answer_tokens if longest else 0, tools, images)


def _has_image(content: object) -> bool:
    if not isinstance(content, list):
        return False
    return any(
        isinstance(part, dict) and part.get("type") in _IMAGE_PARTS for part in content
    )


def _fits(entry: catalog.Entry, needs: Needs) -> bool:
    """False only when what the catalog knows rules the model out."""
    window = entry.context_window
    if needs.context_tokens and window is not None and window < needs.context_tokens:
        return False
    caps = entry.capabilities
    if needs.tools and caps.tool_call is False:
        return False
    inputs = caps.input_modalities
    return not (needs.images and inputs and "image" not in inputs)


@dataclass(frozen=True, slots=True)
class Candidate:
    model: str
    provider: str
    price: Decimal | None  # blended USD per million tokens (3 input : 1 output)
    latency_ms: float | None  # measured median, when known

    @property
    def small(self) -> bool:
        return bool(_SMALL.search(self.model))

    @property
    def fast_provider(self) -> bool:
        return self.provider in _FAST_PROVIDERS


def blended_price(snapshot: Snapshot, model: str) -> Decimal | None:
    """USD per million tokens at three input tokens to one output token."""
    try:
        resolved = snapshot.resolve(model)
    except Exception:
        return None
    rates = snapshot.rates(resolved)
    if rates is None:
        return None
    return (3 * rates.input + rates.output) / 4


def measured_latencies() -> dict[str, float]:
    """Median latency per served model over the last week, across all accounts."""
    since = timezone.now() - timedelta(days=7)
    by_model: dict[str, list[float]] = defaultdict(list)
    rows = Call.objects.filter(
        created_at__gte=since, outcome=Call.Outcome.OK
    ).values_list("served_model", "latency_ms")
    for model, latency in rows.iterator(chunk_size=5000):
        by_model[model].append(latency)
    return {
        model: median(values)
        for model, values in by_model.items()
        if len(values) >= _MIN_CALLS_FOR_LATENCY
    }


def candidates(
    snapshot: Snapshot, exclude: set[str], needs: Needs | None = None
) -> list[Candidate]:
    latencies = measured_latencies()
    found = []
    for served in catalog.servable(snapshot):
        bare = served.id.rpartition("/")[2]
        if served.id in exclude or bare in exclude or _NOT_CHAT.search(bare):
            continue
        entry = served.entry
        if entry.deprecated or not entry.writes_text:
            continue
        if not _fits(entry, needs or Needs()):
            continue
        found.append(
            Candidate(
                served.id,
                served.provider,
                blended_price(snapshot, served.id),
                latencies.get(bare),
            )
        )
    return found


def pick(
    snapshot: Snapshot,
    current_model: str,
    goal: str,
    limit: int,
    needs: Needs | None = None,
) -> list[str]:
    """Up to `limit` challengers for `current_model`, chosen for `goal`, among the
    models that can meet the flow's `needs`."""
    pool = candidates(
        snapshot, {current_model, current_model.rpartition("/")[2]}, needs
    )
    base_price = blended_price(snapshot, current_model)
    base_latency = measured_latencies().get(current_model.rpartition("/")[2])
    ranked = {
        "cost": _cheaper(pool, base_price),
        "speed": _faster(pool, base_price, base_latency),
        "quality": _stronger(pool, base_price),
    }
    if goal == "balanced":
        quotas = [("cost", 2), ("speed", 2), ("quality", 1)]
        chosen: list[str] = []
        for name, count in quotas:
            fresh = [c for c in _alternate(ranked[name]) if c.model not in chosen]
            chosen += [c.model for c in fresh[:count]]
        leftovers = [
            c.model
            for c in _alternate(ranked["cost"] + ranked["speed"] + ranked["quality"])
            if c.model not in chosen
        ]
        return (chosen + list(dict.fromkeys(leftovers)))[:limit]
    return [c.model for c in _alternate(ranked[goal])][:limit]


def _priced(pool: list[Candidate]) -> list[Candidate]:
    return [c for c in pool if c.price is not None]


def _cheaper(pool: list[Candidate], base: Decimal | None) -> list[Candidate]:
    if base is None:
        # Nothing to be cheaper than (the current model has no price): the
        # cheapest first, so that a run never starts on the dearest models.
        return sorted(_priced(pool), key=lambda c: (c.price or 0, c.model))
    cheaper = [c for c in _priced(pool) if (c.price or 0) < base]
    return sorted(cheaper, key=lambda c: (-(c.price or 0), c.model))


def _stronger(pool: list[Candidate], base: Decimal | None) -> list[Candidate]:
    priced = sorted(_priced(pool), key=lambda c: (c.price or 0, c.model))
    if base is None:
        # No price to step up from: from the catalog's median price upwards,
        # rather than the few flagship models that cost a hundred times more.
        return priced[len(priced) // 2 :]
    return [c for c in priced if (c.price or 0) > base]


def _faster(
    pool: list[Candidate], base_price: Decimal | None, base_latency: float | None
) -> list[Candidate]:
    def key(c: Candidate) -> tuple[int, float, str]:
        if c.latency_ms is not None:
            return (0, c.latency_ms, c.model)
        hint = 0 if c.fast_provider else 1 if c.small else 2
        return (1 + hint, float(c.price or 0), c.model)

    faster = [
        c
        for c in pool
        if (
            base_latency is not None
            and c.latency_ms is not None
            and c.latency_ms < base_latency
        )
        or (c.latency_ms is None and (c.fast_provider or c.small))
        or (base_latency is None and c.latency_ms is not None)
    ]
    return sorted(faster, key=key)


def _alternate(ranked: list[Candidate]) -> list[Candidate]:
    """The same candidates, taking turns between providers, each in rank order."""
    queues: dict[str, list[Candidate]] = defaultdict(list)
    for candidate in ranked:
        queues[candidate.provider].append(candidate)
    out: list[Candidate] = []
    while any(queues.values()):
        for name in list(queues):
            if queues[name]:
                out.append(queues[name].pop(0))
    return out
