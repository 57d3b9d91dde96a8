"""Rich consoles over a management command's output streams."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.management.base import OutputWrapper
from rich import box
from rich.console import Console
from rich.table import Table

# Columns a table is laid out in when the output is not a terminal (a file, a pipe,
# a test): wide enough that no cell of a result table wraps.
_PLAIN_WIDTH = 160
# Terminals narrower than this get a table's essential columns only.
_WIDE = 120
# Characters the first column of a table keeps for its names before they fold.
_NAME_ROOM = 18


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    right: bool = False  # right-justified (numbers)
    optional: bool = False  # left out on a narrow terminal


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
    """A console that prints text as it is: model and flow names may hold what rich
    would read as markup (`[x]`) or emoji codes (`:secret:`)."""
    passthrough = _Passthrough(stream)
    width = None if passthrough.isatty() else _PLAIN_WIDTH
    return Console(
        file=passthrough,  # type: ignore[arg-type]
        width=width,
        highlight=False,
        markup=False,
        emoji=False,
    )


def table(
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence[str]],
    width: int,
) -> Table:
    """A plain table of text cells, without its optional columns when `width` (the
    console's) is narrow; a cell too long for its column folds."""
    wide = width >= _WIDE
    keep = [i for i, c in enumerate(columns) if wide or not c.optional]
    shown = Table(
        title=title,
        title_justify="left",
        # Narrow: no column rules, which leaves the room to the cells.
        box=box.HEAVY_HEAD if wide else box.SIMPLE_HEAD,
        pad_edge=wide,
        collapse_padding=not wide,
    )
    rows = list(rows)
    # The first column (a name) gets room for most names, then folds; the figures
    # after it stay whole.
    names = max((len(row[keep[0]]) for row in rows), default=0)
    for i in keep:
        column = columns[i]
        shown.add_column(
            column.name,
            justify="right" if column.right else "left",
            overflow="fold",
            no_wrap=i != keep[0],
            min_width=min(names, _NAME_ROOM) if i == keep[0] else None,
        )
    for row in rows:
        shown.add_row(*(row[i] for i in keep))
    return shown
