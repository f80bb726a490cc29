"""Charts over categories or time: lines (one or more series, and predicted against
actual) and bars (vertical or horizontal, grouped or stacked); histograms, drawn as bars,
are in ``histogram``."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from accord.web.charts.base import (
    AXIS,
    DASHES,
    GRID,
    INK,
    MARKERS,
    MUTED,
    Chart,
    LegendItem,
    Table,
    Unit,
    clip,
    colour,
    esc,
    fill_of,
    format_number,
    legend,
    marker,
    pattern_defs,
    text_width,
    unit_ticks,
)

Value = float | None


@dataclass
class Series:
    """One named row of values, one per label (None where there is none). ``style``
    draws a line ``solid``, ``dashed`` or ``dotted`` (empty: by its position)."""

    name: str
    values: Sequence[Value]
    style: str = ""


def present(values: Sequence[Value]) -> list[float]:
    return [float(v) for v in values if v is not None and not math.isnan(v)]


def _direction(points: Sequence[tuple[int, float]]) -> int:
    """Whether values tend to rise (1), fall (-1) or hold steady (0): the slope of a
    least-squares line through them, over the span, against their spread."""
    xs = [float(x) for x, _ in points]
    ys = [y for _, y in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    var = sum((x - mx) ** 2 for x in xs)
    if var == 0:
        return 0
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / var
    change = slope * (xs[-1] - xs[0])
    scale = max(max(ys) - min(ys), abs(my), 1e-12)
    if abs(change) <= 0.1 * scale:
        return 0
    return 1 if change > 0 else -1


def _trend(
    name: str, labels: Sequence[str], values: Sequence[Value], unit: Unit
) -> tuple[str, str]:
    """Two sentences about one series over time: where it went, then its highest,
    lowest and latest values."""
    points = [(i, float(v)) for i, v in enumerate(values) if v is not None]
    if not points:
        return f"{name}: no values yet.", ""
    if len(points) == 1:
        i, v = points[0]
        return f"{name}: {unit.format(v)} ({labels[i]}), the only value so far.", ""
    (fi, first), (li, last) = points[0], points[-1]
    way = ("held steady", "rose", "fell")[_direction(points)]
    if len(points) == 2:
        way = "held steady," if way == "held steady" else way
        return (
            f"{name} {way} from {unit.format(first)} ({labels[fi]}) "
            f"to {unit.format(last)} ({labels[li]}).",
            "",
        )
    way = {"rose": "tended to rise", "fell": "tended to fall"}.get(way, way)
    first_sentence = f"{name} {way} over the period."
    high = max(points, key=lambda p: p[1])
    low = min(points, key=lambda p: p[1])
    return (
        first_sentence,
        f"Highest {unit.format(high[1])} ({labels[high[0]]}), lowest {unit.format(low[1])} "
        f"({labels[low[0]]}); latest {unit.format(last)} ({labels[li]}).",
    )


def _extremes(labels: Sequence[str], values: Sequence[Value], unit: Unit, what: str) -> str:
    points = [(labels[i], float(v)) for i, v in enumerate(values) if v is not None]
    if not points:
        return ""
    high = max(points, key=lambda p: p[1])
    low = min(points, key=lambda p: p[1])
    if len(points) == 1:
        return f"{what}: {unit.format(high[1])} for {high[0]}."
    return (
        f"{what}: highest {high[0]} ({unit.format(high[1])}), "
        f"lowest {low[0]} ({unit.format(low[1])})."
    )


@dataclass(kw_only=True)
class SeriesChart(Chart):
    """Labels (categories or periods) and one or more series of values over them."""

    labels: Sequence[str] = ()
    series: Sequence[Series] = ()
    over_time: bool = True
    # Whether the value axis starts at zero (bars always do).
    zero: bool = True

    def __post_init__(self) -> None:
        self.labels = [str(label) for label in self.labels]
        for s in self.series:
            if len(s.values) != len(self.labels):
                raise ValueError(
                    f"series {s.name!r} has {len(s.values)} values, not {len(self.labels)}"
                )

    @property
    def empty(self) -> bool:
        return not self.labels or not any(present(s.values) for s in self.series)

    @property
    def table(self) -> Table:
        unit = self.units
        headers = ["Period" if self.over_time else "Category"]
        headers += [unit.header(s.name) for s in self.series]
        rows, raw = [], []
        for i, label in enumerate(self.labels):
            rows.append([label, *(unit.format(s.values[i]) for s in self.series)])
            raw.append([label, *(unit.raw(s.values[i]) for s in self.series)])
        return Table(headers, rows, raw, [False] + [True] * len(self.series))

    @property
    def summary(self) -> str:
        if self.empty:
            return "No data yet."
        unit = self.units
        if not self.over_time:
            several = len(self.series) > 1
            return " ".join(
                _extremes(self.labels, s.values, unit, s.name if several else self.title)
                for s in self.series[:2]
            )
        main = self.series[0]
        first, second = _trend(
            main.name if len(self.series) > 1 else self.title, self.labels, main.values, unit
        )
        if len(self.series) > 1:
            last = len(self.labels) - 1
            latest = [
                f"{s.name} {unit.format(s.values[last])}"
                for s in self.series
                if s.values[last] is not None
            ]
            if latest:
                second = f"Latest ({self.labels[last]}): " + ", ".join(latest) + "."
        return " ".join(p for p in (first, second) if p)

    # --- layout shared by vertical charts ---

    def _value_range(self) -> tuple[float, float]:
        values = [v for s in self.series for v in present(s.values)]
        return min(values), max(values)

    def _frame(
        self, ids: str, items: list[LegendItem], low: float, high: float, zero: bool
    ) -> tuple[list[str], float, float, float, float, list[float]]:
        """Title, legend, the value axis and grid; returns the elements, the plot's
        left, top, right and bottom, and the ticks."""
        unit = self.units
        ticks = unit_ticks(unit, low, high, 5, zero=zero)
        step = ticks[1] - ticks[0]
        labels = [unit.tick(t, step) for t in ticks]
        left = max(text_width(t) for t in labels) + 12
        parts, legend_height = legend(ids, items, self.width, 40)
        top = 30 + legend_height + 8
        bottom = self.height - 30
        right = self.width - 12
        lo, hi = ticks[0], ticks[-1]
        for t, text in zip(ticks, labels, strict=True):
            y = bottom - (t - lo) / (hi - lo) * (bottom - top)
            stroke = AXIS if t == 0 else GRID
            parts.append(
                f'<path d="M{left:.1f},{y:.1f} H{right:.1f}" stroke="{stroke}" stroke-width="1"/>'
            )
            parts.append(
                f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
                f"{esc(text)}</text>"
            )
        return parts, left, top, right, bottom, ticks

    def _x_labels(self, positions: list[float], bottom: float, band: float) -> list[str]:
        """The category labels under the plot, thinned out so they never overlap."""
        widest = max(text_width(label) for label in self.labels) + 10
        every = max(1, math.ceil(widest / max(band, 1.0)))
        out = []
        n = len(self.labels)
        for i, (x, label) in enumerate(zip(positions, self.labels, strict=True)):
            # Counted from the latest, which is always shown.
            if (n - 1 - i) % every:
                continue
            text = clip(label, max(widest, 40))
            half = text_width(text) / 2
            anchor = "middle"
            if x + half > self.width - 1:  # kept inside the image at either end
                x, anchor = self.width - 1.0, "end"
            elif x - half < 1:
                x, anchor = 1.0, "start"
            out.append(
                f'<text x="{x:.1f}" y="{bottom + 18:.1f}" text-anchor="{anchor}" '
                f'fill="{MUTED}">{esc(text)}</text>'
            )
        return out


@dataclass(kw_only=True)
class LineChart(SeriesChart):
    """One or more series as lines over time (or ordered categories). Each series has
    its own colour, marker and dash, so the lines are told apart without colour."""

    def _dash(self, index: int, series: Series) -> str:
        if series.style == "solid":
            return ""
        if series.style == "dashed":
            return "7 4"
        if series.style == "dotted":
            return "2 3"
        return DASHES[index % len(DASHES)]

    def draw(self, ids: str) -> tuple[list[str], int]:
        items = [LegendItem(s.name, "line", i, self._dash(i, s)) for i, s in enumerate(self.series)]
        low, high = self._value_range()
        parts, left, top, right, bottom, ticks = self._frame(ids, items, low, high, self.zero)
        lo, hi = ticks[0], ticks[-1]
        n = len(self.labels)
        pad = 10.0
        if n == 1:
            xs = [(left + right) / 2]
        else:
            xs = [left + pad + i * (right - left - 2 * pad) / (n - 1) for i in range(n)]

        def y_of(v: float) -> float:
            return bottom - (v - lo) / (hi - lo) * (bottom - top)

        unit = self.units
        every = 1 if n <= 40 else math.ceil(n / 30)
        for index, s in enumerate(self.series):
            c = colour(index)
            dash = self._dash(index, s)
            path, pen = [], False
            for i, v in enumerate(s.values):
                if v is None:
                    pen = False
                    continue
                path.append(f"{'L' if pen else 'M'}{xs[i]:.1f},{y_of(v):.1f}")
                pen = True
            dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
            parts.append(
                f'<path d="{" ".join(path)}" fill="none" stroke="{c}" stroke-width="2.5" '
                f'stroke-linejoin="round" stroke-linecap="round"{dash_attr}/>'
            )
            shape = MARKERS[index % len(MARKERS)]
            for i, v in enumerate(s.values):
                if v is None:
                    continue
                alone = (i == 0 or s.values[i - 1] is None) and (
                    i == n - 1 or s.values[i + 1] is None
                )
                if i % every and i != n - 1 and not alone:
                    continue
                tip = f"{self.labels[i]}, {s.name}: {unit.format(v)}"
                parts.append(f"<g><title>{esc(tip)}</title>{marker(shape, xs[i], y_of(v), c)}</g>")
        band = (right - left) / max(n, 1)
        parts += self._x_labels(xs, bottom, band)
        return parts, self.height


@dataclass(kw_only=True)
class PredictedActualChart(LineChart):
    """Two series over time: what was predicted (dashed) and what happened (solid)."""

    actual: Sequence[Value] = ()
    predicted: Sequence[Value] = ()
    actual_name: str = "Actual"
    predicted_name: str = "Predicted"

    def __post_init__(self) -> None:
        self.series = [
            Series(self.actual_name, list(self.actual), "solid"),
            Series(self.predicted_name, list(self.predicted), "dashed"),
        ]
        super().__post_init__()

    @property
    def summary(self) -> str:
        base = super().summary
        pairs = [
            (a, p)
            for a, p in zip(self.actual, self.predicted, strict=True)
            if a is not None and p is not None
        ]
        if not pairs:
            return base
        gap = statistics.fmean(abs(a - p) for a, p in pairs)
        return (
            f"{base} On average {self.predicted_name.lower()} and "
            f"{self.actual_name.lower()} differ by {self.units.format(gap)}."
        )


@dataclass(kw_only=True)
class BarChart(SeriesChart):
    """Bars per label: one series, several side by side (grouped) or one on top of the
    other (``stacked``); ``horizontal`` lays them along the value axis from the left,
    for long category names. Series after the first are filled with patterns."""

    horizontal: bool = False
    stacked: bool = False
    over_time: bool = False
    gap: float = 0.28  # the share of a band left between groups
    # Each series' place in the palette (its colour and pattern), when its meaning has a
    # colour of its own (sentiment: green, grey, vermillion); by default its position.
    slots: Sequence[int] = ()

    def _slot(self, j: int) -> int:
        return self.slots[j] if j < len(self.slots) else j

    @property
    def table(self) -> Table:
        table = super().table
        if self.stacked and len(self.series) > 1:
            unit = self.units
            table.headers.append(unit.header("Total"))
            for i, (row, raw) in enumerate(zip(table.rows, table.raw, strict=True)):
                total = self._total(i)
                row.append(unit.format(total))
                raw.append(unit.raw(total))
            table.numeric.append(True)
        return table

    def _total(self, i: int) -> float | None:
        values = [s.values[i] for s in self.series if s.values[i] is not None]
        return float(sum(v for v in values if v is not None)) if values else None

    @property
    def summary(self) -> str:
        if self.empty or not (self.stacked and len(self.series) > 1):
            return super().summary
        totals = [self._total(i) for i in range(len(self.labels))]
        unit = self.units
        if self.over_time:
            first, second = _trend(f"{self.title} (total)", self.labels, totals, unit)
        else:
            first, second = _extremes(self.labels, totals, unit, f"{self.title} (total)"), ""
        sums = [(s.name, sum(present(s.values))) for s in self.series]
        name, most = max(sums, key=lambda p: p[1])
        grand = sum(v for _, v in sums)
        share = f" ({format_number(100 * most / grand, 0)}% of the total)" if grand > 0 else ""
        third = f"{name[:1].upper()}{name[1:]} is the largest part{share}."
        return " ".join(p for p in (first, second, third) if p)

    def _range(self) -> tuple[float, float]:
        if not self.stacked:
            low, high = self._value_range()
            return min(low, 0.0), max(high, 0.0)
        lows, highs = [0.0], [0.0]
        for i in range(len(self.labels)):
            lows.append(sum(min(s.values[i] or 0.0, 0.0) for s in self.series))
            highs.append(sum(max(s.values[i] or 0.0, 0.0) for s in self.series))
        return min(lows), max(highs)

    def _layout(self) -> list[tuple[int, int, float, float, float, float]]:
        """Per bar: label index, series index, offset and width within the band (as
        shares of it), and the value it starts and ends at."""
        out = []
        count = len(self.series)
        inner = 1 - self.gap
        for i in range(len(self.labels)):
            up = down = 0.0
            for j, s in enumerate(self.series):
                v = s.values[i]
                if v is None:
                    continue
                if self.stacked or count == 1:
                    if self.stacked:
                        base = up if v >= 0 else down
                        if v >= 0:
                            up += v
                        else:
                            down += v
                    else:
                        base = 0.0
                    out.append((i, j, self.gap / 2, inner, base, base + v))
                else:
                    width = inner / count
                    out.append((i, j, self.gap / 2 + j * width, width, 0.0, float(v)))
        return out

    def _items(self) -> list[LegendItem]:
        return [LegendItem(s.name, "bar", self._slot(i)) for i, s in enumerate(self.series)]

    def _patterns(self, ids: str) -> str:
        return pattern_defs(ids, max(self._slot(j) for j in range(len(self.series))) + 1)

    def _labelled(self) -> bool:
        return not self.stacked and len(self.labels) * len(self.series) <= 16

    def draw(self, ids: str) -> tuple[list[str], int]:
        return self._draw_horizontal(ids) if self.horizontal else self._draw_vertical(ids)

    def _tip(self, i: int, j: int, v: float) -> str:
        name = f", {self.series[j].name}" if len(self.series) > 1 else ""
        return f"{self.labels[i]}{name}: {self.units.format(v)}"

    def _draw_vertical(self, ids: str) -> tuple[list[str], int]:
        low, high = self._range()
        parts, left, top, right, bottom, ticks = self._frame(ids, self._items(), low, high, True)
        parts.insert(0, self._patterns(ids))
        lo, hi = ticks[0], ticks[-1]
        n = len(self.labels)
        band = (right - left) / n

        def y_of(v: float) -> float:
            return bottom - (v - lo) / (hi - lo) * (bottom - top)

        for i, j, offset, share, start, end in self._layout():
            x = left + i * band + offset * band
            y1, y2 = sorted((y_of(start), y_of(end)))
            v = end - start
            parts.append(
                f"<g><title>{esc(self._tip(i, j, v))}</title>"
                f'<rect x="{x:.1f}" y="{y1:.1f}" width="{max(share * band, 1):.1f}" '
                f'height="{max(y2 - y1, 0.5):.1f}" fill="{fill_of(ids, self._slot(j))}" '
                f'stroke="#fff" stroke-width="{0.8 if self.stacked else 0}"/></g>'
            )
            if self._labelled():
                ty = y1 - 4 if v >= 0 else y2 + 13
                parts.append(
                    f'<text x="{x + share * band / 2:.1f}" y="{ty:.1f}" text-anchor="middle" '
                    f'font-size="11" fill="{INK}">{esc(self.units.format(v, compact=True))}</text>'
                )
        centres = [left + (i + 0.5) * band for i in range(n)]
        parts += self._x_labels(centres, bottom, band)
        return parts, self.height

    def _draw_horizontal(self, ids: str) -> tuple[list[str], int]:
        unit = self.units
        low, high = self._range()
        ticks = unit_ticks(unit, low, high, 5, zero=True)
        step = ticks[1] - ticks[0]
        tick_labels = [unit.tick(t, step) for t in ticks]
        names = [clip(label, 170) for label in self.labels]
        left = min(max(text_width(n) for n in names), 170) + 14
        items, legend_height = legend(ids, self._items(), self.width, 40)
        top = 30 + legend_height + 8
        per = 22 if len(self.series) == 1 or self.stacked else 12 * len(self.series) + 8
        height = int(top + per * len(self.labels) + 34)
        bottom = height - 28
        right = self.width - 16 - (40 if self._labelled() else 0)
        parts = [self._patterns(ids), *items]
        lo, hi = ticks[0], ticks[-1]

        def x_of(v: float) -> float:
            return left + (v - lo) / (hi - lo) * (right - left)

        for t, text in zip(ticks, tick_labels, strict=True):
            x = x_of(t)
            stroke = AXIS if t == 0 else GRID
            parts.append(f'<path d="M{x:.1f},{top:.1f} V{bottom:.1f}" stroke="{stroke}"/>')
            parts.append(
                f'<text x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle" fill="{MUTED}">'
                f"{esc(text)}</text>"
            )
        band = (bottom - top) / len(self.labels)
        for i, name in enumerate(names):
            parts.append(
                f'<text x="{left - 8:.1f}" y="{top + (i + 0.5) * band + 4:.1f}" '
                f'text-anchor="end" fill="{INK}">{esc(name)}</text>'
            )
        for i, j, offset, share, start, end in self._layout():
            y = top + i * band + offset * band
            x1, x2 = sorted((x_of(start), x_of(end)))
            v = end - start
            parts.append(
                f"<g><title>{esc(self._tip(i, j, v))}</title>"
                f'<rect x="{x1:.1f}" y="{y:.1f}" width="{max(x2 - x1, 0.5):.1f}" '
                f'height="{max(share * band, 1):.1f}" fill="{fill_of(ids, self._slot(j))}" '
                f'stroke="#fff" stroke-width="{0.8 if self.stacked else 0}"/></g>'
            )
            if self._labelled():
                tx, anchor = (x2 + 4, "start") if v >= 0 else (x1 - 4, "end")
                parts.append(
                    f'<text x="{tx:.1f}" y="{y + share * band / 2 + 4:.1f}" '
                    f'text-anchor="{anchor}" font-size="11" fill="{INK}">'
                    f"{esc(unit.format(v, compact=True))}</text>"
                )
        return parts, height


__all__ = ["BarChart", "LineChart", "PredictedActualChart", "Series", "present"]
