"""A fake models.dev, serving a models.dev document over real loopback HTTP.

The tests serve the real excerpt in `../shared/data/models-dev-sample.json` (read
here, by the tests; the product only ever fetches MODELS_DEV_URL). Failures are
scripted with the same replies as the fake providers (`ErrorReply`, `RawReply`,
`HangReply`, ...).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, ClassVar

from tests.fakes.providers import FakeProvider, JsonBody, RecordedRequest, Usage

# The excerpt sits next to the checkout: <root>/../shared/data.
SAMPLE = Path(__file__).resolve().parents[2].parent / "shared" / "data"
SAMPLE_FILE = SAMPLE / "models-dev-sample.json"


def load_sample() -> dict[str, Any]:
    """The excerpt as models.dev itself serves it: providers by id, at the top."""
    excerpt = json.loads(SAMPLE_FILE.read_text())
    return excerpt["providers"]


class FakeModelsDev(FakeProvider):
    """Serves GET /api.json with `document` (set it before the request)."""

    ROUTES: ClassVar[frozenset[tuple[str, str]]] = frozenset({("GET", "/api.json")})

    def __init__(self, document: dict[str, Any] | None = None, port: int = 0) -> None:
        super().__init__(port=port)
        self.document: dict[str, Any] = document or {}

    @property
    def document_url(self) -> str:
        return f"{self.url}/api.json"

    def default_body(
        self, request: RecordedRequest, content: str | None, usage: Usage | None
    ) -> JsonBody:
        return self.document

    def error_body(self, status: int, message: str | None) -> JsonBody:
        return {"error": message or f"Fake models.dev error {status}"}
