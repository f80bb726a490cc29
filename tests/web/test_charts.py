"""Server-rendered charts: every label escaped, empty data and single points, nice ticks,
units and big numbers, the data table and its CSV, the accessible name and description,
the palette's contrast, the template macro and the export of a page's charts."""

from __future__ import annotations

import csv
import io
import re
from xml.etree import ElementTree

import pytest
from starlette.requests import Request

from accord.kit.errors import AccordError
from accord.web.charts import (
    PALETTE,
    BarChart,
    HeatMap,
    Histogram,
    LineChart,
    Point,
    PredictedActualChart,
    ScatterChart,
    Series,
    Unit,
    chart_export,
    contrast_ratio,
    nice_ticks,
)
from accord.web.charts.base import format_number
from accord.web.templating import create_templates

EVIL = '<script>alert("x")</script>&'
SVG = "{http://www.w3.org/2000/svg}"


def parse(svg: str) -> ElementTree.Element:
    """The SVG parses as XML: nothing a label holds can break out of it."""
    return ElementTree.fromstring(svg)  # noqa: S314 - our own markup


def every_kind() -> list[object]:
    labels = ["Mon", "Tue", "Wed"]
    return [
        LineChart(key="line", title="Line", labels=labels, series=[Series("a", [1, 2, 3])]),
        PredictedActualChart(
            key="pa", title="Forecast", labels=labels, actual=[1, 2, None], predicted=[1, 3, 4]
        ),
        BarChart(key="bar", title="Bars", labels=labels, series=[Series("a", [1, -2, 3])]),
        BarChart(
            key="hbar",
            title="Across",
            labels=labels,
            series=[Series("a", [1, 2, 3]), Series("b", [3, 2, 1])],
            horizontal=True,
            stacked=True,
        ),
        Histogram(key="hist", title="Spread", values=[1, 2, 2, 3, 8]),
        HeatMap(key="heat", title="Grid", rows=["r1"], columns=["c1", "c2"], values=[[1, None]]),
        ScatterChart(key="sc", title="Dots", points=[Point("p", 1, 2), Point("q", 3, 1)]),
    ]


def test_nice_ticks_land_on_round_numbers() -> None:
    assert nice_ticks(0, 97) == [0, 20, 40, 60, 80, 100]
    assert nice_ticks(3, 7, zero=False) == [3, 4, 5, 6, 7]
    assert nice_ticks(-12, 30) == [-20, -10, 0, 10, 20, 30]
    assert nice_ticks(0, 0) == [0, 1]
    assert nice_ticks(0, 0.23) == [0, 0.05, 0.1, 0.15, 0.2, 0.25]
    big = nice_ticks(0, 3_400_000)
    assert big[0] == 0
    assert big[-1] >= 3_400_000
    assert len(big) <= 7
    # One value: the axis still spans something.
    single = nice_ticks(5, 5, zero=False)
    assert single[0] < 5 < single[-1]


def test_numbers_read_with_separators_and_compact_units() -> None:
    assert format_number(1234567) == "1,234,567"
    assert format_number(1234567, compact=True) == "1.2M"
    assert format_number(3_400_000_000, compact=True) == "3.4B"
    assert format_number(12_500, compact=True) == "12.5k"
    assert format_number(999, compact=True) == "999"
    assert format_number(-4200, compact=True) == "-4.2k"
    assert format_number(2.5) == "2.5"
    assert Unit.percent().format(0.256) == "26%"
    assert Unit.money("EUR").format(-300) == "-EUR 300.00"
    minutes = Unit.duration([600, 1200])
    assert minutes.format(90) == "1.5 min"
    assert Unit.duration([40_000]).format(7200) == "2.0 h"
    assert Unit.of("conversations").format(3) == "3 conversations"
    money = Unit.money("USD")
    assert [money.tick(v, 2.5) for v in (0, 2.5, 5)] == ["USD 0.0", "USD 2.5", "USD 5.0"]
    assert Unit.percent().tick(0.05, 0.05) == "5%"
    assert Unit().tick(0.15, 0.05) == "0.15"


def test_durations_get_ticks_on_round_minutes() -> None:
    chart = LineChart(
        key="frt",
        title="First response",
        labels=["a", "b"],
        series=[Series("median", [600, 1500])],
        unit=Unit.duration([600, 1500]),
    )
    ticks = re.findall(r">(\d+) min<", str(chart.svg))
    assert ticks == ["0", "5", "10", "15", "20", "25"]


@pytest.mark.parametrize("chart", every_kind(), ids=lambda c: c.key)  # type: ignore[attr-defined]
def test_every_kind_is_an_accessible_image(chart: object) -> None:
    svg = str(chart.svg)  # type: ignore[attr-defined]
    root = parse(svg)
    key = chart.key  # type: ignore[attr-defined]
    assert root.get("role") == "img"
    assert root.get("aria-labelledby") == f"{key}-title {key}-desc"
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None
    assert title.get("id") == f"{key}-title"
    assert title.text == chart.title  # type: ignore[attr-defined]
    assert desc is not None
    assert desc.get("id") == f"{key}-desc"
    # The description carries the generated summary.
    assert chart.summary
    assert chart.summary in (desc.text or "")
    assert chart.table.rows  # type: ignore[attr-defined]
    assert chart.csv().splitlines()[0]  # type: ignore[attr-defined]
    standalone = chart.document()  # type: ignore[attr-defined]
    assert standalone.startswith("<?xml")
    parse(standalone.split("\n", 1)[1])


def test_labels_titles_and_names_are_escaped_everywhere() -> None:
    charts = [
        LineChart(key="l", title=EVIL, labels=[EVIL, "b"], series=[Series(EVIL, [1, 2])]),
        BarChart(
            key="b",
            title=EVIL,
            labels=[EVIL],
            series=[Series(EVIL, [1]), Series("x", [2])],
            horizontal=True,
        ),
        HeatMap(key="h", title=EVIL, rows=[EVIL], columns=[EVIL], values=[[1]]),
        ScatterChart(
            key="s",
            title=EVIL,
            points=[Point(EVIL, 1, 2, EVIL), Point("b", 2, 1, "g")],
            x_title=EVIL,
            y_title=EVIL,
            x_split=1.5,
            y_split=1.5,
            quadrants=[EVIL, "b", "c", "d"],
        ),
    ]
    for chart in charts:
        svg = str(chart.svg)
        assert "<script" not in svg
        assert "&lt;script&gt;" in svg
        parse(svg)


def test_csv_cells_cannot_become_formulas() -> None:
    chart = BarChart(
        key="b", title="t", labels=["=HYPERLINK(1)", "fine"], series=[Series("+x", [1, 2])]
    )
    rows = list(csv.reader(io.StringIO(chart.csv())))
    assert rows[0] == ["Category", "'+x"]
    assert rows[1] == ["'=HYPERLINK(1)", "1"]


def test_empty_data_says_so() -> None:
    for chart in (
        LineChart(key="e", title="Nothing", labels=[], series=[]),
        LineChart(key="e", title="Nothing", labels=["a"], series=[Series("s", [None])]),
        BarChart(key="e", title="Nothing", labels=[], series=[]),
        Histogram(key="e", title="Nothing", values=[]),
        HeatMap(key="e", title="Nothing", rows=[], columns=[], values=[]),
        ScatterChart(key="e", title="Nothing", points=[]),
    ):
        assert chart.empty
        assert "No data yet" in str(chart.svg)
        assert chart.summary == "No data yet."
        parse(str(chart.svg))


def test_one_point_negative_values_and_huge_numbers() -> None:
    one = LineChart(key="o", title="Conversations", labels=["Mar 1"], series=[Series("n", [5])])
    assert one.summary == "Conversations: 5 (Mar 1), the only value so far."
    assert "<circle" in str(one.svg)

    negative = BarChart(
        key="n", title="Margin", labels=["a", "b"], series=[Series("m", [-50, 120])]
    )
    svg = str(negative.svg)
    assert ">-50<" in svg
    assert ">0<" in svg
    assert "lowest b" not in negative.summary
    assert "lowest a (-50)" in negative.summary

    huge = BarChart(
        key="h", title="Revenue", labels=["a", "b"], series=[Series("r", [3_400_000, 12_000])]
    )
    assert ">3M<" in str(huge.svg) or ">4M<" in str(huge.svg)  # compact axis ticks
    assert huge.table.rows[0] == ["a", "3,400,000"]
    assert huge.table.raw[0] == ["a", "3400000"]


def test_table_and_csv_hold_every_series_in_the_unit_shown() -> None:
    chart = BarChart(
        key="mix",
        title="Channel mix",
        labels=["2026-03-02", "2026-03-09"],
        series=[Series("email", [3, 4]), Series("chat", [1, None])],
        stacked=True,
        over_time=True,
    )
    table = chart.table
    assert table.headers == ["Period", "email", "chat", "Total"]
    assert table.rows == [["2026-03-02", "3", "1", "4"], ["2026-03-09", "4", "\u2013", "4"]]
    assert chart.csv().splitlines() == [
        "Period,email,chat,Total",
        "2026-03-02,3,1,4",
        "2026-03-09,4,,4",
    ]
    shares = LineChart(
        key="fcr",
        title="First-contact resolution",
        labels=["w1", "w2"],
        series=[Series("FCR", [0.5, 0.625])],
        unit=Unit.percent(),
    )
    assert shares.table.headers == ["Period", "FCR (%)"]
    assert shares.table.rows[1] == ["w2", "62%"]
    assert shares.csv().splitlines()[2] == "w2,62.5"
    assert "rose from 50% (w1) to 62% (w2)" in shares.summary


def test_summaries_say_trend_highest_lowest_and_latest() -> None:
    chart = LineChart(
        key="t",
        title="Resolution",
        labels=["d1", "d2", "d3", "d4"],
        series=[Series("Median", [10, 40, 5, 30]), Series("Average", [12, 41, 9, None])],
    )
    assert chart.summary.startswith("Median tended to rise over the period.")
    assert "Latest (d4): Median 30." in chart.summary
    flat = LineChart(key="f", title="Flat", labels=["a", "b"], series=[Series("x", [10, 10.2])])
    assert "held steady" in flat.summary
    late = LineChart(
        key="z",
        title="Volume",
        labels=[f"d{i}" for i in range(10)],
        series=[Series("n", [0, 0, 0, 0, 0, 0, 3, 4, 2, 5])],
    )
    assert late.summary == (
        "Volume tended to rise over the period. Highest 5 (d9), lowest 0 (d0); latest 5 (d9)."
    )
    pa = PredictedActualChart(
        key="p", title="Volume", labels=["a", "b"], actual=[10, 12], predicted=[11, 14]
    )
    assert "differ by 1.5" in pa.summary
    assert 'stroke-dasharray="7 4"' in str(pa.svg)  # predicted dashed
    hist = Histogram(key="h", title="Waits", values=[1, 1, 1, 2, 9], bins=[0, 5, 10])
    assert hist.counts == [4, 1]
    assert "median 1" in hist.summary
    scatter = ScatterChart(
        key="s",
        title="Customers",
        points=[Point("a", 1, 10), Point("b", 9, 9), Point("c", 2, 1)],
        x_split=5,
        y_split=5,
        quadrants=["valuable", "valuable but costly", "quiet", "costly"],
    )
    assert scatter.summary == (
        "3 points: 1 in \u201cvaluable\u201d; 1 in \u201cvaluable but costly\u201d; "
        "1 in \u201cquiet\u201d."
    )
    assert scatter.table.rows[1][-1] == "valuable but costly"
    heat = HeatMap(
        key="r",
        title="Retention",
        rows=["Jan", "Feb"],
        columns=["M0", "M1"],
        values=[[1.0, 0.4], [1.0, None]],
        unit=Unit.percent(),
    )
    assert "lowest 40% (Jan by M1)" in heat.summary
    assert ">40%<" in str(heat.svg)  # the value printed in its cell


def test_palette_meets_non_text_contrast_and_series_differ_without_colour() -> None:
    assert len(set(PALETTE)) == len(PALETTE) >= 6
    for colour in PALETTE:
        assert contrast_ratio(colour) >= 3.0, colour
    assert round(contrast_ratio("#000000"), 1) == 21.0
    lines = str(
        LineChart(
            key="m",
            title="t",
            labels=["a", "b"],
            series=[Series("one", [1, 2]), Series("two", [2, 1]), Series("three", [0, 1])],
        ).svg
    )
    # Markers of different shapes and dashes tell the lines apart.
    assert "<circle" in lines
    assert 'stroke-dasharray="6 3"' in lines
    bars = str(
        BarChart(key="g", title="t", labels=["a"], series=[Series("x", [1]), Series("y", [2])]).svg
    )
    assert '<pattern id="g-p1"' in bars
    assert 'fill="url(#g-p1)"' in bars


def test_series_keep_the_palette_place_their_meaning_asks_for() -> None:
    """Sentiment bars: positive green, neutral grey, negative vermillion, however many
    series there are, each with its place's pattern in the legend and the bars."""
    chart = BarChart(
        key="s",
        title="Sentiment",
        labels=["Mon", "Tue"],
        series=[Series("Positive", [1, 2]), Series("Neutral", [2, 1]), Series("Negative", [0, 3])],
        stacked=True,
        slots=(2, 7, 1),
    )
    svg = str(chart.svg)
    parse(svg)
    for slot in (1, 2, 7):
        assert f'<pattern id="s-p{slot}"' in svg
        assert f'fill="url(#s-p{slot})"' in svg
    assert f'<rect width="6" height="6" fill="{PALETTE[7]}"/>' in svg
    bars = set(
        re.findall(r'<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="([^"]+)"', svg)
    )
    assert bars - {"#fff"} == {"url(#s-p2)", "url(#s-p7)", "url(#s-p1)"}  # none in place 0
    horizontal = str(
        BarChart(
            key="h",
            title="t",
            labels=["a"],
            series=[Series("x", [1]), Series("y", [2])],
            horizontal=True,
            slots=(1,),
        ).svg
    )
    assert 'fill="url(#h-p1)"' in horizontal  # the first series in place 1, the next in its own


def request(query: str = "") -> Request:
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/analytics",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver")],
            "scheme": "http",
            "server": ("testserver", 80),
        }
    )


def test_the_macro_renders_a_figure_with_its_table_and_downloads() -> None:
    env = create_templates().env
    chart = BarChart(key="mix", title=EVIL, labels=[EVIL, "b"], series=[Series("n", [1, 2])])
    html = env.from_string(
        '{% import "_charts.html" as charts with context %}{{ charts.chart(c, "mix-1") }}'
    ).render(c=chart, request=request("days=30&team=x"))
    assert '<figure class="chart" id="mix-1" aria-labelledby="mix-1-caption">' in html
    assert 'aria-labelledby="mix-1-title mix-1-desc"' in html
    assert "<figcaption" in html
    assert "<details" in html
    assert "<summary>Data" in html
    assert "<script>" not in html
    assert 'href="/analytics?days=30&amp;team=x&amp;export=mix&amp;format=csv"' in html
    assert "format=svg" in html
    assert "Image (SVG)" in html
    empty = env.from_string(
        '{% import "_charts.html" as charts with context %}{{ charts.chart(c) }}'
    ).render(c=LineChart(key="e", title="t", labels=[], series=[]), request=request())
    assert "No data yet" in empty
    assert "<details" not in empty


def test_chart_export_serves_a_pages_chart_as_a_file() -> None:
    charts = [LineChart(key="frt", title="First response", labels=["a"], series=[Series("m", [1])])]
    assert chart_export(request("days=7"), charts) is None
    got = chart_export(request("export=frt&format=csv"), charts)
    assert got is not None
    assert got.media_type == "text/csv; charset=utf-8"
    assert got.headers["content-disposition"] == 'attachment; filename="frt.csv"'
    assert bytes(got.body).decode().startswith("Period,m")
    image = chart_export(request("export=frt&format=svg"), charts)
    assert image is not None
    assert image.media_type == "image/svg+xml"
    assert bytes(image.body).startswith(b"<?xml")
    with pytest.raises(AccordError) as missing:
        chart_export(request("export=nope"), charts)
    assert missing.value.status == 404
    with pytest.raises(AccordError) as bad:
        chart_export(request("export=frt&format=png"), charts)
    assert bad.value.status == 422
