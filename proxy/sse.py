"""Incremental Server-Sent Events decoder for relaying LLM provider streams.

Follows the WHATWG HTML "event stream interpretation" algorithm
(https://html.spec.whatwg.org/multipage/server-sent-events.html) over bytes that
arrive in arbitrary chunks, with one deliberate deviation documented in
``SSEDecoder.close``.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass

# The spec treats one leading BOM as encoding noise, not as part of the first line.
_BOM = "\ufeff"
# Event type the spec assigns when a block has no (or an empty) ``event`` field.
_DEFAULT_EVENT_TYPE = "message"
# The spec ignores ids containing NUL so they can never reach a Last-Event-ID header.
_NUL = "\x00"


@dataclass(frozen=True, slots=True)
class SSEEvent:
    """One dispatched event."""

    data: str
    event: str = _DEFAULT_EVENT_TYPE
    id: str | None = None
    retry: int | None = None


@dataclass(frozen=True, slots=True)
class SSEComment:
    """A comment line, surfaced so a relay can forward keep-alive pings."""

    text: str


def _split_lines(text: str) -> tuple[list[str], bool]:
    """Split text on CRLF, CR or LF; the last item is the unterminated remainder.

    Also reports whether the text ended in CR, because an LF opening the next
    chunk then completes that same line ending rather than starting a new one.
    """
    ends_with_cr = text.endswith("\r")
    if "\r" in text:
        # Normalising lets every terminator share one C-level split instead of
        # a regex; providers almost always send bare LF, which skips this.
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return text.split("\n"), ends_with_cr


class SSEDecoder:
    """Turn a byte stream into SSEEvent and SSEComment items as bytes arrive.

    ``last_event_id`` and ``reconnection_time`` expose stream-level state that
    outlives individual events (e.g. for a Last-Event-ID header on reconnect).
    """

    def __init__(self) -> None:
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        # A list, so a long line arriving in many chunks is joined once, not
        # re-concatenated quadratically.
        self._partial_line: list[str] = []
        self._skip_leading_lf = False
        self._at_stream_start = True
        self._closed = False
        self._data: list[str] = []
        self._event_type = ""
        self._last_event_id: str | None = None
        self._block_retry: int | None = None
        self._reconnection_time: int | None = None

    @property
    def last_event_id(self) -> str | None:
        return self._last_event_id

    @property
    def reconnection_time(self) -> int | None:
        return self._reconnection_time

    def feed(self, chunk: bytes) -> list[SSEEvent | SSEComment]:
        if self._closed:
            raise ValueError("feed() called after close()")
        return self._consume(self._utf8.decode(chunk))

    def close(self) -> list[SSEEvent | SSEComment]:
        if self._closed:
            return []
        self._closed = True
        out = self._consume(self._utf8.decode(b"", final=True))
        if self._partial_line:
            last_line = "".join(self._partial_line)
            self._partial_line = []
            self._handle_lines([last_line], out)
        # Deviation: the spec drops an unterminated event at EOF, but some LLM
        # providers omit the final blank line, so a pending event is dispatched.
        self._dispatch(out)
        return out

    def _consume(self, text: str) -> list[SSEEvent | SSEComment]:
        out: list[SSEEvent | SSEComment] = []
        if not text:
            return out
        if self._at_stream_start:
            self._at_stream_start = False
            if text.startswith(_BOM):
                text = text[1:]
        if self._skip_leading_lf:
            self._skip_leading_lf = False
            if text.startswith("\n"):
                text = text[1:]
        if "\n" not in text and "\r" not in text:
            if text:
                self._partial_line.append(text)
            return out
        lines, self._skip_leading_lf = _split_lines(text)
        if self._partial_line:
            self._partial_line.append(lines[0])
            lines[0] = "".join(self._partial_line)
            self._partial_line = []
        remainder = lines.pop()
        if remainder:
            self._partial_line.append(remainder)
        self._handle_lines(lines, out)
        return out

    def _handle_lines(self, lines: list[str], out: list[SSEEvent | SSEComment]) -> None:
        for line in lines:
            if not line:
                self._dispatch(out)
                continue
            if line[0] == ":":
                out.append(SSEComment(line[1:]))
                continue
            field, _, value = line.partition(":")
            if value.startswith(" "):
                value = value[1:]
            if field == "data":
                self._data.append(value)
            elif field == "event":
                self._event_type = value
            elif field == "id":
                if _NUL not in value:
                    self._last_event_id = value
            elif field == "retry" and value.isascii() and value.isdigit():
                self._block_retry = self._reconnection_time = int(value)

    def _dispatch(self, out: list[SSEEvent | SSEComment]) -> None:
        if self._data:
            out.append(
                SSEEvent(
                    data="\n".join(self._data),
                    event=self._event_type or _DEFAULT_EVENT_TYPE,
                    id=self._last_event_id,
                    retry=self._block_retry,
                )
            )
            self._data = []
        self._event_type = ""
        self._block_retry = None
