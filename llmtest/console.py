"""Rich consoles over a management command's output streams."""

from typing import Any

from django.core.management.base import OutputWrapper
from rich.console import Console

# Columns a table is laid out in when the output is not a terminal (a file, a pipe,
# a test): wide enough that no cell of a result table wraps.
_PLAIN_WIDTH = 160


class _Passthrough:
    """An OutputWrapper that writes what it is given as it is (OutputWrapper adds a
    newline to each write, which would break rich's rendering)."""

    def __init__(self, wrapper: OutputWrapper) -> None:
        self._wrapper = wrapper

    def write(self, text: str) -> int:
        self._wrapper.write(text, ending="")
        return len(text)

    def flush(self) -> None:
        self._wrapper.flush()

    def isatty(self) -> bool:
        return self._wrapper.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._wrapper, name)


def console(stream: OutputWrapper) -> Console:
    passthrough = _Passthrough(stream)
    width = None if passthrough.isatty() else _PLAIN_WIDTH
    return Console(file=passthrough, width=width, highlight=False)  # type: ignore[arg-type]
