"""Request parsers for the REST API."""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser


class SafeJSONParser(JSONParser):
    """DRF's JSON parser, with a body nested too deep to parse answered as a 400.

    Python's json module recurses once per level of nesting, so a body of a few
    hundred thousand `[` raises RecursionError, which DRF would turn into a 500.
    """

    def parse(
        self,
        stream: IO[Any],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise ParseError(
                "JSON parse error - the body is nested too deeply."
            ) from error
