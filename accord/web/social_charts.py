"""The charts and headline figures of the Social dashboard (``social_pages.py``), built
from ``accord.social.metrics.Metrics``: mention volume by day stacked by sentiment, the
average sentiment score by day, share of voice and networks. Plain functions of plain
data, so each reads the same on the page, in its summary and in its downloads."""

from __future__ import annotations

from dataclasses import dataclass

from accord.social.metrics import Metrics
from accord.web.charts import BarChart, Chart, LineChart, Series, Unit
from accord.web.social_cards import DASH, minutes_words, network_label

SHARE = Unit.percent()
SCORE = Unit(decimals=2)
COUNT = Unit(name="mentions")  # named in the table's headers, plain on the axis
# Two charts side by side on a desk, one under the other on a phone: drawn about as wide
# as a column of the dashboard, so a phone shows every day without scrolling sideways.
WIDTH = 470
# Palette places (accord/web/charts/base.py) that carry each sentiment's meaning:
# positive bluish green, neutral grey, negative vermillion.
SENTIMENT_SLOTS = (2, 7, 1)


def percent(value: float | None, decimals: int = 0) -> str:
    return DASH if value is None else f"{value * 100:.{decimals}f}%"


def _day(iso: str, days: int) -> str:
    """A day's label: "Mar 04" (month and day; the year is in the table's period)."""
    month = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    year, mm, dd = iso.split("-")
    return f"{month[int(mm) - 1]} {dd}" if days <= 90 else f"{year}-{mm}-{dd}"


def volume_chart(m: Metrics) -> BarChart:
    labels = [_day(d.day, m.days) for d in m.by_day]
    return BarChart(
        key="volume",
        width=WIDTH,
        title="Mentions by day, by sentiment",
        description="Every mention heard each day (UTC), split by its sentiment.",
        labels=labels,
        series=[
            Series("Positive", [float(d.positive) for d in m.by_day]),
            Series("Neutral", [float(d.neutral) for d in m.by_day]),
            Series("Negative", [float(d.negative) for d in m.by_day]),
        ],
        stacked=True,
        over_time=True,
        slots=SENTIMENT_SLOTS,
        unit=COUNT,
    )


def score_chart(m: Metrics) -> LineChart:
    """The day's average score from -1 (all negative) to 1; no point on a quiet day."""
    return LineChart(
        key="sentiment-score",
        width=WIDTH,
        title="Average sentiment score by day",
        description="The mean sentiment score of the day's mentions, from -1 (negative) "
        "to +1 (positive); days without mentions are left out.",
        labels=[_day(d.day, m.days) for d in m.by_day],
        series=[Series("Average score", [d.score if d.mentions else None for d in m.by_day])],
        unit=SCORE,
    )


def share_chart(m: Metrics) -> BarChart:
    return BarChart(
        key="share-of-voice",
        width=WIDTH,
        title="Share of voice",
        description="Each name's share of the mentions heard: the brand's own and each "
        "competitor's.",
        labels=[("Your brand" if s.name == "brand" else s.name) for s in m.share_of_voice],
        series=[Series("Share of mentions", [s.share for s in m.share_of_voice])],
        unit=SHARE,
        horizontal=True,
    )


def networks_chart(m: Metrics) -> BarChart:
    return BarChart(
        key="networks",
        width=WIDTH,
        title="Mentions by network",
        description="Where the mentions were heard.",
        labels=[network_label(n) for n in m.networks],
        series=[Series("Mentions", [float(v) for v in m.networks.values()])],
        unit=COUNT,
        horizontal=True,
    )


def charts_of(m: Metrics) -> list[Chart]:
    return [volume_chart(m), score_chart(m), share_chart(m), networks_chart(m)]


@dataclass(frozen=True)
class Figure:
    """One headline figure: its label, value, a line under it and whether it needs
    attention (drawn as a warning)."""

    key: str
    label: str
    value: str
    note: str = ""
    warn: bool = False


def figures(m: Metrics) -> list[Figure]:
    r = m.response
    negative = m.sentiment.get("negative", 0)
    share = negative / m.mentions if m.mentions else None
    return [
        Figure("mentions", "Mentions", f"{m.mentions:,}", f"in {m.days} days"),
        Figure(
            "negative",
            "Negative",
            percent(share),
            f"{negative:,} negative mention{'s' if negative != 1 else ''}",
            warn=share is not None and share >= 0.4,
        ),
        Figure(
            "rate",
            "Response rate",
            percent(r.rate),
            (
                f"{r.answered:,} answered of {r.to_respond:,} to respond to"
                if r.to_respond
                else "nothing to respond to"
            ),
        ),
        Figure(
            "median",
            "Median first response",
            minutes_words(r.median_minutes),
            f"90% within {minutes_words(r.p90_minutes)}" if r.p90_minutes is not None else "",
        ),
        Figure(
            "within-sla",
            "Within SLA",
            percent(r.within_sla),
            "of the answered met their deadline",
        ),
        Figure(
            "overdue",
            "Overdue",
            f"{r.overdue:,}",
            "open past their deadline",
            warn=r.overdue > 0,
        ),
    ]
