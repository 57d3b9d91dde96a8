"""The SVG charts: well-formed, accessible, escaped, and drawing what they are given."""

import itertools
import math
import xml.etree.ElementTree as ET

import pytest

from llmtest import charts

SVG = "{http://www.w3.org/2000/svg}"


def _parse(markup: str) -> ET.Element:
    # Our own output, not untrusted input.
    return ET.fromstring(str(markup))  # noqa: S314


def _all(root: ET.Element, tag: str) -> list[ET.Element]:
    return list(root.iter(f"{SVG}{tag}"))


def _texts(root: ET.Element) -> list[str]:
    return [t.text or "" for t in _all(root, "text")]


def test_a_chart_is_an_image_labelled_by_its_title_and_description():
    root = _parse(
        charts.bar_chart("Spend per day", ["Mon", "Tue"], [charts.Series("a", [1, 2])])
    )

    title, desc = root.find(f"{SVG}title"), root.find(f"{SVG}desc")
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    assert title.text == "Spend per day"
    assert "Mon to Tue" in desc.text and "total 3" in desc.text


def test_two_charts_on_one_page_never_share_an_id():
    first = _parse(charts.bar_chart("a", ["x"], [charts.Series("s", [1])]))
    second = _parse(charts.bar_chart("b", ["x"], [charts.Series("s", [1])]))

    assert first.find(f"{SVG}title").get("id") != second.find(f"{SVG}title").get("id")


def test_stacked_bars_draw_one_segment_per_nonzero_value_with_a_tooltip():
    series = [
        charts.Series("support-bot", [1, 0, 2]),
        charts.Series("other", [1, 1, 0]),
    ]

    root = _parse(
        charts.bar_chart("s", ["d1", "d2", "d3"], series, fmt=lambda v: f"${v:.2f}")
    )

    segments = [r for r in _all(root, "rect") if r.find(f"{SVG}title") is not None]
    tooltips = [r.find(f"{SVG}title").text for r in segments]
    assert tooltips == [
        "d1: support-bot $1.00",
        "d1: other $1.00",
        "d2: other $1.00",
        "d3: support-bot $2.00",
    ]


def test_stacked_segments_sit_on_each_other():
    root = _parse(
        charts.bar_chart(
            "s", ["d1"], [charts.Series("a", [1]), charts.Series("b", [3])]
        )
    )

    low, high = [r for r in _all(root, "rect") if r.find(f"{SVG}title") is not None]
    low_top = float(low.get("y"))
    high_bottom = float(high.get("y")) + float(high.get("height"))
    assert high_bottom == pytest.approx(low_top, abs=0.2)
    assert float(high.get("height")) == pytest.approx(
        3 * float(low.get("height")), 0.02
    )


def test_the_legend_names_every_series_and_the_axes_carry_their_titles():
    root = _parse(
        charts.bar_chart(
            "s",
            ["d1"],
            [charts.Series("support-bot", [1]), charts.Series("summarizer", [2])],
            y_title="USD per day",
        )
    )

    texts = _texts(root)
    assert {"support-bot", "summarizer", "USD per day"} <= set(texts)


def test_text_from_the_data_is_escaped():
    markup = str(
        charts.bar_chart("<b>", ["<d>"], [charts.Series("<script>x</script>", [1])])
    )

    root = _parse(markup)
    assert "<script>" not in markup and "&lt;script&gt;x&lt;/script&gt;" in markup
    assert root.find(f"{SVG}title").text == "<b>"
    assert "<script>x</script>" in _texts(root)


def test_with_no_values_a_chart_says_so_instead_of_drawing_an_empty_axis():
    root = _parse(
        charts.bar_chart(
            "s", ["d1", "d2"], [charts.Series("a", [None, None])], empty_message="None"
        )
    )

    assert _texts(root) == ["None"]
    assert not [r for r in _all(root, "rect") if r.find(f"{SVG}title") is not None]


def test_days_of_zero_spend_draw_an_axis_with_no_bars():
    root = _parse(charts.bar_chart("s", ["d1", "d2"], [charts.Series("a", [0, 0])]))

    assert "$0" not in _texts(root) and "d1" in _texts(root)
    assert not [r for r in _all(root, "rect") if r.find(f"{SVG}title") is not None]


def test_a_series_with_the_wrong_number_of_values_is_refused():
    with pytest.raises(ValueError, match="one value per label"):
        charts.bar_chart("s", ["d1", "d2"], [charts.Series("a", [1])])


def test_negative_values_cannot_be_stacked():
    with pytest.raises(ValueError, match="0 or more"):
        charts.bar_chart("s", ["d1"], [charts.Series("a", [-1])])


def test_a_line_breaks_where_a_value_is_missing():
    root = _parse(
        charts.line_chart(
            "p95", ["a", "b", "c", "d", "e"], [charts.Series("p95", [1, 2, None, 4, 5])]
        )
    )

    lines = _all(root, "polyline")
    assert [len(line.get("points").split()) for line in lines] == [2, 2]
    assert len(_all(root, "circle")) == 4


def test_a_long_axis_labels_only_some_days():
    labels = [f"day {n}" for n in range(30)]

    root = _parse(charts.line_chart("s", labels, [charts.Series("a", [1.0] * 30)]))

    shown = [t for t in _texts(root) if t.startswith("day ")]
    assert 2 <= len(shown) <= 8 and shown[0] == "day 0"


@pytest.mark.parametrize(
    ("low", "high"),
    [(0, 1), (0, 0.37), (0, 1234), (-5, 5), (3, 3), (0, 0), (0.001, 0.002)],
)
def test_ticks_are_round_steps_that_cover_the_range(low, high):
    ticks = charts.nice_ticks(low, high)

    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert ticks[0] <= low and ticks[-1] >= high
    assert len(steps) == 1 and 3 <= len(ticks) <= 12
    (step,) = steps
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert round(mantissa, 6) in (1, 2, 2.5, 5)


def test_ticks_need_finite_bounds():
    with pytest.raises(ValueError, match="finite"):
        charts.nice_ticks(0, float("inf"))


def _scatter(**overrides):
    points = [
        charts.Point("gpt-4o-mini", 0.0004, 0.95, 0.76, 0.99, kind="recommended"),
        charts.Point("claude-haiku-4-5", 0.0011, 0.65, 0.43, 0.82, kind="better"),
        charts.Point("gpt-4.1", 0.0078, 1.0, 0.84, 1.0),
    ]
    return charts.scatter_chart(
        "Cost against quality",
        overrides.get("points", points),
        x_fmt=lambda v: f"${v:.4f}",
        y_fmt=lambda v: f"{v:.0%}",
        y_range=(0, 1),
        x_reference=charts.Reference("gpt-4o (current)", 0.0062),
        y_reference=charts.Reference("bar 75%", 0.75),
    )


def test_a_scatter_draws_each_interval_as_an_error_bar_around_its_point():
    root = _parse(_scatter())

    bars = [g for g in _all(root, "g") if g.get("class") == "error-bar"]
    points = [g for g in _all(root, "g") if (g.get("class") or "").startswith("point")]
    assert len(bars) == 3 and len(points) == 3
    stem = bars[0].find(f"{SVG}line")
    centre = points[0].findall(f"{SVG}circle")[-1]
    y_low, y_high = float(stem.get("y1")), float(stem.get("y2"))
    assert stem.get("x1") == centre.get("cx")
    assert y_high < float(centre.get("cy")) < y_low


def test_a_scatter_marks_the_recommended_and_better_options_and_says_so():
    root = _parse(_scatter())

    kinds = [
        g.get("class") for g in _all(root, "g") if "point" in (g.get("class") or "")
    ]
    recommended = next(
        g for g in _all(root, "g") if g.get("class") == "point point-recommended"
    )
    texts = _texts(root)
    assert kinds == [
        "point point-recommended",
        "point point-better",
        "point point-other",
    ]
    assert len(recommended.findall(f"{SVG}circle")) == 2  # the ring and the dot
    assert {"recommended", "gpt-4o (current)", "bar 75%"} <= set(texts)
    assert "95% interval 76% to 99%" in recommended.find(f"{SVG}title").text


def test_a_scatter_with_no_points_says_so():
    root = _parse(_scatter(points=[]))

    assert _texts(root) == ["Nothing to plot"]


def test_a_chart_can_be_drawn_at_another_size():
    root = _parse(
        charts.bar_chart("s", ["d"], [charts.Series("a", [1])], size=(480, 260))
    )

    assert root.get("viewBox") == "0 0 480 260"


# --- text stays readable: no overlaps, nothing past the edges ---------------------


def _box(text: ET.Element) -> tuple[float, float, float, float]:
    """The box a <text> takes, at the average character width the charts lay out by."""
    x, y = float(text.get("x")), float(text.get("y"))
    width = len(text.text or "") * charts._CHAR_PX
    left = {"start": x, "middle": x - width / 2, "end": x - width}[
        text.get("text-anchor")
    ]
    return left, y - 10, left + width, y + 3


def _meet(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def _view(root: ET.Element) -> tuple[float, float]:
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    return width, height


def _close_challengers():
    # Two challengers at nearly the same cost and quality, one near the top.
    return [
        charts.Point("gpt-4o-mini-2024-07-18", 0.00004, 0.80, 0.6, 0.9, kind="better"),
        charts.Point("claude-haiku-4-5", 0.000042, 0.80, 0.6, 0.9),
        charts.Point("gemini-2.0-flash-lite", 0.000043, 0.81, 0.6, 0.9),
        charts.Point("gpt-4.1-nano", 0.00008, 1.0, 0.8, 1.0, kind="recommended"),
    ]


def test_point_labels_meet_neither_each_other_nor_the_legend_and_stay_in_the_plot():
    root = _parse(_scatter(points=_close_challengers()))

    labels = [_box(t) for t in _all(root, "text") if t.get("class") == "point-label"]
    legend = [_box(t) for t in _all(root, "text") if t.get("class") == "legend"]
    width, height = _view(root)
    assert len(labels) == 4
    for a, b in itertools.combinations(labels, 2):
        assert not _meet(a, b), (a, b)
    for label in labels:
        assert not any(_meet(label, entry) for entry in legend)
        left, top, right, bottom = label
        assert left >= 64 and right <= width - 20 and bottom <= height - 44
        assert top >= max(entry[3] for entry in legend)


def test_point_labels_are_placed_the_same_way_every_time():
    first = _parse(_scatter(points=_close_challengers()))
    second = _parse(_scatter(points=_close_challengers()))

    def spots(root):
        return [
            (t.get("x"), t.get("y"), t.get("text-anchor"))
            for t in _all(root, "text")
            if t.get("class") == "point-label"
        ]

    assert spots(first) == spots(second)


def test_axis_labels_stay_inside_the_drawing():
    root = _parse(_scatter(points=_close_challengers()))

    width, _ = _view(root)
    for text in _all(root, "text"):
        if text.get("transform"):
            continue  # the rotated y title
        left, _, right, _ = _box(text)
        assert left >= 0 and right <= width, text.text


def test_a_long_legend_name_is_cut_with_an_ellipsis_and_kept_whole_in_its_title():
    name = "a-flow-with-a-very-long-name-" * 4
    root = _parse(charts.bar_chart("s", ["d"], [charts.Series(name, [1])]))

    entry = next(g for g in _all(root, "g") if g.get("class") == "legend-entry")
    shown = entry.find(f"{SVG}text").text
    assert shown.endswith("…") and len(shown) <= charts._LEGEND_CHARS < len(name)
    assert name.startswith(shown[:-1])
    assert entry.find(f"{SVG}title").text == name


def test_a_legend_too_wide_for_one_row_wraps_and_the_drawing_grows_to_hold_it():
    series = [charts.Series(f"flow-{i}-" + "x" * 90, [1]) for i in range(7)]
    root = _parse(charts.bar_chart("s", ["d"], series))

    width, height = _view(root)
    legend = [_box(t) for t in _all(root, "text") if t.get("class") == "legend"]
    rows = {round(box[3]) for box in legend}
    assert len(legend) == 7 and len(rows) > 1
    assert all(box[2] <= width for box in legend)
    assert height == charts.HEIGHT + (len(rows) - 1) * 16
    bars = [r for r in _all(root, "rect") if r.find(f"{SVG}title") is not None]
    assert float(bars[0].get("y")) >= max(box[3] for box in legend)


def test_money_ticks_from_the_shared_formatter_never_repeat():
    from llmtest import formats

    root = _parse(
        charts.bar_chart(
            "s",
            ["d1", "d2"],
            [charts.Series("a", [0.0125, 0.004])],
            fmt=formats.usd,
            tick_fmt=formats.usd_ticks,
        )
    )

    ticks = [t.text for t in _all(root, "text") if t.get("text-anchor") == "end"]
    assert len(ticks) == len(set(ticks)) >= 4
    assert ticks[-1] == "$0.0125" and not any("e-" in t for t in ticks)


def test_long_y_labels_move_the_plot_right_instead_of_running_into_the_y_title():
    from llmtest import formats

    root = _parse(
        charts.bar_chart(
            "s",
            ["d1", "d2"],
            [charts.Series("a", [0.0000144, 0.000003])],
            y_title="USD per day",
            fmt=formats.usd,
            tick_fmt=formats.usd_ticks,
            size=(480, 260),
        )
    )

    ticks = [t for t in _all(root, "text") if t.get("text-anchor") == "end"]
    title = next(t for t in _all(root, "text") if t.get("transform"))
    assert ticks and ticks[-1].text == "$0.000015"
    assert min(_box(t)[0] for t in ticks) >= float(title.get("x")) + 8


def test_a_label_moved_away_from_its_point_has_a_leader_line_to_it():
    crowd = [
        charts.Point(f"model-{n}", 0.00001 + n * 1e-7, 1.0, 0.77, 1.0) for n in range(5)
    ]
    root = _parse(_scatter(points=crowd))

    labels = [t for t in _all(root, "text") if t.get("class") == "point-label"]
    leaders = [line for line in _all(root, "line") if line.get("class") == "leader"]
    far = [
        t for t in labels if abs(float(t.get("y")) - float(leaders[0].get("y1"))) > 20
    ]
    assert far, "some labels of a crowd must move away"
    assert len(leaders) == len(far)
    ends = {round(float(line.get("x2"))) for line in leaders}
    starts = {round(float(t.get("x"))) - 2 for t in far} | {
        round(float(t.get("x"))) + 2 for t in far
    }
    assert ends <= starts
