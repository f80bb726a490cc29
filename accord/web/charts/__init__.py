"""Charts for the console, rendered on the server as inline SVG.

Why not Chart.js, uPlot, ECharts or Vega: each is a JavaScript library drawing on a
canvas (or SVG) in the browser, so it must be vendored and kept up to date (the console
has no build step and must work offline, with no CDN), the chart exists only once the
script has run, and a canvas is a blank picture to a screen reader unless every chart
also gets a hand-made alternative. Here a chart is a small object built from plain data
on the server; its SVG is part of the page as sent, so it needs no script at all, works
under the console's Content-Security-Policy, prints, and is downloadable as an image as
it is. It is accessible by construction: ``role="img"`` named by its ``<title>`` and
described by a ``<desc>`` holding a generated summary, with the data table under it and
the same data as CSV. Colours come from a colour-blind-safe palette with at least 3:1
contrast against white, and series are told apart by patterns, markers and dashes as
well. What the libraries add (zooming, animated tooltips) matters little for dashboards
read at a glance; native ``<title>`` tooltips show each value on hover.

Kinds (each a dataclass; every text is escaped, empty data shows "No data yet"):

- ``LineChart(key=, title=, labels=, series=[Series(name, values, style)], unit=)``
- ``PredictedActualChart(key=, title=, labels=, actual=, predicted=)``: solid and dashed
- ``BarChart(..., horizontal=False, stacked=False)``: grouped when several series
- ``Histogram(key=, title=, values=, bins=None)``
- ``HeatMap(key=, title=, rows=, columns=, values=[[...]], row_title=)``
- ``ScatterChart(key=, title=, points=[Point(label, x, y, group)], x_title=, y_title=,
  x_split=, y_split=, quadrants=(top left, top right, bottom left, bottom right))``

Each gives ``svg``, ``table`` (headers and rows as shown), ``summary`` and ``csv()``;
``unit`` is a :class:`Unit` (``Unit.percent()``, ``Unit.money("EUR")``,
``Unit.duration(seconds)``) or a plain suffix. The template macro
``{% import "_charts.html" as charts with context %}{{ charts.chart(c, "id") }}`` shows a
chart as a figure with its summary, its data table and download links, which
:func:`chart_export` answers from the page's own route.
"""

from accord.web.charts.base import PALETTE, Chart, Table, Unit, contrast_ratio, nice_ticks
from accord.web.charts.export import chart_export
from accord.web.charts.grids import HeatMap, Point, ScatterChart
from accord.web.charts.histogram import Histogram
from accord.web.charts.xy import BarChart, LineChart, PredictedActualChart, Series

__all__ = [
    "PALETTE",
    "BarChart",
    "Chart",
    "HeatMap",
    "Histogram",
    "LineChart",
    "Point",
    "PredictedActualChart",
    "ScatterChart",
    "Series",
    "Table",
    "Unit",
    "chart_export",
    "contrast_ratio",
    "nice_ticks",
]
