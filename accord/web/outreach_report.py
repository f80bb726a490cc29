"""How a campaign's progress and report read on its console page: the sends counted by
status as a bar chart, the funnel from sent to converted, the holdout comparison as a
chart and in words (each difference with its 95% interval, and whether it can be told
from no effect), and the progress of a campaign being sent."""

from __future__ import annotations

from dataclasses import dataclass

from accord.outreach.schemas import Lift, ReportRead
from accord.web.charts import BarChart, Chart, Series, Unit

# Drawn about the size they are shown at, two a row, so their words read at full size.
WIDTH, HEIGHT = 460, 220
MINUS = "\u2212"
# Every status a send can have, in the order a page lists them, with its words.
STATUSES = {
    "queued": "Queued",
    "sending": "Sending",
    "sent": "Sent",
    "refused": "Refused",
    "held": "Held",
    "holdout": "Holdout",
    "bounced": "Bounced",
    "complained": "Complained",
    "failed": "Failed",
    "unknown": "Unknown",
}
# Statuses of a send not decided yet: waiting to go, being handed over, or held.
WAITING = ("queued", "sending", "held")


def status_label(status: str) -> str:
    return STATUSES.get(status, status.capitalize())


@dataclass(frozen=True)
class Progress:
    """How far a campaign is: how many of its recipients are decided (sent, refused,
    bounced, held out...) of how many, and the count of each status."""

    status: str
    total: int
    done: int
    counts: list[tuple[str, str, int]]  # (status, words, count)

    @property
    def share(self) -> int:
        """The part decided, in whole percent (100 when there is nobody to send to)."""
        return round(100 * self.done / self.total) if self.total else 100

    @property
    def polling(self) -> bool:
        return self.status == "sending"


def progress(status: str, counts: dict[str, int]) -> Progress:
    total = sum(counts.values())
    waiting = sum(counts.get(s, 0) for s in WAITING)
    ordered = [(s, status_label(s), counts[s]) for s in STATUSES if counts.get(s)]
    ordered += [(s, status_label(s), n) for s, n in sorted(counts.items()) if s not in STATUSES]
    return Progress(status, total, total - waiting, ordered)


def status_chart(report: ReportRead) -> BarChart:
    """Every recipient by the status of their send."""
    present = [(s, n) for s, _, n in progress("", report.counts).counts]
    return BarChart(
        key="by-status",
        title="Recipients by status",
        description="What became of each message: sent, refused (and why, in the "
        "recipients below), held, kept out as the holdout, bounced or failed.",
        labels=[status_label(s) for s, _ in present],
        series=[Series("Recipients", [float(n) for _, n in present])],
        horizontal=True,
        unit=Unit(decimals=0, name="people"),
        width=WIDTH,
        height=HEIGHT,
    )


def funnel_chart(report: ReportRead, texts: bool = False) -> BarChart:
    """Of the people sent the email, how many opened it, clicked in it and reached the
    goal (a text message has no opens or clicks: sent, then the goal)."""
    steps = [
        ("Sent", report.sent),
        ("Opened", report.opened),
        ("Clicked", report.clicked),
        ("Converted", report.converted),
    ]
    description = (
        f"People sent the email, those who opened it (a click counts as an open), clicked "
        f"a link, and did {report.goal_event} within {report.goal_days} days of the send."
    )
    if texts:
        steps = [steps[0], steps[-1]]
        description = (
            f"People sent the text message, and those who did {report.goal_event} within "
            f"{report.goal_days} days of the send."
        )
    return BarChart(
        key="funnel",
        title="From sent to converted",
        description=description,
        labels=[label for label, _ in steps] if report.sent else [],
        series=[Series("People", [float(n) for _, n in steps])] if report.sent else [],
        horizontal=True,
        unit=Unit(decimals=0, name="people"),
        width=WIDTH,
        height=HEIGHT,
    )


def holdout_chart(report: ReportRead) -> BarChart:
    """The conversion rate of those sent the campaign beside the holdout's."""
    lift = report.conversion
    return BarChart(
        key="holdout",
        title="Conversion: sent the campaign against the holdout",
        description=f"The share of each group who did {report.goal_event} within "
        f"{report.goal_days} days.",
        labels=["Sent the campaign", "Holdout"] if lift else [],
        series=[Series("Conversion rate", [lift.treatment, lift.control])] if lift else [],
        unit=Unit.percent(1),
        width=WIDTH,
        height=HEIGHT,
    )


def charts(report: ReportRead, texts: bool = False) -> list[Chart]:
    """The report's charts (``texts``: of a text message campaign)."""
    return [status_chart(report), funnel_chart(report, texts), holdout_chart(report)]


# --- the holdout in words ---------------------------------------------------------------


def signed(value: float, decimals: int) -> str:
    """A difference with its sign: "+2.1", or a true minus sign (U+2212) before "0.4",
    and no sign on zero."""
    text = f"{abs(value):,.{decimals}f}"
    if float(text.replace(",", "")) == 0:
        return text
    return ("+" if value > 0 else MINUS) + text


def verdict(lift: Lift) -> str:
    """Whether the 95% interval can tell the difference from no effect."""
    if lift.low is None or lift.high is None:
        return "too few people to say"
    if lift.low > 0:
        return "higher than without the campaign"
    if lift.high < 0:
        return "lower than without the campaign"
    return "not distinguishable from no effect"


def difference(lift: Lift, *, rate: bool) -> str:
    """The difference and its interval: "+2.1 points (95% CI -0.4 to +4.6)" for a rate,
    "+3.20 per person (95% CI -1.00 to +7.40)" for revenue (with true minus signs)."""
    scale, decimals = (100.0, 1) if rate else (1.0, 2)
    unit = " points" if rate else " per person"
    text = f"{signed(lift.difference * scale, decimals)}{unit}"
    if lift.low is not None and lift.high is not None:
        low, high = signed(lift.low * scale, decimals), signed(lift.high * scale, decimals)
        text += f" (95% CI {low} to {high})"
    return text


def conversion_words(report: ReportRead) -> str:
    lift = report.conversion
    if not report.holdout:
        return "No holdout to compare with: the campaign was sent to everyone in it."
    if lift is None:
        return "The comparison with the holdout follows once messages are sent."
    return (
        f"{lift.treatment * 100:.1f}% of those sent the campaign did {report.goal_event} "
        f"within {report.goal_days} days, against {lift.control * 100:.1f}% of the holdout. "
        f"Difference: {difference(lift, rate=True)}: {verdict(lift)}."
    )


def revenue_words(report: ReportRead) -> str:
    lift = report.revenue_per_person
    if lift is None:
        return ""
    return (
        f"Revenue per person: {lift.treatment:,.2f} among those sent the campaign, against "
        f"{lift.control:,.2f} in the holdout. Difference: {difference(lift, rate=False)}: "
        f"{verdict(lift)}."
    )
