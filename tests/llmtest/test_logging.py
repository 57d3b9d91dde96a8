"""llmtest.logging.SafeFormatter: one line per record, no traceback, no key."""

import io
import logging
from collections.abc import Iterator

import pytest

from llmtest.logging import SafeFormatter, redact

# Made-up keys of the real shapes, assembled so that no key-shaped literal sits in
# the source for secret scanners to flag.
GATEWAY_KEY = "llmt_" + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_xy"
OPENAI_KEY = "sk-proj-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0Fe"
ANTHROPIC_KEY = "sk-ant-" + "api03-Qq1Ww2Ee3Rr4Tt5Yy6Uu7Ii8Oo9Pp0-AaSsDd"


@pytest.fixture
def log() -> Iterator[tuple[logging.Logger, io.StringIO]]:
    """A logger writing through SafeFormatter, with the settings' format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s %(message)s"))
    logger = logging.getLogger("tests.safe_formatter")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger, stream
    logger.removeHandler(handler)
    logger.propagate = True


def _fail_with(message: str) -> None:
    try:
        raise RuntimeError(message)
    except RuntimeError as error:
        raise ValueError(message) from error


def test_a_logged_exception_prints_no_traceback_and_no_key(log):
    logger, stream = log

    try:
        _fail_with(f"upstream refused {OPENAI_KEY} for client {GATEWAY_KEY}")
    except ValueError:
        logger.exception("proxy.upstream_failed", extra={"flow": "support-bot"})

    line = stream.getvalue()
    assert line.count("\n") == 1
    assert "Traceback" not in line and "test_logging.py" not in line
    assert GATEWAY_KEY not in line and GATEWAY_KEY[5:] not in line
    assert OPENAI_KEY not in line and OPENAI_KEY[8:] not in line
    assert line.startswith("ERROR tests.safe_formatter proxy.upstream_failed")
    assert "error=ValueError: upstream refused sk-pr… for client llmt_AbCd…" in line
    assert "flow=support-bot" in line


def test_keys_in_arguments_and_extra_fields_are_redacted(log):
    logger, stream = log

    logger.warning(
        "auth.header %s",
        f"Bearer {GATEWAY_KEY}",
        extra={"provider_key": ANTHROPIC_KEY, "header": f"x-api-key: {GATEWAY_KEY}"},
    )

    line = stream.getvalue()
    assert GATEWAY_KEY[9:] not in line
    assert ANTHROPIC_KEY[10:] not in line
    assert "provider_key=sk-ant-ap…" in line


def test_a_message_with_line_breaks_stays_on_one_line(log):
    logger, stream = log

    try:
        raise RuntimeError("first line\nFORGED ERROR second line")
    except RuntimeError:
        logger.exception("provider.error\nFORGED INFO event")

    assert stream.getvalue().count("\n") == 1


def test_stack_info_is_not_printed_either(log):
    logger, stream = log

    logger.info("benchmark.started", stack_info=True, extra={"benchmark_id": 7})

    assert (
        stream.getvalue()
        == "INFO tests.safe_formatter benchmark.started benchmark_id=7\n"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (GATEWAY_KEY, "llmt_AbCd…"),
        (OPENAI_KEY, "sk-pr…"),
        (ANTHROPIC_KEY, "sk-ant-ap…"),
        ("sk-" + "a" * 48, "sk-aa…"),
        (f"Authorization: Bearer {OPENAI_KEY}", "Authorization: Bearer …"),
        (f"x-api-key: {GATEWAY_KEY}", "x-api-key: …"),
        ("calls=3 flow=support-bot", "calls=3 flow=support-bot"),
        ("task-id sk-1 risk-free", "task-id sk-1 risk-free"),
    ],
)
def test_redact_cuts_keys_to_a_short_prefix(text, expected):
    assert redact(text) == expected
