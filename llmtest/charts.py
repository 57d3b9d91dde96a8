"""Small server-side SVG charts for the admin: bars, lines and a scatter with error
bars. No JavaScript and nothing fetched, so they work offline and print.

Every chart is an accessible image: `role="img"` with a `<title>` and a `<desc>`
summing up the data, and a `<title>` on each mark that a browser shows on hover.
Text and axes are drawn in `currentColor`, so they follow the admin's light or dark
theme. Every piece of text is escaped here; the result is safe to put in a page.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from itertools import count

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Pixels of the drawing (it scales to its container through the viewBox).
WIDTH = 720
HEIGHT = 280
_MARGIN_LEFT = 64
_MARGIN_RIGHT = 20
_MARGIN_TOP = 34  # room for the legend
_MARGIN_BOTTOM = 44  # room for the x labels and the axis title
_FONT_PX = 11
# Okabe and Ito's palette: told apart with every common kind of colour blindness.
PALETTE = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#F0E442",
    "#999999",
)
# At most this many labels on the x axis of a bar or line chart; the rest are
# skipped evenly (30 days would otherwise overlap).
_MAX_X_LABELS = 8

# Characters of a legend name shown; a longer one ends in an ellipsis, whole in
# its <title>.
_LEGEND_CHARS = 40
# Pixels between legend rows, and the rows' first baseline.
_LEGEND_ROW = 16
_LEGEND_BASELINE = 16
# Average advance of a character at the font's size: wide enough to lay out by.
_CHAR_PX = _FONT_PX * 0.62
# Pixels kept clear between a text's box and the drawing's edge.
_EDGE = 2
# Pixels from the left edge that the rotated y axis title takes.
_Y_TITLE_CLEAR = 24

Format = Callable[[float], str]
# Labels for a whole axis at once, so they can share their precision.
TickFormat = Callable[[Sequence[float]], list[str]]
Box = tuple[float, float, float, float]
_ids = count(1)


@dataclass(frozen=True, slots=True)
class Series:
    """One named row of values, one per label; None where there is no value."""

    name: str
    values: Sequence[float | None]


@dataclass(frozen=True, slots=True)
class Point:
    """A mark on a scatter chart, with an optional vertical interval around `y`."""

    label: str
    x: float
    y: float
    low: float | None = None
    high: float | None = None
    # "recommended", "better" or "other": how the point is drawn and named.
    kind: str = "other"
    note: str = ""


@dataclass(frozen=True, slots=True)
class Reference:
    """A dashed line across the plot at one value, with its label."""

    label: str
    value: float


@dataclass(slots=True)
class _Canvas:
    title: str
    desc: str
    width: int = WIDTH
    height: int = HEIGHT
    chart_id: str = field(default_factory=lambda: f"chart-{next(_ids)}")
    # The plot's top: lower when the legend takes more than one row.
    top: float = _MARGIN_TOP
    # The plot's left: further right when the y labels are long.
    left: float = _MARGIN_LEFT
    parts: list[str] = field(default_factory=list)

    def add(self, markup: str) -> None:
        self.parts.append(markup)

    def render(self) -> SafeString:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
            f'viewBox="0 0 {self.width} {self.height}" width="100%" '
            f'aria-labelledby="{self.chart_id}-title {self.chart_id}-desc" '
            f'font-size="{_FONT_PX}" font-family="inherit">'
            f'<title id="{self.chart_id}-title">{escape(self.title)}</title>'
            f'<desc id="{self.chart_id}-desc">{escape(self.desc)}</desc>'
        )
        # Every variable piece above and in `parts` went through escape().
        return mark_safe(head + "".join(self.parts) + "</svg>")  # noqa: S308

    def box(self) -> tuple[float, float, float, float]:
        """left, top, right, bottom of the plotting area."""
        return (
            self.left,
            self.top,
            self.width - _MARGIN_RIGHT,
            self.height - _MARGIN_BOTTOM,
        )


# --- scales and ticks ---------------------------------------------------------------


def nice_ticks(low: float, high: float, target: int = 5) -> list[float]:
    """Round tick values covering [low, high], about `target` of them, at steps of
    1, 2 or 5 times a power of ten. A flat range gets a range around it."""
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError("tick bounds must be finite")
    if low > high:
        low, high = high, low
    if low == high:
        pad = abs(low) * 0.5 or 1.0
        low, high = low - pad if low < 0 else 0.0, high + pad
    raw_step = (high - low) / max(target, 1)
    magnitude = 10 ** math.floor(math.log10(raw_step))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw_step)
    first = math.floor(low / step + 1e-9) * step
    ticks = []
    value = first
    while value < high + step * 0.999:
        ticks.append(round(value, 12))
        value += step
    return ticks


@dataclass(frozen=True, slots=True)
class _Scale:
    domain_low: float
    domain_high: float
    range_low: float
    range_high: float

    def __call__(self, value: float) -> float:
        span = self.domain_high - self.domain_low or 1.0
        share = (value - self.domain_low) / span
        return self.range_low + share * (self.range_high - self.range_low)


def _text(
    x: float, y: float, text: str, anchor: str = "middle", extra: str = ""
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" fill="currentColor" '
        f"{extra}>{escape(text)}</text>"
    )


def _text_width(text: str) -> float:
    return len(text) * _CHAR_PX


def _tick_labels(
    ticks: list[float], fmt: Format, tick_fmt: TickFormat | None
) -> list[str]:
    return tick_fmt(ticks) if tick_fmt is not None else [fmt(t) for t in ticks]


def _fit_y_labels(canvas: _Canvas, labels: list[str]) -> None:
    """Move the plot right so the longest y label clears the rotated y title."""
    longest = max((_text_width(label) for label in labels), default=0.0)
    canvas.left = max(float(_MARGIN_LEFT), _Y_TITLE_CLEAR + 6 + longest)


def _y_axis(
    canvas: _Canvas, scale: _Scale, ticks: list[float], labels: list[str]
) -> None:
    left, _, right, _ = canvas.box()
    for tick, label in zip(ticks, labels, strict=True):
        y = scale(tick)
        canvas.add(
            f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="currentColor" stroke-opacity="0.15"/>'
        )
        canvas.add(_text(left - 6, y + 4, label, anchor="end"))


def _axis_titles(canvas: _Canvas, x_title: str, y_title: str) -> None:
    left, top, right, bottom = canvas.box()
    canvas.add(
        f'<line x1="{left}" x2="{right}" y1="{bottom}" y2="{bottom}" '
        'stroke="currentColor" stroke-opacity="0.6"/>'
    )
    canvas.add(
        f'<line x1="{left}" x2="{left}" y1="{top}" y2="{bottom}" '
        'stroke="currentColor" stroke-opacity="0.6"/>'
    )
    if x_title:
        canvas.add(_text((left + right) / 2, canvas.height - 6, x_title))
    if y_title:
        middle = (top + bottom) / 2
        canvas.add(
            _text(
                14,
                middle,
                y_title,
                extra=f'transform="rotate(-90 14 {middle:.1f})"',
            )
        )


@dataclass(frozen=True, slots=True)
class _LegendEntry:
    x: float
    baseline: float
    name: str
    colour: str
    shape: str


def _legend_name(name: str) -> str:
    if len(name) <= _LEGEND_CHARS:
        return name
    return name[: _LEGEND_CHARS - 1] + "…"


def _plan_legend(
    canvas: _Canvas, entries: list[tuple[str, str, str]]
) -> list[_LegendEntry]:
    """Entries of (name, colour, shape) laid out left to right above the plot,
    wrapping onto more rows where a row is full; the drawing grows by the rows
    added, so the plot keeps its size. Call before anything is drawn."""
    planned = []
    x, row = float(_MARGIN_LEFT), 0
    limit = canvas.width - _EDGE
    for name, colour, shape in entries:
        width = 18 + _text_width(_legend_name(name))
        if x + width > limit and x > _MARGIN_LEFT:
            x, row = float(_MARGIN_LEFT), row + 1
        planned.append(
            _LegendEntry(x, _LEGEND_BASELINE + row * _LEGEND_ROW, name, colour, shape)
        )
        x += width + 16
    canvas.top = _MARGIN_TOP + row * _LEGEND_ROW
    canvas.height += row * _LEGEND_ROW
    return planned


def _legend_box(canvas: _Canvas) -> Box:
    """The band the legend takes, for labels to keep out of."""
    return (0.0, 0.0, float(canvas.width), canvas.top - 10)


def _legend(canvas: _Canvas, planned: list[_LegendEntry]) -> None:
    for entry in planned:
        x, colour, mark = entry.x, entry.colour, entry.baseline - 4
        if entry.shape == "line":
            symbol = (
                f'<line x1="{x:.1f}" x2="{x + 14:.1f}" y1="{mark:.1f}" '
                f'y2="{mark:.1f}" stroke="{colour}" stroke-width="2.5"/>'
            )
        elif entry.shape == "dash":
            symbol = (
                f'<line x1="{x:.1f}" x2="{x + 14:.1f}" y1="{mark:.1f}" '
                f'y2="{mark:.1f}" stroke="{colour}" stroke-width="1.5" '
                'stroke-dasharray="4 3"/>'
            )
        else:
            symbol = (
                f'<rect x="{x:.1f}" y="{mark - 6:.1f}" width="12" height="12" '
                f'fill="{colour}" rx="2"/>'
            )
        shown = _legend_name(entry.name)
        title = f"<title>{escape(entry.name)}</title>" if shown != entry.name else ""
        canvas.add(
            f'<g class="legend-entry">{title}{symbol}'
            + _text(
                x + 18, entry.baseline, shown, anchor="start", extra='class="legend"'
            )
            + "</g>"
        )


def _centred_label(canvas: _Canvas, x: float, y: float, label: str) -> str:
    """A label centred under `x`, shifted (by its anchor) to stay in the drawing."""
    half = _text_width(label) / 2
    if x + half > canvas.width - _EDGE:
        return _text(canvas.width - _EDGE, y, label, anchor="end")
    if x - half < _EDGE:
        return _text(_EDGE, y, label, anchor="start")
    return _text(x, y, label)


def _x_labels(canvas: _Canvas, labels: Sequence[str], centres: list[float]) -> None:
    _, _, _, bottom = canvas.box()
    every = max(1, math.ceil(len(labels) / _MAX_X_LABELS))
    for index, (label, x) in enumerate(zip(labels, centres, strict=True)):
        if index % every == 0:
            canvas.add(_centred_label(canvas, x, bottom + 16, label))


def _empty(canvas: _Canvas, message: str) -> SafeString:
    left, top, right, bottom = canvas.box()
    canvas.add(
        f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" '
        'fill="none" stroke="currentColor" stroke-opacity="0.2"/>'
    )
    canvas.add(_text((left + right) / 2, (top + bottom) / 2, message))
    return canvas.render()


def _has_values(series: Sequence[Series]) -> bool:
    return any(v is not None for s in series for v in s.values)


def _summary(labels: Sequence[str], series: Sequence[Series], fmt: Format) -> str:
    """One sentence per series: its total or range, for the chart's <desc>."""
    span = f"{labels[0]} to {labels[-1]}" if labels else "no period"
    parts = []
    for item in series:
        values = [v for v in item.values if v is not None]
        if values:
            parts.append(
                f"{item.name}: from {fmt(min(values))} to {fmt(max(values))}, "
                f"total {fmt(sum(values))}"
            )
    return f"{span}. " + "; ".join(parts) if parts else f"{span}. No data."


# --- charts -------------------------------------------------------------------------


def _check_lengths(labels: Sequence[str], series: Sequence[Series]) -> None:
    for item in series:
        if len(item.values) != len(labels):
            raise ValueError(f"series {item.name!r} needs one value per label")


def bar_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_title: str = "",
    x_title: str = "",
    fmt: Format = str,
    tick_fmt: TickFormat | None = None,
    empty_message: str = "No data in this period",
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> SafeString:
    """Stacked bars: one bar per label, one coloured segment per series."""
    canvas = _Canvas(title, _summary(labels, series, fmt), *size)
    if not labels or not _has_values(series):
        return _empty(canvas, empty_message)
    _check_lengths(labels, series)
    if any(v is not None and v < 0 for item in series for v in item.values):
        raise ValueError("stacked bars need values of 0 or more")

    legend = _plan_legend(
        canvas,
        [
            (s.name, c, "box")
            for s, c in zip(series, _colours(len(series)), strict=True)
        ],
    )
    totals = [sum(s.values[i] or 0 for s in series) for i in range(len(labels))]
    ticks = nice_ticks(0, max(totals) or 1)
    tick_labels = _tick_labels(ticks, fmt, tick_fmt)
    _fit_y_labels(canvas, tick_labels)
    left, top, right, bottom = canvas.box()
    y = _Scale(ticks[0], ticks[-1], bottom, top)
    _y_axis(canvas, y, ticks, tick_labels)

    slot = (right - left) / len(labels)
    width = max(1.0, slot * 0.72)
    centres = [left + slot * (i + 0.5) for i in range(len(labels))]
    for index, label in enumerate(labels):
        base = 0.0
        for colour, item in zip(_colours(len(series)), series, strict=True):
            value = item.values[index] or 0
            if value <= 0:
                continue
            y_top, y_bottom = y(base + value), y(base)
            canvas.add(
                f'<rect x="{centres[index] - width / 2:.1f}" y="{y_top:.1f}" '
                f'width="{width:.1f}" height="{max(y_bottom - y_top, 0.5):.1f}" '
                f'fill="{colour}"><title>{escape(label)}: {escape(item.name)} '
                f"{escape(fmt(value))}</title></rect>"
            )
            base += value
    _x_labels(canvas, labels, centres)
    _axis_titles(canvas, x_title, y_title)
    _legend(canvas, legend)
    return canvas.render()


def line_chart(
    title: str,
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_title: str = "",
    x_title: str = "",
    fmt: Format = str,
    tick_fmt: TickFormat | None = None,
    empty_message: str = "No data in this period",
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> SafeString:
    """One line per series over the labels; a missing value breaks the line."""
    canvas = _Canvas(title, _summary(labels, series, fmt), *size)
    if not labels or not _has_values(series):
        return _empty(canvas, empty_message)
    _check_lengths(labels, series)

    legend = _plan_legend(
        canvas,
        [
            (s.name, c, "line")
            for s, c in zip(series, _colours(len(series)), strict=True)
        ],
    )
    values = [v for s in series for v in s.values if v is not None]
    ticks = nice_ticks(min(0.0, min(values)), max(values))
    tick_labels = _tick_labels(ticks, fmt, tick_fmt)
    _fit_y_labels(canvas, tick_labels)
    left, top, right, bottom = canvas.box()
    y = _Scale(ticks[0], ticks[-1], bottom, top)
    _y_axis(canvas, y, ticks, tick_labels)

    slot = (right - left) / len(labels)
    centres = [left + slot * (i + 0.5) for i in range(len(labels))]
    for colour, item in zip(_colours(len(series)), series, strict=True):
        for run in _runs(item.values):
            points = " ".join(f"{centres[i]:.1f},{y(v):.1f}" for i, v in run)
            canvas.add(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                'stroke-width="2"/>'
            )
        for index, value in enumerate(item.values):
            if value is None:
                continue
            canvas.add(
                f'<circle cx="{centres[index]:.1f}" cy="{y(value):.1f}" r="3" '
                f'fill="{colour}"><title>{escape(labels[index])}: '
                f"{escape(item.name)} {escape(fmt(value))}</title></circle>"
            )
    _x_labels(canvas, labels, centres)
    _axis_titles(canvas, x_title, y_title)
    _legend(canvas, legend)
    return canvas.render()


def _runs(values: Sequence[float | None]) -> list[list[tuple[int, float]]]:
    """The unbroken stretches of values, with their indexes."""
    runs: list[list[tuple[int, float]]] = [[]]
    for index, value in enumerate(values):
        if value is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((index, value))
    return [run for run in runs if run]


_KIND_STYLE = {
    # kind: (fill colour, legend name)
    "recommended": (PALETTE[2], "recommended"),
    "better": (PALETTE[4], "better: cheaper, and clears the bar"),
    "other": (PALETTE[7], "other challengers"),
}


def scatter_chart(
    title: str,
    points: Sequence[Point],
    *,
    x_title: str = "",
    y_title: str = "",
    x_fmt: Format = str,
    y_fmt: Format = str,
    x_tick_fmt: TickFormat | None = None,
    y_range: tuple[float, float] | None = None,
    x_reference: Reference | None = None,
    y_reference: Reference | None = None,
    empty_message: str = "Nothing to plot",
    size: tuple[int, int] = (WIDTH, HEIGHT),
) -> SafeString:
    """Points with vertical error bars (low to high), coloured by kind, and dashed
    reference lines (e.g. the current model's cost, the quality bar)."""
    desc = "; ".join(
        f"{p.label}: {x_fmt(p.x)}, {y_fmt(p.y)}"
        + (
            f" (interval {y_fmt(p.low)} to {y_fmt(p.high)})"
            if p.low is not None and p.high is not None
            else ""
        )
        + (f", {p.kind}" if p.kind != "other" else "")
        for p in points
    )
    canvas = _Canvas(title, desc or "No points.", *size)
    if not points:
        return _empty(canvas, empty_message)

    legend: list[tuple[str, str, str]] = []
    if x_reference is not None:
        legend.append((x_reference.label, "currentColor", "dash"))
    if y_reference is not None:
        legend.append((y_reference.label, PALETTE[5], "dash"))
    kinds = {p.kind for p in points}
    legend += [(name, c, "box") for k, (c, name) in _KIND_STYLE.items() if k in kinds]
    planned = _plan_legend(canvas, legend)

    xs = [p.x for p in points] + ([x_reference.value] if x_reference else [])
    x_ticks = nice_ticks(min(0.0, min(xs)), max(xs) * 1.08 or 1)
    ys = [v for p in points for v in (p.y, p.low, p.high) if v is not None]
    y_low, y_high = y_range or (min(ys), max(ys))
    y_ticks = nice_ticks(y_low, y_high)
    y_labels = [y_fmt(t) for t in y_ticks]
    _fit_y_labels(canvas, y_labels)
    left, top, right, bottom = canvas.box()
    x = _Scale(x_ticks[0], x_ticks[-1], left, right)
    y = _Scale(y_ticks[0], y_ticks[-1], bottom, top)
    _y_axis(canvas, y, y_ticks, y_labels)
    for tick, label in zip(
        x_ticks, _tick_labels(x_ticks, x_fmt, x_tick_fmt), strict=True
    ):
        canvas.add(_centred_label(canvas, x(tick), bottom + 16, label))

    if x_reference is not None:
        _reference_line(canvas, x_reference, vertical=x(x_reference.value))
    if y_reference is not None:
        _reference_line(canvas, y_reference, horizontal=y(y_reference.value))
    for point in points:
        _scatter_point(canvas, point, x, y, x_fmt, y_fmt)
    for point, (lx, ly, anchor) in zip(
        points, place_labels(canvas, points, x, y), strict=True
    ):
        cx, cy = x(point.x), y(point.y)
        if abs(ly - cy) > _LEADER_AFTER_PX:
            # Moved away from a crowd of points: a thin line says whose label it is.
            end_x = lx - 2 if anchor == "start" else lx + 2
            canvas.add(
                f'<line class="leader" x1="{cx:.1f}" y1="{cy:.1f}" x2="{end_x:.1f}" '
                f'y2="{ly - _FONT_PX / 3:.1f}" stroke="currentColor" '
                f'stroke-opacity="0.45" stroke-width="0.75"/>'
            )
        canvas.add(
            _text(lx, ly, point.label, anchor=anchor, extra='class="point-label"')
        )
    _axis_titles(canvas, x_title, y_title)
    _legend(canvas, planned)
    return canvas.render()


def _label_box(x: float, baseline: float, anchor: str, text: str) -> Box:
    width = _text_width(text)
    left = x - width if anchor == "end" else x
    return (left, baseline - _FONT_PX + 1, left + width, baseline + 3)


def _overlap(a: Box, b: Box) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _inside(a: Box, b: Box) -> bool:
    return a[0] >= b[0] and a[1] >= b[1] and a[2] <= b[2] and a[3] <= b[3]


# Where a point's label may go, in order of preference: (dx, dy, anchor) from the
# point, right then left of it, above then below, then further up and down.
_LABEL_SPOTS = [
    (9, -8, "start"),
    (9, 16, "start"),
    (-9, -8, "end"),
    (-9, 16, "end"),
    *[
        (dx, dy * step, anchor)
        for step in range(2, 7)
        for dy in (-13, 13)
        for dx, anchor in ((9, "start"), (-9, "end"))
    ],
]


# A label whose baseline is further than this from its point gets a leader line.
_LEADER_AFTER_PX = 20

# The weight of meeting another label or the legend, against 1 for a mark.
_HARD = 100


def place_labels(
    canvas: _Canvas, points: Sequence[Point], x: _Scale, y: _Scale
) -> list[tuple[float, float, str]]:
    """(x, baseline, anchor) of each point's label: the first spot, in a fixed order,
    whose box stays in the plot and meets no earlier label, no mark and not the
    legend; where every spot meets something, the one doing least harm (a label
    or the legend counts far more than a mark, which stays visible beneath)."""
    left, top, right, bottom = canvas.box()
    plot = (left, top, right, bottom)
    # (box, weight): what a label's box should keep out of.
    obstacles: list[tuple[Box, int]] = [(_legend_box(canvas), _HARD)]
    for point in points:
        cx, cy = x(point.x), y(point.y)
        obstacles.append(((cx - 6, cy - 6, cx + 6, cy + 6), 1))
        if point.low is not None and point.high is not None:
            obstacles.append(((cx - 5, y(point.high), cx + 5, y(point.low)), 1))
    placed = []
    for point in points:
        cx, cy = x(point.x), y(point.y)
        best: tuple[int, float, float, str] | None = None
        for dx, dy, anchor in _LABEL_SPOTS:
            box = _label_box(cx + dx, cy + dy, anchor, point.label)
            if not _inside(box, plot):
                continue
            hits = sum(weight for other, weight in obstacles if _overlap(box, other))
            if best is None or hits < best[0]:
                best = (hits, cx + dx, cy + dy, anchor)
            if hits == 0:
                break
        if best is None:
            # Too long to fit anywhere: from the plot's side it is nearer to.
            anchor = "start" if cx < (left + right) / 2 else "end"
            lx = left + _EDGE if anchor == "start" else right - _EDGE
            best = (0, lx, min(max(cy - 8, top + _FONT_PX), bottom - 3), anchor)
        _, lx, ly, anchor = best
        obstacles.append((_label_box(lx, ly, anchor, point.label), _HARD))
        placed.append((lx, ly, anchor))
    return placed


def _reference_line(
    canvas: _Canvas,
    reference: Reference,
    vertical: float | None = None,
    horizontal: float | None = None,
) -> None:
    left, top, right, bottom = canvas.box()
    if vertical is not None:
        canvas.add(
            f'<line x1="{vertical:.1f}" x2="{vertical:.1f}" y1="{top}" '
            f'y2="{bottom}" stroke="currentColor" stroke-dasharray="4 3">'
            f"<title>{escape(reference.label)}</title></line>"
        )
    if horizontal is not None:
        canvas.add(
            f'<line x1="{left}" x2="{right}" y1="{horizontal:.1f}" '
            f'y2="{horizontal:.1f}" stroke="{PALETTE[5]}" stroke-dasharray="4 3">'
            f"<title>{escape(reference.label)}</title></line>"
        )


def _scatter_point(
    canvas: _Canvas, point: Point, x: _Scale, y: _Scale, x_fmt: Format, y_fmt: Format
) -> None:
    colour = _KIND_STYLE.get(point.kind, _KIND_STYLE["other"])[0]
    cx, cy = x(point.x), y(point.y)
    tooltip = f"{point.label}: {x_fmt(point.x)}, {y_fmt(point.y)}"
    if point.low is not None and point.high is not None:
        tooltip += f" (95% interval {y_fmt(point.low)} to {y_fmt(point.high)})"
        y_low, y_high = y(point.low), y(point.high)
        canvas.add(
            f'<g class="error-bar" stroke="{colour}" stroke-width="1.5">'
            f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_low:.1f}" y2="{y_high:.1f}"/>'
            f'<line x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{y_low:.1f}" '
            f'y2="{y_low:.1f}"/>'
            f'<line x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{y_high:.1f}" '
            f'y2="{y_high:.1f}"/></g>'
        )
    if point.note:
        tooltip += f" — {point.note}"
    ring = (
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="9" fill="none" '
        f'stroke="{colour}" stroke-width="2"/>'
        if point.kind == "recommended"
        else ""
    )
    canvas.add(
        f'<g class="point point-{escape(point.kind)}">{ring}'
        f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="5" fill="{colour}" '
        f'stroke="white" stroke-width="1"/>'
        f"<title>{escape(tooltip)}</title></g>"
    )


def _colours(n: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(n)]
