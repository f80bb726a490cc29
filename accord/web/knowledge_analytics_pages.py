"""Knowledge > Analytics: what the help center's readers did over 7, 30 or 90 days, from
the help center's report (``accord.helpcenter.analytics``). Headline figures (views,
unique readers, time reading, helpful votes, searches and those that found nothing, the
deflection rate), charts per day drawn on the server (views, searches, the share that
found nothing, contacts), the content gaps (failed searches grouped by query, each with
a link to write the missing article), the searches and articles that still led to a
contact, the least helpful and the most read articles (with what their voters wrote), and
the articles agents linked from their replies. Each chart downloads as CSV or SVG from
this page's own route (``?export=<chart>&format=csv|svg``)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from accord.govern.access.scopes import Scope
from accord.helpcenter import analytics
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError
from accord.kit.time import utcnow
from accord.web.auth import Console, ConsoleUser
from accord.web.charts import BarChart, Chart, LineChart, Series, Unit, chart_export
from accord.web.pages import page

router = APIRouter(prefix="/knowledge", include_in_schema=False)

PERIODS = (7, 30, 90)
DEFAULT_DAYS = 30
DASH = "\u2013"
# Two charts side by side in the console's content column, drawn at about that size.
SIZE: dict[str, Any] = {"width": 520, "height": 260}
# The key a count of an article's links from replies may have in the report.


def can_read(console: Console) -> bool:
    """Those who write the articles and those who read the reports."""
    p = console.principal
    return p.has(Scope.KNOWLEDGE_WRITE) or p.has(Scope.ANALYTICS_READ)


def _period(value: str | None) -> int:
    return int(value) if value and value.isdigit() and int(value) in PERIODS else DEFAULT_DAYS


def period_start(days: int) -> datetime:
    """The start of the period: midnight (UTC) of the first of its ``days`` whole days,
    today being the last."""
    first = utcnow().date() - timedelta(days=days - 1)
    return datetime.combine(first, time.min, tzinfo=UTC)


def _label(day: date, years: bool) -> str:
    return f"{day.day} {day:%b}" + (f" {day.year}" if years else "")


def daily(report: analytics.Report) -> list[dict[str, Any]]:
    """Every day of the period, those without a view or a search at zero."""
    known = {row["day"]: row for row in report.days}
    first, last = report.since.date(), report.until.date()
    out = []
    for n in range((last - first).days + 1):
        day = first + timedelta(days=n)
        row = known.get(day.isoformat(), {})
        out.append(
            {
                "day": day,
                "views": int(row.get("views", 0)),
                "searches": int(row.get("searches", 0)),
                "failed": int(row.get("failed", 0)),
                "contacts": int(row.get("contacts", 0)),
            }
        )
    return out


def charts_of(report: analytics.Report) -> list[Chart]:
    days = daily(report)
    years = len({d["day"].year for d in days}) > 1
    labels = [_label(d["day"], years) for d in days]

    def counts(name: str) -> list[float | None]:
        return [float(d[name]) for d in days]

    failed_share: list[float | None] = [
        d["failed"] / d["searches"] if d["searches"] else None for d in days
    ]
    return [
        LineChart(
            key="views",
            title="Article views per day",
            description="Articles opened in the help center each day (UTC).",
            labels=labels,
            series=[Series("Views", counts("views"))],
            unit=Unit(name="views"),
            **SIZE,
        ),
        LineChart(
            key="searches",
            title="Searches per day",
            description="Searches made in the help center each day, and those that found "
            "no article.",
            labels=labels,
            series=[
                Series("Searches", counts("searches"), "solid"),
                Series("Found nothing", counts("failed"), "dashed"),
            ],
            unit=Unit(name="searches"),
            **SIZE,
        ),
        LineChart(
            key="failed-share",
            title="Share of searches that found nothing",
            description="Of each day's searches, the share that found no article: "
            "questions the help center has no answer for.",
            labels=labels,
            series=[Series("Found nothing", failed_share)],
            unit=Unit.percent(),
            **SIZE,
        ),
        BarChart(
            key="contacts",
            title="Searches followed by a contact per day",
            description="Searches whose visit went on to write to the team, by the day of "
            "the search.",
            labels=labels,
            series=[Series("Followed by a contact", counts("contacts"))],
            over_time=True,
            unit=Unit(name="searches"),
            **SIZE,
        ),
    ]


def reading_time(seconds: float | None) -> str:
    if seconds is None:
        return DASH
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    minutes, rest = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes}m {rest}s" if rest else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes}m"


def _share(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else DASH


def headline(report: analytics.Report) -> list[dict[str, str]]:
    """The period's figures: id, label, value and what it is out of."""
    votes = report.helpful + report.unhelpful
    deflection = DASH if report.deflection_rate is None else f"{100 * report.deflection_rate:.0f}%"
    return [
        {"id": "views", "label": "Views", "value": f"{report.views:,}", "note": "articles read"},
        {
            "id": "readers",
            "label": "Unique readers",
            "value": f"{report.readers:,}",
            "note": "one per browser",
        },
        {
            "id": "reading-time",
            "label": "Average reading time",
            "value": reading_time(report.average_seconds),
            "note": "per article read",
        },
        {
            "id": "helpful",
            "label": "Helpful",
            "value": _share(report.helpful, votes),
            "note": f"of {votes:,} vote{'' if votes == 1 else 's'}",
        },
        {
            "id": "searches",
            "label": "Searches",
            "value": f"{report.searches:,}",
            "note": "made by readers",
        },
        {
            "id": "no-result",
            "label": "Searches with no result",
            "value": f"{report.searches_without_results:,}",
            "note": f"{_share(report.searches_without_results, report.searches)} of searches",
        },
        {
            "id": "deflection",
            "label": "Deflection rate",
            "value": deflection,
            "note": f"{report.visits - report.visits_contacted:,} of {report.visits:,} "
            f"visit{'' if report.visits == 1 else 's'}, no contact",
        },
    ]


def new_article_url(query: str) -> str:
    """The editor for a new article, the searched words as its title to start from."""
    return "/knowledge/new?" + urlencode({"title": query[:300]})


def linked_articles(report: analytics.Report) -> list[dict[str, Any]]:
    """The articles agents linked from their replies."""
    return [
        {"article_id": a["article_id"], "title": a["title"] or a["slug"], "count": a["links"]}
        for a in report.linked
    ]


@router.get("/analytics", response_model=None)
def knowledge_analytics(request: Request, session: DbSession, console: ConsoleUser) -> Response:
    if not can_read(console):
        raise AccordError("Your role does not read the help center's analytics", "forbidden", 403)
    days = _period(request.query_params.get("days"))
    report = analytics.report(session, console.principal.workspace_id, period_start(days))
    charts = charts_of(report)
    exported = chart_export(request, charts)
    if exported is not None:
        return exported
    least_helpful = report.least_helpful
    return page(
        request,
        session,
        console,
        "knowledge/analytics.html",
        "knowledge",
        days=days,
        periods=PERIODS,
        report=report,
        figures=headline(report),
        charts=charts,
        gaps=[{**g, "write_url": new_article_url(g["query"])} for g in report.content_gaps],
        least_helpful=least_helpful,
        linked=linked_articles(report),
        can_write=console.principal.has(Scope.KNOWLEDGE_WRITE),
    )
