"""llmtest.parsers.SafeJSONParser: DRF's JSON parser, safe from deep nesting."""

import io

import pytest
from rest_framework.exceptions import ParseError

from llmtest.parsers import SafeJSONParser


def test_it_parses_a_json_body_as_drf_does():
    stream = io.BytesIO(b'{"rating": 5, "tags": [["a"]]}')

    data = SafeJSONParser().parse(stream)

    assert data == {"rating": 5, "tags": [["a"]]}


def test_a_body_nested_too_deeply_is_a_parse_error_not_a_crash():
    stream = io.BytesIO(b"[" * 100_000)

    with pytest.raises(ParseError, match="nested too deeply"):
        SafeJSONParser().parse(stream)


def test_malformed_json_is_still_a_parse_error():
    with pytest.raises(ParseError):
        SafeJSONParser().parse(io.BytesIO(b'{"rating": '))
