"""Analytics > Service: the inbox's figures as trends by day or week, with filters (team,
agent, channel, priority, period) in a GET form that works without JavaScript, each
chart with its data table and downloads (``?export=<chart>&format=csv|svg``); the
per-agent and per-channel tables (the agent who did the work gets the credit); the
per-conversation CSV; and the service costs the dashboards count with."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse

from accord.govern.access import service as access
from accord.govern.access.scopes import Scope
from accord.inbox import metrics, metrics_costs, queries
from accord.inbox.metrics_trends import Filters, Point, Trends, trends
from accord.inbox.rules import CHANNELS, PRIORITIES
from accord.inbox.service import can_take
from accord.kit.deps import DbSession, FormBody
from accord.kit.errors import AccordError
from accord.kit.streams import closing_stream
from accord.kit.time import utcnow
from accord.web.auth import Console, ConsoleAdmin, ConsoleUser
from accord.web.charts import BarChart, Chart, LineChart, Series, Unit, chart_export
from accord.web.pages import page

router = APIRouter(include_in_schema=False)

PERIODS = (7, 30, 90, 180, 365)
# Two charts side by side in the console's content column: drawn at about the size they
# are shown, so their text reads at its own size.
SIZE: dict[str, Any] = {"width": 520, "height": 260}


def plain(value: Decimal | float) -> str:
    """A number as typed: ``30``, ``1.5`` (never ``3E+1``)."""
    return format(Decimal(str(value)).normalize(), "f")


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _label(day: date, years: bool) -> str:
    return f"{day.day} {day:%b}" + (f" {day.year}" if years else "")


def service_charts(result: Trends) -> list[Chart]:
    """The dashboard's charts, from the figures per period."""
    points = result.points
    years = len({p.period.year for p in points}) > 1
    labels = [_label(p.period, years) for p in points]
    per = "day" if result.bucket == "day" else "week"
    by_week = "" if result.bucket == "day" else " (weeks from Monday)"

    def values(name: str) -> list[float | None]:
        return [getattr(p, name) for p in points]

    def line(key: str, title: str, series: list[Series], unit: Unit, desc: str) -> LineChart:
        return LineChart(
            key=key, title=title, labels=labels, series=series, unit=unit, description=desc, **SIZE
        )

    channels = sorted({c for p in points for c in p.channels} | set(result.totals.channels))
    money = Unit.money(result.currency)
    firsts = values("first_response_p50_seconds") + values("first_response_avg_seconds")
    resolutions = values("resolution_p50_seconds") + values("resolution_avg_seconds")
    charts: list[Chart] = [
        BarChart(
            key="channel-mix",
            title="Conversations by channel",
            labels=labels,
            series=[Series(c, [float(p.channels.get(c, 0)) for p in points]) for c in channels],
            stacked=True,
            over_time=True,
            unit=Unit(),
            description=f"Conversations opened per {per}{by_week}, stacked by channel.",
            **SIZE,
        ),
        line(
            "first-response",
            "First response time",
            [
                Series("Median", values("first_response_p50_seconds")),
                Series("Average", values("first_response_avg_seconds")),
            ],
            Unit.duration(firsts),
            f"Time from a conversation's start to an agent's first answer, per {per} it was "
            "sent, in elapsed time.",
        ),
        line(
            "resolution",
            "Resolution time",
            [
                Series("Median", values("resolution_p50_seconds")),
                Series("Average", values("resolution_avg_seconds")),
            ],
            Unit.duration(resolutions),
            f"Time from a conversation's start to its resolution, per {per} it was resolved.",
        ),
        line(
            "fcr-reopen",
            "First-contact resolution and reopen rate",
            [
                Series("First-contact resolution", values("first_contact_resolution_rate")),
                Series("Reopen rate", values("reopen_rate")),
            ],
            Unit.percent(),
            "Share of resolved conversations settled with one reply and never reopened, "
            "and share of resolutions reopened later.",
        ),
        line(
            "csat",
            "Customer satisfaction (1 to 5)",
            [
                Series("Average score", values("csat_average")),
            ],
            Unit(decimals=2, name="score 1 to 5"),
            f"Average survey score, from 1 (very dissatisfied) to 5 (very satisfied), per {per} "
            "it was answered.",
        ),
        line(
            "abandonment",
            "Chat abandonment",
            [Series("Abandoned chats", values("chat_abandonment_rate"))],
            Unit.percent(),
            f"Share of live chats nobody answered within {result.chat_abandon_minutes} "
            "minutes (the visitor had left).",
        ),
        BarChart(
            key="cost-by-channel",
            title="Cost by channel",
            labels=labels,
            series=[
                Series(c, [p.cost_by_channel.get(c, 0.0) for p in points])
                for c in sorted({c for p in points for c in p.cost_by_channel})
            ],
            stacked=True,
            over_time=True,
            unit=money,
            description=f"What the conversations opened each {per} cost: each channel's "
            "fixed cost and the agents' time on their replies.",
            **SIZE,
        ),
        line(
            "cost-per-conversation",
            "Cost per conversation",
            [Series("Cost per conversation", values("cost_per_conversation"))],
            money,
            f"Average cost of the conversations opened each {per}.",
        ),
    ]
    return charts


def headline(result: Trends) -> list[tuple[str, str, str]]:
    """The whole period's figures: (id, label, value)."""
    t: Point = result.totals
    firsts = Unit.duration([t.first_response_p50_seconds])
    resolutions = Unit.duration([t.resolution_p50_seconds])
    percent = Unit.percent()
    csat = "\u2013" if t.csat_average is None else f"{t.csat_average:.2f} / 5"
    out = [
        ("conversations", "Conversations", f"{t.conversations:,}"),
        ("first-response", "First response (median)", firsts.format(t.first_response_p50_seconds)),
        ("resolution", "Resolution (median)", resolutions.format(t.resolution_p50_seconds)),
        ("fcr", "First-contact resolution", percent.format(t.first_contact_resolution_rate)),
        ("reopen", "Reopen rate", percent.format(t.reopen_rate)),
        ("csat", "CSAT", f"{csat} ({t.csat_responses:,})"),
        ("abandonment", "Chat abandonment", percent.format(t.chat_abandonment_rate)),
        (
            "cost",
            "Cost per conversation",
            Unit.money(result.currency).format(t.cost_per_conversation),
        ),
    ]
    return out


def _choices(session: DbSession, workspace_id: uuid.UUID) -> dict[str, Any]:
    teams = queries.teams(session, workspace_id)
    members = [m for m in access.list_members(session, workspace_id) if can_take(m.role)]
    agents = sorted(
        ((m.user_id, m.user.name or m.user.email) for m in members), key=lambda a: a[1].lower()
    )
    return {
        "teams": [(t.id, t.name) for t in teams],
        "agents": agents,
        "channels": CHANNELS,
        "priorities": PRIORITIES,
        "periods": PERIODS,
    }


@router.get("/analytics")
def analytics(request: Request, session: DbSession, console: ConsoleUser) -> Response:
    """Service dashboards: figures over time with their tables, filtered by the form."""
    q = request.query_params
    workspace_id = console.principal.workspace_id
    days = int(q["days"]) if q.get("days", "").isdigit() else 30
    days = min(max(days, 1), 365)
    team, agent = q.get("team") or "", q.get("agent") or ""
    channel = q.get("channel") or ""
    priority = q.get("priority") or ""
    bucket = q.get("bucket") or ""
    chosen = {
        "days": days,
        "team": team,
        "agent": agent,
        "channel": channel if channel in CHANNELS else "",
        "priority": priority if priority in PRIORITIES else "",
        "bucket": bucket if bucket in ("day", "week") else "",
    }
    context: dict[str, Any] = {"chosen": chosen, **_choices(session, workspace_id)}
    if not console.principal.has(Scope.ANALYTICS_READ):
        return page(request, session, console, "analytics.html", "analytics", **context)
    filters = Filters.of(
        days=days,
        bucket=bucket if bucket in ("day", "week") else None,
        team_id=_uuid(team),
        agent_id=_uuid(agent),
        channel=channel if channel in CHANNELS else None,
        priority=priority if priority in PRIORITIES else None,
    )
    result = trends(session, workspace_id, filters)
    charts = service_charts(result)
    exported = chart_export(request, charts)
    if exported is not None:
        return exported
    narrow: dict[str, Any] = {
        "team_id": filters.team_id,
        "agent_id": filters.agent_id,
        "channel": filters.channel,
        "priority": filters.priority,
    }
    by_agent = metrics.report(session, workspace_id, "agent", filters.since, None, **narrow)
    by_channel = metrics.report(session, workspace_id, "channel", filters.since, None, **narrow)
    costs, _ = metrics_costs.with_version(session, workspace_id)
    return page(
        request,
        session,
        console,
        "analytics.html",
        "analytics",
        result=result,
        charts=charts,
        figures=headline(result),
        by_agent=by_agent.groups,
        by_channel=by_channel.groups,
        costs=costs,
        **context,
    )


@router.get("/analytics/conversations.csv")
def analytics_csv(request: Request, console: ConsoleUser, days: int = 30) -> StreamingResponse:
    """One row per conversation of the period, for a spreadsheet."""
    console.principal.require(Scope.ANALYTICS_READ)
    since = utcnow() - timedelta(days=min(max(days, 1), 365))
    rows = metrics.export_csv(
        request.app.state.session_factory, console.principal.workspace_id, since, None
    )
    return StreamingResponse(
        closing_stream(rows),
        media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="conversations.csv"'},
    )


def _costs_page(
    request: Request,
    session: DbSession,
    console: Console,
    *,
    error: AccordError | None = None,
    saved: bool = False,
    given: dict[str, Any] | None = None,
) -> HTMLResponse:
    console.principal.require(Scope.ANALYTICS_READ)
    costs, version = metrics_costs.with_version(session, console.principal.workspace_id)
    return page(
        request,
        session,
        console,
        "analytics_costs.html",
        "analytics",
        status_code=error.status if error else 200,
        costs=costs,
        version=version,
        channels=CHANNELS,
        plain=plain,
        error=error,
        saved=saved,
        given=given,
    )


@router.get("/analytics/costs")
def costs_page(
    request: Request, session: DbSession, console: ConsoleUser, saved: str | None = None
) -> HTMLResponse:
    """The service costs: read by whoever reads analytics, changed by admins."""
    return _costs_page(request, session, console, saved=saved == "1")


@router.post("/analytics/costs")
def save_costs(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:

    def text(name: str) -> str:
        return str(form.get(name) or "").strip()

    raw: dict[str, Any] = {
        "currency": text("currency").upper() or "USD",
        "agent_hourly": text("agent_hourly") or "0",
        "per_conversation": {c: text(f"fixed_{c}") for c in CHANNELS if text(f"fixed_{c}")},
        "reply_minutes": {c: text(f"minutes_{c}") for c in CHANNELS if text(f"minutes_{c}")},
    }
    version = text("version")
    try:
        with session.begin_nested():
            metrics_costs.save(
                session,
                console.principal.workspace_id,
                raw,
                actor=console.principal,
                expected_version=int(version) if version.isdigit() else None,
            )
    except AccordError as error:
        return _costs_page(request, session, console, error=error, given=dict(form))
    return RedirectResponse("/analytics/costs?saved=1", status_code=303)
