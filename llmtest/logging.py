"""A log formatter that keeps secrets and stack traces out of every log line."""

import logging
import re

# Gateway keys, OpenAI/Anthropic-style provider keys and bearer headers.
_SECRET = re.compile(
    r"(llmt_[A-Za-z0-9_-]{4})[A-Za-z0-9_-]+"
    r"|(sk-(?:ant-)?[A-Za-z0-9_-]{2})[A-Za-z0-9_-]{8,}"
    r"|((?:Bearer|x-api-key:?)\s+)\S+",
    re.IGNORECASE,
)


def redact(text: str) -> str:
    """Return text with anything that looks like a key cut to a short prefix."""
    return _SECRET.sub(_keep_prefix, text)


def _keep_prefix(match: re.Match[str]) -> str:
    prefix = next(group for group in match.groups() if group is not None)
    return f"{prefix}…"


class SafeFormatter(logging.Formatter):
    """Formats a record on one line: an exception becomes `Type: message`, and a
    line break inside the record is written as `\\n`.

    Tracebacks name files and show local state, so they never reach the log; the
    stable event name and ids in the message are what an operator searches for.
    """

    def format(self, record: logging.LogRecord) -> str:
        message = super().formatMessage(self._prepared(record))
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            message += f" error={type(error).__name__}: {error}"
        extra = _extra_fields(record)
        if extra:
            message += " " + " ".join(f"{k}={v}" for k, v in extra.items())
        # A line break from an error message or a client's value would let it forge
        # a log line of its own.
        return redact(message).replace("\r", "\\r").replace("\n", "\\n")

    def _prepared(self, record: logging.LogRecord) -> logging.LogRecord:
        record.message = record.getMessage()
        record.asctime = self.formatTime(record, self.datefmt)
        return record


_STANDARD_ATTRS = frozenset(
    logging.LogRecord("", 0, "", 0, "", None, None).__dict__
) | {"message", "asctime", "taskName"}


def _extra_fields(record: logging.LogRecord) -> dict[str, object]:
    return {
        key: value
        for key, value in record.__dict__.items()
        if key not in _STANDARD_ATTRS and not key.startswith("_")
    }
