"""Release dates and capabilities from models.dev, kept in the catalog table.

models.dev publishes one JSON document (MODELS_DEV_URL): providers by id, each with
its models by id, each model with its name, release date, limits (context, output),
whether it calls tools, reasons and takes attachments, and its input and output
modalities. The sync is optional: `manage.py syncmodels` runs it, and with
MODELS_DEV_SYNC on a Celery beat job runs it every MODELS_DEV_SYNC_INTERVAL_S. The
catalog works without it; a failed fetch or an unreadable document changes nothing.
"""

import json
import logging
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import aiohttp
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from proxy import catalog, client, pricing, upstream
from proxy.models import CatalogModel

logger = logging.getLogger(__name__)

# Bytes: the whole document is about 1 MB; a much larger answer is not it.
_MAX_DOCUMENT_BYTES = 64 * 1024 * 1024
_READ_CHUNK_BYTES = 256 * 1024
# Characters the table keeps of an id and a name.
_MAX_PROVIDER = 100
_MAX_MODEL = 200
_MAX_NAME = 200


@dataclass(frozen=True, slots=True)
class Described:
    """One model as models.dev describes it, filed under the catalog's provider key."""

    provider: str
    model: str
    name: str
    release_date: date | None
    context_window: int | None
    output_limit: int | None
    tool_call: bool | None
    reasoning: bool | None
    attachment: bool | None
    input_modalities: list[str]
    output_modalities: list[str]


@dataclass(frozen=True, slots=True)
class SyncResult:
    ok: bool
    models: int = 0  # models described by the document
    created: int = 0  # of which the gateway had never seen before
    error: str = ""


class SyncFailed(Exception):
    """The document could not be fetched or read; nothing was changed."""


async def _afetch(url: str) -> Any:
    timeout = aiohttp.ClientTimeout(total=settings.CATALOG_FETCH_TIMEOUT_S)
    headers = {"accept": "application/json"}
    async with upstream.session().get(url, headers=headers, timeout=timeout) as reply:
        if reply.status != 200:
            raise SyncFailed(f"models.dev answered HTTP {reply.status}")
        chunks: list[bytes] = []
        size = 0
        async for chunk in reply.content.iter_chunked(_READ_CHUNK_BYTES):
            size += len(chunk)
            if size > _MAX_DOCUMENT_BYTES:
                raise SyncFailed("the document is larger than any models.dev one")
            chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except ValueError as error:
        raise SyncFailed("the document is not JSON") from error


def _flag(value: object) -> bool | None:
    return value if isinstance(value, bool) else None


def _count(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        return None
    # PositiveIntegerField's upper bound on every database Django supports.
    return min(int(value), 2_147_483_647)


def _release(value: object) -> date | None:
    # models.dev writes "2025-04-14", and "2024-05" where only the month is known.
    if not isinstance(value, str):
        return None
    text = value.strip()
    if len(text) == 7:
        text += "-01"
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _names(value: object) -> list[str]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, str) and len(item) <= 30]


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _describe(provider: str, key: str, model: dict[str, Any]) -> Described | None:
    given_id = model.get("id")
    model_id = given_id if isinstance(given_id, str) else key
    if not model_id or len(model_id) > _MAX_MODEL:
        return None
    limit = _mapping(model.get("limit"))
    modalities = _mapping(model.get("modalities"))
    name = model.get("name")
    return Described(
        provider=provider,
        model=model_id,
        name=name[:_MAX_NAME] if isinstance(name, str) else "",
        release_date=_release(model.get("release_date")),
        context_window=_count(limit.get("context")),
        output_limit=_count(limit.get("output")),
        tool_call=_flag(model.get("tool_call")),
        reasoning=_flag(model.get("reasoning")),
        attachment=_flag(model.get("attachment")),
        input_modalities=_names(modalities.get("input")),
        output_modalities=_names(modalities.get("output")),
    )


def _providers(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise SyncFailed("the document is not an object of providers")
    # The published document is the providers object itself; an excerpt may wrap
    # it with its source under "providers".
    wrapped = document.get("providers")
    if isinstance(wrapped, dict) and all(
        isinstance(p, dict) and "models" in p for p in wrapped.values()
    ):
        return wrapped
    return document


def parse(document: Any) -> list[Described]:
    """The models a models.dev document describes, one per catalog key.

    A provider the pricing catalog knows is filed under its id there (models.dev's
    `xai` is the catalog's `x-ai`); where two providers land on one id, the one
    named exactly so wins. Malformed models are skipped. Raises SyncFailed when
    the document is not a models.dev document.
    """
    providers = _providers(document)
    owners = {
        name: pricing.catalog_provider_id(name) or name
        for name, value in providers.items()
        if isinstance(value, dict) and isinstance(value.get("models"), dict)
    }
    found: dict[tuple[str, str], Described] = {}
    for name in sorted(owners, key=lambda n: (owners[n] != n, n)):
        owner = owners[name]
        if len(owner) > _MAX_PROVIDER:
            continue
        for key, model in providers[name]["models"].items():
            described = (
                _describe(owner, key, model) if isinstance(model, dict) else None
            )
            if described is not None:
                found.setdefault((owner, described.model), described)
    return list(found.values())


def _store(described: list[Described]) -> int:
    """Write the descriptions; returns how many models were new to the gateway."""
    now = timezone.now()
    with transaction.atomic():
        known = set(CatalogModel.objects.values_list("provider", "model"))
        # A first sync describes the whole world at once: none of it is news.
        first = not CatalogModel.objects.filter(synced_at__isnull=False).exists()
        rows = [
            CatalogModel(**asdict(item), synced_at=now, baseline=first)
            for item in described
        ]
        CatalogModel.objects.bulk_create(
            rows,
            batch_size=500,
            update_conflicts=True,
            unique_fields=["provider", "model"],
            update_fields=list(catalog.SYNCED_COLUMNS),
        )
    return sum((item.provider, item.model) not in known for item in described)


def sync(url: str | None = None) -> SyncResult:
    """Fetch the models.dev document and store what it says. Never raises for a
    failed fetch or a bad document: it logs, changes nothing and says so."""
    url = url or settings.MODELS_DEV_URL
    try:
        described = parse(client.run(_afetch(url)))
        if not described:
            raise SyncFailed("the document describes no models")
    except (aiohttp.ClientError, TimeoutError, SyncFailed) as error:
        message = str(error) or type(error).__name__
        logger.warning("modelsdev.sync_failed", extra={"url": url, "error": message})
        return SyncResult(ok=False, error=message)

    created = _store(described)
    catalog.invalidate()

    logger.info(
        "modelsdev.synced", extra={"models": len(described), "new_models": created}
    )
    return SyncResult(ok=True, models=len(described), created=created)
