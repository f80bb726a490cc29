"""Analytics > Customers: the dashboards of customer analytics (``analyze/scoring``), read
from the workspace's last recompute. Customer value (RFM groups and grid, lifetime value
checked on held-out weeks), churn risk (ranking beside recency alone, calibration, the
customers most at risk), personas, Pareto and cost to serve (the valuable-against-costly
matrix), cohorts; a recompute started from any of them, its progress followed by a small
fragment polled with HTMX. Every chart has its table, its summary and its downloads,
served by the page's own route (``chart_export``). Also the 360's Value & risk card."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.analyze.scoring import queries, service
from accord.analyze.scoring.models import ScoringRun
from accord.govern.access.scopes import Scope
from accord.kit.deps import DbSession
from accord.kit.errors import not_found
from accord.kit.signals import after_commit
from accord.web.auth import Console, ConsoleUser
from accord.web.charts import Chart, chart_export
from accord.web.customer_analytics_charts import (
    ADVICE,
    auc_chart,
    calibration_bins,
    calibration_chart,
    clv_chart,
    cohort_charts,
    factor_words,
    grid_chart,
    group_chart,
    holdout_chart,
    holdout_words,
    money,
    parameter_rows,
    pareto_chart,
    pareto_words,
    percent,
    persona_chart,
    value_cost_chart,
)
from accord.web.pages import page

router = APIRouter(prefix="/analytics/customers", include_in_schema=False)

AREA = "customer-analytics"
BASE = "/analytics/customers"
# The dashboards: key, path under BASE, tab title.
TABS = (
    ("value", "", "Customer value"),
    ("churn", "/churn", "Churn risk"),
    ("personas", "/personas", "Personas"),
    ("pareto", "/pareto", "Pareto & cost to serve"),
    ("cohorts", "/cohorts", "Cohorts"),
)
PATHS = {key: BASE + path for key, path, _ in TABS}
AT_RISK = 20


def metrics_of(run: ScoringRun | None) -> dict[str, Any]:
    """The run's metrics (``{}`` without a run)."""
    return (run.metrics or {}) if run is not None else {}


# --- the frame of every dashboard -----------------------------------------------------------


@dataclass
class Status:
    latest: ScoringRun | None
    running: ScoringRun | None
    failed: ScoringRun | None  # the newest run, when it failed
    can_recompute: bool


def status_of(session: Session, console: Console) -> Status:
    workspace_id = console.principal.workspace_id
    newest = queries.runs(session, workspace_id, 1)
    return Status(
        latest=queries.latest(session, workspace_id),
        running=queries.running(session, workspace_id),
        failed=newest[0] if newest and newest[0].status == "failed" else None,
        can_recompute=console.principal.has(Scope.SEGMENTS_WRITE),
    )


def _dashboard(
    request: Request,
    session: Session,
    console: Console,
    tab: str,
    status: Status,
    charts: list[Chart],
    **context: Any,
) -> Response:
    exported = chart_export(request, charts)
    if exported is not None:
        return exported
    return page(
        request,
        session,
        console,
        f"customer_analytics/{tab}.html",
        AREA,
        tab=tab,
        tabs=[(key, PATHS[key], title) for key, _, title in TABS],
        here=PATHS[tab],
        status=status,
        run=status.latest,
        metrics=metrics_of(status.latest),
        charts={c.key: c for c in charts},
        started=request.query_params.get("started"),
        percent=percent,
        money=money,
        **context,
    )


def _reader(console: Console) -> None:
    console.principal.require(Scope.ANALYTICS_READ)


# --- Customer value ---------------------------------------------------------------------------


@router.get("")
def customer_value(request: Request, session: DbSession, console: ConsoleUser) -> Response:
    _reader(console)
    workspace_id = console.principal.workspace_id
    status = status_of(session, console)
    metrics = metrics_of(status.latest)
    charts: list[Chart] = []
    groups: list[dict[str, Any]] = []
    life: dict[str, Any] = {}
    options = metrics.get("options") or {}
    context: dict[str, Any] = {}
    if status.latest is not None:
        groups = queries.groups(session, workspace_id)
        charts.append(group_chart(groups))
        charts.append(grid_chart((metrics.get("rfm") or {}).get("grid") or [[0] * 5] * 5))
        life = metrics.get("lifetime") or {"skipped": "not computed"}
        if "skipped" not in life:
            charts.append(holdout_chart(life))
            context["holdout_words"] = holdout_words(life, int(options.get("churn_days", 90)))
        values, step = queries.lifetime_values(session, workspace_id)
        if values:
            charts.append(clv_chart(values, step, int(options.get("horizon_days", 365))))
            context["total_clv"] = sum(values) * step
    total_people = sum(g["people"] for g in groups) or 1
    total_revenue = sum(max(g["revenue"], 0.0) for g in groups) or 1.0
    return _dashboard(
        request,
        session,
        console,
        "value",
        status,
        charts,
        groups=groups,
        total_people=total_people,
        total_revenue=total_revenue,
        life=life,
        options=options,
        parameters=parameter_rows(status.latest.models if status.latest else {}),
        **context,
    )


# --- Churn risk --------------------------------------------------------------------------------


@router.get("/churn")
def churn_risk(request: Request, session: DbSession, console: ConsoleUser) -> Response:
    _reader(console)
    status = status_of(session, console)
    churn = metrics_of(status.latest).get("churn") or {}
    charts: list[Chart] = []
    bins: list[dict[str, Any]] = []
    at_risk: list[dict[str, Any]] = []
    if status.latest is not None and churn and "skipped" not in churn:
        charts.append(auc_chart(churn))
        bins = calibration_bins(churn)
        if bins:
            charts.append(calibration_chart(bins))
        at_risk = [
            {**row, "why": factor_words(row["score"].churn_factors)}
            for row in queries.at_risk(session, console.principal.workspace_id, AT_RISK)
        ]
    return _dashboard(
        request,
        session,
        console,
        "churn",
        status,
        charts,
        churn=churn,
        bins=bins,
        at_risk=at_risk,
        group_label=queries.group_label,
    )


# --- Personas ----------------------------------------------------------------------------------


@router.get("/personas")
def personas(request: Request, session: DbSession, console: ConsoleUser) -> Response:
    _reader(console)
    status = status_of(session, console)
    found: list[dict[str, Any]] = list(metrics_of(status.latest).get("personas") or [])
    charts: list[Chart] = [persona_chart(found)] if found else []
    revenue = sum(p["revenue"] for p in found) or 1.0
    people = sum(p["people"] for p in found) or 1
    cards = [
        {**p, "revenue_share": p["revenue"] / revenue, "people_share": p["people"] / people}
        for p in found
    ]
    return _dashboard(request, session, console, "personas", status, charts, cards=cards)


# --- Pareto and cost to serve ------------------------------------------------------------------


@router.get("/pareto")
def pareto(request: Request, session: DbSession, console: ConsoleUser) -> Response:
    _reader(console)
    status = status_of(session, console)
    shares = metrics_of(status.latest).get("pareto") or {}
    charts: list[Chart] = []
    matrix: dict[str, Any] = {}
    if status.latest is not None:
        if (shares.get("revenue") or {}).get("curve"):
            charts.append(pareto_chart(shares))
        matrix = queries.value_and_cost(session, console.principal.workspace_id)
        if matrix["points"]:
            charts.append(value_cost_chart(matrix))
    return _dashboard(
        request,
        session,
        console,
        "pareto",
        status,
        charts,
        shares=shares,
        words=pareto_words(shares),
        matrix=matrix,
        advice=ADVICE,
    )


# --- Cohorts -------------------------------------------------------------------------------------


@router.get("/cohorts")
def cohorts(request: Request, session: DbSession, console: ConsoleUser) -> Response:
    _reader(console)
    status = status_of(session, console)
    found = metrics_of(status.latest).get("cohorts") or {}
    charts = cohort_charts(found) if found.get("cohorts") else []
    return _dashboard(request, session, console, "cohorts", status, charts, cohorts=found)


# --- recomputing -------------------------------------------------------------------------------


@router.post("/runs")
def recompute(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    tab: Annotated[str, Form(max_length=20)] = "value",
) -> Response:
    """Start a recompute as the REST API does (the one under way, if any), run by the
    job engine once this request commits."""
    _reader(console)
    console.principal.require(Scope.SEGMENTS_WRITE)
    run, new = service.request(session, console.principal.workspace_id, console.principal.label)
    jobs = getattr(request.app.state, "jobs", None)
    if new and jobs is not None:
        workspace_id, run_id = run.workspace_id, run.id
        after_commit(session, lambda: jobs.enqueue("scoring.recompute", workspace_id, run_id))
    back = PATHS.get(tab, BASE)
    return RedirectResponse(f"{back}?started={'new' if new else 'running'}", status_code=303)


@router.get("/runs/{run_id}")
def run_progress(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    run_id: uuid.UUID,
    tab: str = "value",
) -> Response:
    """The progress of a recompute as a fragment the page polls; once it is over, the
    page is told to reload (``HX-Refresh``). Outside HTMX, the dashboard itself."""
    _reader(console)
    run = queries.run(session, console.principal.workspace_id, run_id)
    if run is None:
        raise not_found("Recompute")
    tab = tab if tab in PATHS else "value"
    here = PATHS[tab]
    if not request.headers.get("hx-request"):
        return RedirectResponse(here, status_code=303)
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "customer_analytics/_progress.html",
        {"running": run, "here": here, "tab": tab},
    )
    if run.status not in ("queued", "running"):
        response.headers["HX-Refresh"] = "true"
    return response


# --- the Customer 360 ---------------------------------------------------------------------------


def person_scores(
    session: Session, console: Console, profile_id: uuid.UUID
) -> dict[str, Any] | None:
    """The 360's Value & risk card: the person's row of the last recompute (``score``
    None when they have none) with its words. None for a role that reads no analytics."""
    if not console.principal.has(Scope.ANALYTICS_READ):
        return None
    row = queries.score(session, console.principal.workspace_id, profile_id)
    if row is None:
        return {"score": None}
    return {
        "score": row,
        "group": queries.group_label(row.rfm_group),
        "why": factor_words(row.churn_factors) if row.churn_risk is not None else "",
        "percent": percent,
        "money": money,
    }
