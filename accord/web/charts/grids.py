"""Charts on two dimensions: a heat map (rows by columns, a colour scale and the value
printed in each cell, such as cohort retention) and a scatter with optional quadrant
lines and labels (such as valuable against costly customers)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from accord.web.charts.base import (
    AXIS,
    DASH,
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
    contrast_ratio,
    esc,
    format_number,
    legend,
    marker,
    text_width,
    unit_ticks,
)

# ColorBrewer's sequential blues (and oranges for values below zero), light to dark.
BLUES = ("#eff3ff", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#084594")
ORANGES = ("#feedde", "#fdd0a2", "#fdae6b", "#fd8d3c", "#f16913", "#d94801", "#8c2d04")
MISSING = "#f2f4f7"
# A white outline under text drawn over marks, so it stays legible where they meet.
HALO = 'stroke="#fff" stroke-width="3" paint-order="stroke" stroke-linejoin="round"'


def text_on(background: str) -> str:
    """Ink or white, whichever reads better on ``background``."""
    white = "#ffffff"
    return INK if contrast_ratio(INK, background) >= contrast_ratio(white, background) else white


@dataclass(kw_only=True)
class HeatMap(Chart):
    """``values[r][c]`` for each of ``rows`` and ``columns`` (None where there is none),
    coloured on one scale (two, blue and orange, when values lie on both sides of zero),
    with each value printed in its cell where it fits."""

    rows: Sequence[str] = ()
    columns: Sequence[str] = ()
    values: Sequence[Sequence[float | None]] = ()
    row_title: str = ""
    cell_height: int = 26

    def __post_init__(self) -> None:
        self.rows = [str(r) for r in self.rows]
        self.columns = [str(c) for c in self.columns]
        if len(self.values) != len(self.rows):
            raise ValueError(f"{len(self.values)} rows of values for {len(self.rows)} rows")
        for r, row in zip(self.rows, self.values, strict=True):
            if len(row) != len(self.columns):
                raise ValueError(f"row {r!r} has {len(row)} values, not {len(self.columns)}")

    def _cells(self) -> list[tuple[int, int, float]]:
        return [
            (r, c, float(v))
            for r, row in enumerate(self.values)
            for c, v in enumerate(row)
            if v is not None and not math.isnan(v)
        ]

    @property
    def empty(self) -> bool:
        return not self._cells()

    def fill(self, value: float) -> str:
        cells = [v for _, _, v in self._cells()]
        low, high = min(cells), max(cells)
        if low < 0 < high:
            extent = max(abs(low), abs(high))
            scale = BLUES if value >= 0 else ORANGES
            share = abs(value) / extent
        else:
            scale = BLUES if high > 0 or low == high == 0 else ORANGES
            share = 0.5 if high == low else (value - low) / (high - low)
            if high <= 0 and low != high:
                share = 1 - share
        return scale[min(round(share * (len(scale) - 1)), len(scale) - 1)]

    @property
    def table(self) -> Table:
        unit = self.units
        headers = [self.row_title or "", *(unit.header(c) for c in self.columns)]
        rows = [
            [r, *(unit.format(v) for v in vs)] for r, vs in zip(self.rows, self.values, strict=True)
        ]
        raw = [
            [r, *(unit.raw(v) for v in vs)] for r, vs in zip(self.rows, self.values, strict=True)
        ]
        return Table(headers, rows, raw, [False] + [True] * len(self.columns))

    @property
    def summary(self) -> str:
        cells = self._cells()
        if not cells:
            return "No data yet."
        unit = self.units
        high = max(cells, key=lambda t: t[2])
        low = min(cells, key=lambda t: t[2])
        where = "{} by {}".format
        return (
            f"{len(self.rows)} rows by {len(self.columns)} columns. "
            f"Highest {unit.format(high[2])} ({where(self.rows[high[0]], self.columns[high[1]])}), "
            f"lowest {unit.format(low[2])} ({where(self.rows[low[0]], self.columns[low[1]])})."
        )

    def draw(self, ids: str) -> tuple[list[str], int]:
        unit = self.units
        names = [clip(r, 150) for r in self.rows]
        left = min(max(text_width(n) for n in names), 150) + 12
        top = 30 + 24
        width = (self.width - left - 4) / len(self.columns)
        height = top + self.cell_height * len(self.rows)
        parts: list[str] = []
        widest = max(text_width(c) for c in self.columns) + 6
        every = max(1, math.ceil(widest / width))
        for c, name in enumerate(self.columns):
            if c % every:
                continue
            x = left + (c + 0.5) * width
            parts.append(
                f'<text x="{x:.1f}" y="{top - 8:.1f}" text-anchor="middle" fill="{MUTED}">'
                f"{esc(clip(name, max(width * every, 30)))}</text>"
            )
        for r, name in enumerate(names):
            y = top + (r + 0.5) * self.cell_height + 4
            parts.append(
                f'<text x="{left - 8:.1f}" y="{y:.1f}" text-anchor="end" fill="{INK}">'
                f"{esc(name)}</text>"
            )
        for r, row in enumerate(self.values):
            for c, v in enumerate(row):
                x = left + c * width
                y = top + r * self.cell_height
                fill = MISSING if v is None else self.fill(float(v))
                tip = f"{self.rows[r]}, {self.columns[c]}: {unit.format(v)}"
                parts.append(
                    f"<g><title>{esc(tip)}</title>"
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" '
                    f'height="{self.cell_height}" fill="{fill}" stroke="#fff" stroke-width="1"/>'
                )
                text = DASH if v is None else unit.format(v, compact=True)
                if text_width(text) <= width - 4:
                    parts.append(
                        f'<text x="{x + width / 2:.1f}" y="{y + self.cell_height / 2 + 4:.1f}" '
                        f'text-anchor="middle" font-size="11" fill="{text_on(fill)}">'
                        f"{esc(text)}</text>"
                    )
                parts.append("</g>")
        parts += self._scale(left, height + 14)
        return parts, int(height + 44)

    def _scale(self, left: float, y: float) -> list[str]:
        """The colour scale: its steps, with the lowest and highest values named."""
        cells = [v for _, _, v in self._cells()]
        low, high = min(cells), max(cells)
        unit = self.units
        steps = [low + (high - low) * k / 6 for k in range(7)] if high != low else [low]
        lowest = esc(unit.format(low))
        out = [f'<text x="{left:.1f}" y="{y + 11:.1f}" fill="{MUTED}">{lowest}</text>']
        x = left + text_width(unit.format(low)) + 6
        for v in steps:
            out.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="18" height="14" fill="{self.fill(v)}" '
                f'stroke="{GRID}"/>'
            )
            x += 18
        out.append(
            f'<text x="{x + 6:.1f}" y="{y + 11:.1f}" fill="{MUTED}">{esc(unit.format(high))}</text>'
        )
        return out


@dataclass
class Point:
    """One point of a scatter: its label (shown beside it where there is room), its
    place, and an optional group (a colour and a marker of its own, in the legend)."""

    label: str
    x: float
    y: float
    group: str = ""


@dataclass(kw_only=True)
class ScatterChart(Chart):
    """Points on two value axes. ``x_split`` and ``y_split`` draw quadrant lines;
    ``quadrants`` names the four parts (top left, top right, bottom left, bottom right).
    ``unit`` is the y axis's, ``x_unit`` the x axis's."""

    points: Sequence[Point] = ()
    x_title: str = "x"
    y_title: str = "y"
    x_unit: Unit | str = ""
    x_split: float | None = None
    y_split: float | None = None
    quadrants: Sequence[str] = ()
    label_points: bool = True
    height: int = 340

    def __post_init__(self) -> None:
        if self.quadrants and len(self.quadrants) != 4:
            raise ValueError(
                "quadrants name four parts: top left, top right, bottom left, bottom right"
            )

    @property
    def _points(self) -> list[Point]:
        return [p for p in self.points if not (math.isnan(p.x) or math.isnan(p.y))]

    @property
    def groups(self) -> list[str]:
        return list(dict.fromkeys(p.group for p in self._points if p.group))

    @property
    def empty(self) -> bool:
        return not self._points

    def quadrant_of(self, p: Point) -> str:
        if not self.quadrants or self.x_split is None or self.y_split is None:
            return ""
        top = p.y >= self.y_split
        right = p.x >= self.x_split
        return self.quadrants[(0 if top else 2) + (1 if right else 0)]

    @property
    def table(self) -> Table:
        xu, yu = Unit.of(self.x_unit), self.units
        headers = ["Label", xu.header(self.x_title), yu.header(self.y_title)]
        with_group = bool(self.groups)
        with_quadrant = bool(self.quadrants) and None not in (self.x_split, self.y_split)
        headers += ["Group"] * with_group + ["Quadrant"] * with_quadrant
        rows, raw = [], []
        for p in self._points:
            extra = [p.group] * with_group + [self.quadrant_of(p)] * with_quadrant
            rows.append([p.label, xu.format(p.x), yu.format(p.y), *extra])
            raw.append([p.label, xu.raw(p.x), yu.raw(p.y), *extra])
        numeric = [False, True, True] + [False] * (with_group + with_quadrant)
        return Table(headers, rows, raw, numeric)

    @property
    def summary(self) -> str:
        points = self._points
        if not points:
            return "No data yet."
        count = f"{format_number(len(points))} point{'s' if len(points) != 1 else ''}"
        if self.quadrants and self.x_split is not None and self.y_split is not None:
            tally: dict[str, int] = dict.fromkeys(self.quadrants, 0)
            for p in points:
                tally[self.quadrant_of(p)] += 1
            parts = [f"{n} in “{name}”" for name, n in tally.items() if n]
            return f"{count}: " + "; ".join(parts) + "."
        if len(points) < 3 or len({p.x for p in points}) < 2 or len({p.y for p in points}) < 2:
            return f"{count}."
        r = statistics.correlation([p.x for p in points], [p.y for p in points])
        if abs(r) < 0.3:
            way = f"{self.y_title} shows no clear link with {self.x_title}"
        else:
            way = f"{self.y_title} tends to {'rise' if r > 0 else 'fall'} as {self.x_title} rises"
        return f"{count}; {way} (correlation {r:.2f})."

    def draw(self, ids: str) -> tuple[list[str], int]:
        points = self._points
        xu, yu = Unit.of(self.x_unit), self.units
        xs, ys = [p.x for p in points], [p.y for p in points]
        if self.x_split is not None:
            xs.append(self.x_split)
        if self.y_split is not None:
            ys.append(self.y_split)
        xt = unit_ticks(xu, min(xs), max(xs), 6, zero=False)
        yt = unit_ticks(yu, min(ys), max(ys), 5, zero=False)
        y_labels = [yu.tick(t, yt[1] - yt[0]) for t in yt]
        groups = self.groups
        items = [LegendItem(g, "point", i) for i, g in enumerate(groups)]
        parts, legend_height = legend(ids, items, self.width, 40)
        top = 30 + legend_height + 26
        left = max(text_width(t) for t in y_labels) + 12
        last_tick = xu.tick(xt[-1], xt[1] - xt[0])
        right = self.width - 4 - text_width(last_tick) / 2
        bottom = self.height - 44

        def x_of(v: float) -> float:
            return left + (v - xt[0]) / (xt[-1] - xt[0]) * (right - left)

        def y_of(v: float) -> float:
            return bottom - (v - yt[0]) / (yt[-1] - yt[0]) * (bottom - top)

        y_name = esc(yu.header(self.y_title))
        parts.append(f'<text x="{left:.1f}" y="{top - 12:.1f}" fill="{MUTED}">{y_name}</text>')
        for t, text in zip(yt, y_labels, strict=True):
            y = y_of(t)
            parts.append(f'<path d="M{left:.1f},{y:.1f} H{right:.1f}" stroke="{GRID}"/>')
            parts.append(
                f'<text x="{left - 6:.1f}" y="{y + 4:.1f}" text-anchor="end" fill="{MUTED}">'
                f"{esc(text)}</text>"
            )
        for t in xt:
            x = x_of(t)
            parts.append(f'<path d="M{x:.1f},{top:.1f} V{bottom:.1f}" stroke="{GRID}"/>')
            parts.append(
                f'<text x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle" fill="{MUTED}">'
                f"{esc(xu.tick(t, xt[1] - xt[0]))}</text>"
            )
        parts.append(
            f'<text x="{(left + right) / 2:.1f}" y="{bottom + 36:.1f}" text-anchor="middle" '
            f'fill="{MUTED}">{esc(xu.header(self.x_title))}</text>'
        )
        parts.append(
            f'<path d="M{left:.1f},{top:.1f} V{bottom:.1f} H{right:.1f}" '
            f'stroke="{AXIS}" fill="none"/>'
        )
        if self.x_split is not None:
            x = x_of(self.x_split)
            parts.append(
                f'<path d="M{x:.1f},{top:.1f} V{bottom:.1f}" stroke="{INK}" '
                'stroke-dasharray="5 4"/>'
            )
        if self.y_split is not None:
            y = y_of(self.y_split)
            parts.append(
                f'<path d="M{left:.1f},{y:.1f} H{right:.1f}" stroke="{INK}" '
                'stroke-dasharray="5 4"/>'
            )
        if self.quadrants:
            corners = (
                (left + 6, top + 14, "start"),
                (right - 6, top + 14, "end"),
                (left + 6, bottom - 8, "start"),
                (right - 6, bottom - 8, "end"),
            )
            for name, (x, y, anchor) in zip(self.quadrants, corners, strict=True):
                parts.append(
                    f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-weight="600" '
                    f'fill="{MUTED}" {HALO}>{esc(clip(name, (right - left) / 2 - 12))}</text>'
                )
        show_labels = self.label_points and len(points) <= 25
        for p in points:
            index = groups.index(p.group) if p.group in groups else 0
            x, y = x_of(p.x), y_of(p.y)
            tip = f"{p.label}: {self.x_title} {xu.format(p.x)}, {self.y_title} {yu.format(p.y)}"
            parts.append(
                f"<g><title>{esc(tip)}</title>"
                f"{marker(MARKERS[index % len(MARKERS)], x, y, colour(index), 4.2)}</g>"
            )
            if show_labels and p.label:
                near_right = x > right - 90
                parts.append(
                    f'<text x="{x + (-7 if near_right else 7):.1f}" y="{y + 4:.1f}" '
                    f'text-anchor="{"end" if near_right else "start"}" font-size="11" '
                    f'fill="{INK}" {HALO}>{esc(clip(p.label, 90))}</text>'
                )
        return parts, self.height
