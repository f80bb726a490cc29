"""A histogram: how values spread, counted in bins and drawn as bars."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise

from accord.web.charts.base import DASH, Chart, Table, format_number, unit_ticks
from accord.web.charts.xy import BarChart, Series, present


@dataclass(kw_only=True)
class Histogram(Chart):
    """How ``values`` spread: counts in ``bins`` (a number of equal bins, or their
    edges; by default about ten on round numbers)."""

    values: Sequence[float] = ()
    bins: int | Sequence[float] | None = None
    count_name: str = "Count"

    @property
    def edges(self) -> list[float]:
        values = present(self.values)
        if not values:
            return []
        if self.bins is not None and not isinstance(self.bins, int):
            return sorted(float(b) for b in self.bins)
        low, high = min(values), max(values)
        count = self.bins if isinstance(self.bins, int) else 10
        if low == high:
            return [low, low + 1] if count <= 1 else [low - 0.5, low + 0.5]
        if isinstance(self.bins, int):
            width = (high - low) / count
            return [low + i * width for i in range(count)] + [high]
        ticks = unit_ticks(self.units, low, high, count, zero=False)
        if ticks[-1] <= high:
            ticks.append(ticks[-1] + (ticks[1] - ticks[0]))
        return ticks

    @property
    def counts(self) -> list[int]:
        edges = self.edges
        counts = [0] * max(len(edges) - 1, 0)
        for v in present(self.values):
            for k in range(len(counts)):
                last = k == len(counts) - 1
                if edges[k] <= v < edges[k + 1] or (last and v == edges[k + 1]):
                    counts[k] += 1
                    break
        return counts

    def _labels(self) -> list[str]:
        unit = self.units
        edges = self.edges
        step = (edges[1] - edges[0]) if len(edges) > 1 else 1.0
        return [f"{unit.tick(a, step)}{DASH}{unit.tick(b, step)}" for a, b in pairwise(edges)]

    def _bars(self) -> BarChart:
        return BarChart(
            key=self.key,
            title=self.title,
            labels=self._labels(),
            series=[Series(self.count_name, [float(c) for c in self.counts])],
            width=self.width,
            height=self.height,
            gap=0.04,
        )

    @property
    def empty(self) -> bool:
        return not present(self.values)

    @property
    def table(self) -> Table:
        rows = [
            [label, format_number(c)] for label, c in zip(self._labels(), self.counts, strict=True)
        ]
        raw = [[label, str(c)] for label, c in zip(self._labels(), self.counts, strict=True)]
        return Table([self.units.header("Range"), self.count_name], rows, raw, [False, True])

    @property
    def summary(self) -> str:
        values = present(self.values)
        if not values:
            return "No data yet."
        unit = self.units
        counts = self.counts
        top = max(range(len(counts)), key=lambda k: counts[k])
        return (
            f"{format_number(len(values))} values from {unit.format(min(values))} to "
            f"{unit.format(max(values))}, median {unit.format(statistics.median(values))}. "
            f"Most ({format_number(counts[top])}) lie in {self._labels()[top]}."
        )

    def draw(self, ids: str) -> tuple[list[str], int]:
        return self._bars().draw(ids)


__all__ = ["Histogram"]
