"""What every chart shares: units and number formatting, nice axis ticks, the palette
(checked for contrast), patterns and markers, the legend, the data table and its CSV,
and the SVG frame with its accessible name and description."""

from __future__ import annotations

import csv
import html
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from markupsafe import Markup

from accord.kit import csvsafe

# Okabe and Ito's colour-blind-safe palette, the lighter hues darkened until each one
# stands out from a white background by at least 3:1 (WCAG 2.2, 1.4.11 non-text
# contrast); tests/web/test_charts.py computes every ratio. Series are also told apart
# by patterns (bars), markers and dashes (lines), so colour is never the only cue.
PALETTE = (
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#007A5A",  # bluish green
    "#B8558F",  # reddish purple
    "#A36200",  # orange, darkened
    "#5B3A96",  # violet
    "#8A7A00",  # olive (yellow, darkened)
    "#555555",  # grey
)
INK = "#1d2433"
MUTED = "#475467"
GRID = "#e4e7ec"
AXIS = "#98a2b3"
BACKGROUND = "#ffffff"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
FONT_SIZE = 12
CHAR_WIDTH = 6.6  # an average character at FONT_SIZE, for laying labels out
DASHES = ("", "6 3", "2 3", "9 3 2 3", "4 4", "1 2", "12 4", "6 2 2 2")
MARKERS = ("circle", "square", "triangle", "diamond", "cross", "plus", "down", "bar")
NO_DATA = "No data yet"
DASH = "\u2013"  # an en dash: a missing value, a range


def contrast_ratio(colour: str, background: str = BACKGROUND) -> float:
    """The WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""

    def luminance(hex_colour: str) -> float:
        h = hex_colour.lstrip("#")
        channels = [int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]
        lin = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2]

    a, b = luminance(colour), luminance(background)
    return (max(a, b) + 0.05) / (min(a, b) + 0.05)


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def esc(value: Any) -> str:
    """Text or an attribute value, escaped (labels come from users and customers)."""
    return html.escape(str(value), quote=True)


def safe_id(value: str) -> str:
    """An id usable in markup and file names: letters, digits, ``-`` and ``_``."""
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", value).strip("-")
    return cleaned or "chart"


def clip(text: str, width: float) -> str:
    """``text`` cut with an ellipsis to fit about ``width`` pixels."""
    most = max(int(width / CHAR_WIDTH), 2)
    return text if len(text) <= most else text[: most - 1] + "…"


def text_width(text: str) -> float:
    return len(text) * CHAR_WIDTH


# --- numbers ---------------------------------------------------------------------------


def format_number(value: float, decimals: int | None = None, *, compact: bool = False) -> str:
    """``12,345.6``; with ``compact``, ``12.3k``, ``4.5M``, ``1.2B`` from a thousand up.
    Without ``decimals``: none from 100 up, one from 10, two below (trailing zeros go)."""
    if math.isnan(value) or math.isinf(value):
        return DASH
    if compact and abs(value) >= 1000:
        for size, letter in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")):
            if abs(value) >= size:
                scaled = value / size
                text = f"{scaled:,.1f}" if abs(scaled) < 100 else f"{scaled:,.0f}"
                return text.removesuffix(".0") + letter
    if decimals is None:
        magnitude = abs(value)
        decimals = 0 if magnitude >= 100 or value == int(value) else 1 if magnitude >= 10 else 2
        text = f"{value:,.{decimals}f}"
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = f"{value:,.{decimals}f}"
    return "0" if text in ("-0", "-0.0") else text


@dataclass(frozen=True)
class Unit:
    """How a chart's values read: ``prefix`` and ``suffix`` around the number, ``scale``
    applied for display (a share 0.25 shows as 25 with ``scale=100``), ``decimals``
    (None: by size), and ``name`` for table headers and the CSV ("min", "%", "EUR")."""

    suffix: str = ""
    prefix: str = ""
    scale: float = 1.0
    decimals: int | None = None
    name: str = ""

    @classmethod
    def of(cls, value: Unit | str | None) -> Unit:
        if isinstance(value, Unit):
            return value
        if not value:
            return cls()
        return cls(suffix=f" {value}" if value[0].isalnum() else value, name=value)

    @classmethod
    def percent(cls, decimals: int = 0) -> Unit:
        """Shares from 0 to 1, shown as percentages."""
        return cls(suffix="%", scale=100.0, decimals=decimals, name="%")

    @classmethod
    def money(cls, currency: str, decimals: int = 2) -> Unit:
        return cls(prefix=f"{currency} ", decimals=decimals, name=currency)

    @classmethod
    def duration(cls, seconds: Sequence[float | None]) -> Unit:
        """Values in seconds, shown in minutes, hours or days by the largest of them."""
        largest = max((abs(s) for s in seconds if s is not None), default=0.0)
        if largest >= 3 * 86400:
            return cls(suffix=" d", scale=1 / 86400, decimals=1, name="days")
        if largest >= 3 * 3600:
            return cls(suffix=" h", scale=1 / 3600, decimals=1, name="hours")
        return cls(suffix=" min", scale=1 / 60, name="min")

    def shown(self, value: float) -> float:
        return value * self.scale

    def format(self, value: float | None, *, compact: bool = False) -> str:
        """The value as read on the chart and in the table (a dash when missing)."""
        if value is None:
            return DASH
        number = format_number(self.shown(value), self.decimals, compact=compact)
        if number.startswith("-") and self.prefix:
            return f"-{self.prefix}{number[1:]}{self.suffix}"
        return f"{self.prefix}{number}{self.suffix}"

    def tick(self, value: float, step: float) -> str:
        """An axis tick: compact, with as many decimals as the step needs."""
        shown_step = abs(step * self.scale)
        decimals = 0
        while (
            decimals < 6
            and abs(shown_step * 10**decimals - round(shown_step * 10**decimals)) > 1e-6
        ):
            decimals += 1  # 2.5 needs one, 0.05 two, 20 none
        number = format_number(self.shown(value), decimals, compact=True)
        return f"{self.prefix}{number}{self.suffix}"

    def header(self, name: str) -> str:
        return f"{name} ({self.name})" if self.name else name

    def raw(self, value: float | None) -> str:
        """The value for the CSV: in the unit shown, without separators."""
        if value is None or math.isnan(value):
            return ""
        shown = self.shown(value)
        return str(int(shown)) if shown == int(shown) and abs(shown) < 1e15 else f"{shown:.6g}"


def nice_step(span: float, count: int = 5) -> float:
    """A step of 1, 2, 2.5 or 5 times a power of ten giving about ``count`` intervals."""
    if span <= 0 or math.isnan(span):
        return 1.0
    rough = span / max(count, 1)
    power = 10 ** math.floor(math.log10(rough))
    for factor in (1, 2, 2.5, 5, 10):
        if factor * power >= rough:
            return float(factor * power)
    return float(10 * power)


def nice_ticks(low: float, high: float, count: int = 5, *, zero: bool = True) -> list[float]:
    """Tick values covering ``low``..``high`` on round numbers; ``zero`` takes 0 in."""
    if zero:
        low, high = min(low, 0.0), max(high, 0.0)
    if low == high:
        if low == 0:
            return [0.0, 1.0]
        pad = abs(low) * 0.1
        low, high = low - pad, high + pad
    step = nice_step(high - low, count)
    start = math.floor(low / step + 1e-9) * step
    ticks: list[float] = []
    value = start
    while value < high + step * 0.999 and len(ticks) < 50:
        ticks.append(round(value, 10))
        value = start + step * len(ticks)
    if len(ticks) < 2:
        ticks.append(round(start + step, 10))
    return ticks


def unit_ticks(
    unit: Unit, low: float, high: float, count: int = 5, *, zero: bool = True
) -> list[float]:
    """``nice_ticks`` on the values as shown (minutes, percentages), given back in the
    values' own scale: round numbers on the axis whatever the unit."""
    scale = unit.scale or 1.0
    return [t / scale for t in nice_ticks(low * scale, high * scale, count, zero=zero)]


# --- data table -------------------------------------------------------------------------


@dataclass
class Table:
    """The data behind a chart: ``headers``, ``rows`` as shown (formatted text), and
    ``raw`` rows as written to the CSV (numbers in the unit shown, no separators)."""

    headers: list[str]
    rows: list[list[str]]
    raw: list[list[str]] = field(default_factory=list)
    numeric: list[bool] = field(default_factory=list)

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(csvsafe.row(list(self.headers)))
        for row in self.raw or self.rows:
            writer.writerow(csvsafe.row(list(row)))
        return out.getvalue()


# --- the frame ---------------------------------------------------------------------------


@dataclass(kw_only=True)
class Chart:
    """A chart built from plain data. ``key`` names it on its page (element ids, the
    export's ``?export=<key>``, file names); ``title`` is its accessible name and heading;
    ``description`` (optional) says what it measures, before the generated summary.

    Each chart gives ``svg`` (inline markup), ``table`` (the data shown under it),
    ``summary`` (a sentence or two) and ``csv()``; ``document()`` is the SVG as a file."""

    key: str
    title: str
    description: str = ""
    unit: Unit | str = ""
    width: int = 640
    height: int = 280

    @property
    def units(self) -> Unit:
        return Unit.of(self.unit)

    # What each kind provides.
    @property
    def empty(self) -> bool:
        raise NotImplementedError

    @property
    def table(self) -> Table:
        raise NotImplementedError

    @property
    def summary(self) -> str:
        raise NotImplementedError

    def draw(self, ids: str) -> tuple[list[str], int]:
        """The chart's elements and its height (``ids`` prefixes every element id)."""
        raise NotImplementedError

    def csv(self) -> str:
        return self.table.csv()

    @property
    def svg(self) -> Markup:
        return self.render(self.key)

    def render(self, id_prefix: str, *, standalone: bool = False) -> Markup:
        ids = safe_id(id_prefix)
        if self.empty:
            parts, height = self._nothing()
        else:
            parts, height = self.draw(ids)
        desc = " ".join(p for p in (self.description.strip(), self.summary) if p)
        head = [
            f'<svg xmlns="http://www.w3.org/2000/svg" class="chart-svg" '
            f'viewBox="0 0 {self.width} {height}" width="{self.width}" height="{height}" '
            f'role="img" aria-labelledby="{ids}-title {ids}-desc" '
            f'font-family="{esc(FONT)}" font-size="{FONT_SIZE}" fill="{INK}">',
            f'<title id="{ids}-title">{esc(self.title)}</title>',
            f'<desc id="{ids}-desc">{esc(desc)}</desc>',
        ]
        if standalone:
            head.append(f'<rect width="{self.width}" height="{height}" fill="{BACKGROUND}"/>')
        head.append(
            f'<text x="0" y="16" font-size="14" font-weight="600" fill="{INK}">'
            f"{esc(clip(self.title, self.width))}</text>"
        )
        return Markup("".join([*head, *parts, "</svg>"]))  # noqa: S704 - every text is escaped

    def document(self) -> str:
        """The chart as an SVG file of its own (white background, no page styles)."""
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + str(
            self.render(self.key, standalone=True)
        )

    def _nothing(self) -> tuple[list[str], int]:
        height = 120
        return [
            f'<rect x="0.5" y="28.5" width="{self.width - 1}" height="{height - 30}" rx="6" '
            f'fill="#f8f9fc" stroke="{GRID}" stroke-dasharray="4 3"/>',
            f'<text x="{self.width / 2}" y="{28 + (height - 30) / 2 + 4}" text-anchor="middle" '
            f'fill="{MUTED}">{NO_DATA}</text>',
        ], height


# --- patterns, markers, legend -----------------------------------------------------------


def pattern_defs(ids: str, count: int) -> str:
    """Fill patterns for bars: series 0 solid, the next with stripes, dots, hatches."""
    shapes = (
        "",
        '<path d="M-1,1 l2,-2 M0,6 l6,-6 M5,7 l2,-2" stroke="#fff" stroke-width="1.4"/>',
        '<circle cx="3" cy="3" r="1.2" fill="#fff"/>',
        '<path d="M0,0 L6,6 M6,0 L0,6" stroke="#fff" stroke-width="1"/>',
        '<path d="M0,3 H6" stroke="#fff" stroke-width="1.4"/>',
        '<path d="M3,0 V6" stroke="#fff" stroke-width="1.4"/>',
        '<path d="M-1,5 l2,2 M0,0 l6,6 M5,-1 l2,2" stroke="#fff" stroke-width="1.4"/>',
        '<rect x="2" y="2" width="2" height="2" fill="#fff"/>',
    )
    out = ["<defs>"]
    for i in range(count):
        shape = shapes[i % len(shapes)]
        out.append(
            f'<pattern id="{ids}-p{i}" patternUnits="userSpaceOnUse" width="6" height="6">'
            f'<rect width="6" height="6" fill="{colour(i)}"/>{shape}</pattern>'
        )
    out.append("</defs>")
    return "".join(out)


def fill_of(ids: str, index: int) -> str:
    return colour(index) if index % len(PALETTE) == 0 else f"url(#{ids}-p{index})"


def _polygon(points: Sequence[tuple[float, float]], fill: str) -> str:
    d = " L".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return f'<path d="M{d} Z" fill="{fill}"/>'


def marker(kind: str, x: float, y: float, fill: str, size: float = 3.6) -> str:
    """A point marker drawn at (x, y): its shape tells the series apart without colour."""
    s = size
    lines = f'stroke="{fill}" stroke-width="1.6" fill="none"'
    if kind == "circle":
        return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{s:.1f}" fill="{fill}"/>'
    if kind == "square":
        return _polygon([(x - s, y - s), (x + s, y - s), (x + s, y + s), (x - s, y + s)], fill)
    if kind == "triangle":
        t = s + 0.6
        return _polygon([(x, y - t), (x + t, y + s), (x - t, y + s)], fill)
    if kind == "down":
        t = s + 0.6
        return _polygon([(x, y + t), (x + t, y - s), (x - t, y - s)], fill)
    if kind == "diamond":
        t = s + 1
        return _polygon([(x, y - t), (x + t, y), (x, y + t), (x - t, y)], fill)
    if kind == "cross":
        return (
            f'<path d="M{x - s:.1f},{y - s:.1f} L{x + s:.1f},{y + s:.1f} '
            f'M{x + s:.1f},{y - s:.1f} L{x - s:.1f},{y + s:.1f}" {lines}/>'
        )
    if kind == "plus":
        t = s + 0.5
        return (
            f'<path d="M{x - t:.1f},{y:.1f} H{x + t:.1f} M{x:.1f},{y - t:.1f} V{y + t:.1f}" '
            f"{lines}/>"
        )
    return _polygon([(x - s, y - 1.5), (x + s, y - 1.5), (x + s, y + 1.5), (x - s, y + 1.5)], fill)


@dataclass
class LegendItem:
    name: str
    kind: str  # "bar" | "line" | "point"
    index: int
    dash: str = ""


def legend(
    ids: str, items: Sequence[LegendItem], width: int, top: float
) -> tuple[list[str], float]:
    """The legend in rows under the title; returns its elements and the height it took."""
    if len(items) < 2:
        return [], 0.0
    out: list[str] = []
    x, y = 0.0, top
    for item in items:
        label = clip(item.name, 200)
        need = 26 + text_width(label) + 16
        if x > 0 and x + need > width:
            x, y = 0.0, y + 20
        c = colour(item.index)
        if item.kind == "bar":
            out.append(
                f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="16" height="12" rx="2" '
                f'fill="{fill_of(ids, item.index)}"/>'
            )
        else:
            if item.kind == "line":
                dash = f' stroke-dasharray="{item.dash}"' if item.dash else ""
                out.append(
                    f'<path d="M{x:.1f},{y - 3:.1f} h20" stroke="{c}" stroke-width="2.5"{dash}/>'
                )
            out.append(marker(MARKERS[item.index % len(MARKERS)], x + 10, y - 3, c))
        out.append(f'<text x="{x + 26:.1f}" y="{y + 1:.1f}" fill="{INK}">{esc(label)}</text>')
        x += need
    return out, (y - top) + 22


def sentence_list(parts: Sequence[str]) -> str:
    parts = [p for p in parts if p]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]
