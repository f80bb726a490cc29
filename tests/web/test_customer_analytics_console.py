"""Customer analytics in the console without a browser, on both databases: the dashboards
need a session and the analytics scope (an agent gets the forbidden page), show an empty
state before any run and every chart once a run is done (each with its CSV and SVG
downloads from the page's own route), say when a model had too little history; the
recompute form needs the session's CSRF token and the right to change segments, starts a
run as the REST API does, and its progress is a fragment HTMX polls; another workspace's
run is a 404; the Customer 360 shows the person's Value & risk card."""

from __future__ import annotations

import math
import re
import uuid
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.scoring import queries, service
from accord.analyze.scoring.models import CustomerScore, ScoringRun
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.scoring_facts import ServiceHistory
from tests.analyze.shop import Shop, seed_shop
from tests.helpers import add_user, console_login

HTML = {"accept": "text/html"}
HTMX = {"accept": "text/html", "hx-request": "true"}
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
INPUTS = service.Inputs(
    service=ServiceHistory(), costs_of=lambda s, w: {"email": 4.0, "chat": 2.5, "phone": 6.0}
)
ANALYST = "ana.lyst@acme.test"
AGENT = "jo.agent@acme.test"
PAGES = {
    "value": "/analytics/customers",
    "churn": "/analytics/customers/churn",
    "personas": "/analytics/customers/personas",
    "pareto": "/analytics/customers/pareto",
    "cohorts": "/analytics/customers/cohorts",
}
CHARTS = {
    "value": ["rfm-groups", "rfm-grid", "lifetime-holdout", "clv"],
    "churn": ["churn-auc", "churn-calibration"],
    "personas": ["personas"],
    "pareto": ["pareto", "value-cost"],
    "cohorts": ["cohort-retention", "cohort-sizes"],
}


def score_now(session: Session, workspace_id: uuid.UUID) -> ScoringRun:
    run, new = service.request(session, workspace_id, "test")
    assert new
    service.start(session, run)
    service.store(session, run, service.analyse(session, workspace_id, INPUTS, now=NOW))
    session.commit()
    return run


@pytest.fixture
def shop(session: Session, workspace: ProvisionedWorkspace) -> Shop:
    shop = seed_shop(session, workspace.workspace.id, NOW, customers=160, browsers=20)
    session.commit()
    return shop


def test_pages_need_a_session(client: TestClient) -> None:
    for path in PAGES.values():
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == "/login?next=" + path
    r = client.post("/analytics/customers/runs", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"].startswith("/login")


def test_before_any_run_every_dashboard_says_so(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, shop: Shop
) -> None:
    add_user(session, workspace, ANALYST, "analyst")
    console_login(client, ANALYST)
    for path in PAGES.values():
        r = client.get(path, headers=HTML)
        assert r.status_code == 200, path
        assert 'id="nav-customer-analytics"' in r.text
        assert 'id="nav-customer-analytics" class="active"' in r.text  # the sub-navigation
        assert 'id="no-run"' in r.text
        assert "No scores have been computed yet" in r.text
        assert 'id="recompute"' in r.text
        assert "<svg" not in r.text
    # Nothing to download yet.
    r = client.get(PAGES["value"], params={"export": "rfm-groups", "format": "csv"})
    assert r.status_code == 404
    # The 360 says the person is not scored yet.
    c360 = client.get(f"/customers/{shop.people[0]}", headers=HTML).text
    assert 'id="value-risk"' in c360
    assert "Not scored yet" in c360


def test_the_dashboards_and_the_360_after_a_run(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    seed_shop(session, workspace.workspace.id, NOW, customers=400)
    session.commit()
    run = score_now(session, workspace.workspace.id)
    add_user(session, workspace, ANALYST, "analyst")
    console_login(client, ANALYST)

    pages = {}
    for key, path in PAGES.items():
        r = client.get(path, headers=HTML)
        assert r.status_code == 200, (path, r.text[:2000])
        assert 'id="no-run"' not in r.text
        assert "Scores as of <strong>2026-06-01 12:00 UTC</strong>" in r.text
        assert f'id="tab-{key}" href="{path}" aria-current="page"' in r.text
        for chart in CHARTS[key]:
            # The figure, its summary, its table and its two downloads.
            assert f'<figure class="chart" id="{chart}' in r.text
            csv = client.get(path, params={"export": chart, "format": "csv"})
            assert csv.status_code == 200, (path, chart)
            assert csv.headers["content-type"].startswith("text/csv")
            assert f'filename="{chart}.csv"' in csv.headers["content-disposition"]
            assert len(csv.text.splitlines()) >= 2
            svg = client.get(path, params={"export": chart, "format": "svg"})
            assert svg.status_code == 200
            assert svg.headers["content-type"] == "image/svg+xml"
            assert svg.text.startswith("<?xml")
            assert "</svg>" in svg.text
            assert f"export={chart}&amp;format=csv" in r.text
        assert r.text.count('<details class="chart-data"') == len(CHARTS[key])
        pages[key] = r.text
    assert client.get(PAGES["value"], params={"export": "nope"}).status_code == 404
    assert client.get(PAGES["value"], params={"export": "clv", "format": "png"}).status_code == 422

    value = pages["value"]
    assert "Champions" in value  # a group, with its description in the table
    assert 'id="rfm-group-table"' in value
    assert "repeat purchases over the next 13 weeks" in value
    assert 'id="model-parameters"' in value
    assert "Gamma-Gamma" in value
    churn = pages["churn"]
    assert "<title>Churn risk · Customer analytics · Accord</title>" in churn
    auc = run.metrics["churn"]["auc"]
    assert f"ranks a churner above a stayer {auc * 100:.0f}% of the time; recency alone" in churn
    at_risk = re.findall(r'<td><a href="/customers/([0-9a-f-]+)">', churn)
    assert len(at_risk) == 20
    rows = session.scalars(
        select(CustomerScore).where(
            CustomerScore.workspace_id == workspace.workspace.id,
            CustomerScore.churn_risk >= 0.5,
        )
    ).all()
    # Likely to leave but probably still customers, by the revenue at stake.
    eligible = [r for r in rows if r.p_alive is None or r.p_alive >= 0.1]
    first = max(eligible, key=lambda r: (r.churn_risk or 0) * float(r.monetary))
    assert str(first.profile_id) == at_risk[0]
    assert "Raised most by" in churn
    personas = pages["personas"]
    for p in run.metrics["personas"]:
        assert f'id="persona-{p["key"]}"' in personas
        assert p["name"] in personas
    pareto = pages["pareto"]
    assert "The top 20% of the" in pareto
    assert 'id="quadrants"' in pareto
    quadrants = pareto.split('id="quadrants"', 1)[1].split("</table>", 1)[0]
    found = re.findall(
        r'<tr><td><strong>[^<]+</strong></td><td class="num">([\d,]+)</td>', quadrants
    )
    counts = [int(n.replace(",", "")) for n in found]
    assert len(counts) == 4
    assert sum(counts) == run.customers
    assert "Valuable and cheap" in pareto
    # The sample plotted: at most 500 customers, each a row of the chart's data.
    scatter = client.get(PAGES["pareto"], params={"export": "value-cost", "format": "csv"})
    assert 1 < len(scatter.text.splitlines()) <= 501
    cohorts = pages["cohorts"]
    assert run.metrics["cohorts"]["cohorts"][-1] in cohorts

    # The queries behind the histogram and the matrix, when there are more customers
    # than they show: every k-th value in order, the most valuable and costliest ones.
    ws = workspace.workspace.id
    every, step = queries.lifetime_values(session, ws)
    values, step = queries.lifetime_values(session, ws, most=100)
    assert step == math.ceil(len(every) / 100)
    assert len(values) == math.ceil(len(every) / step)
    assert min(values) == min(every)
    matrix = queries.value_and_cost(session, ws, sample=50)
    assert len(matrix["points"]) == 50
    plotted = {p["profile_id"] for p in matrix["points"]}
    for column in (CustomerScore.monetary, CustomerScore.service_cost):
        top = session.scalars(
            select(CustomerScore.profile_id)
            .where(CustomerScore.workspace_id == ws, CustomerScore.frequency > 0)
            .order_by(column.desc(), CustomerScore.profile_id)
        ).first()
        assert top in plotted

    # The riskiest customer's 360: the Value & risk card.
    riskiest = first
    c360 = client.get(f"/customers/{riskiest.profile_id}", headers=HTML).text
    card = c360.split('id="value-risk"', 1)[1].split("</section>", 1)[0]
    s = riskiest
    assert "RFM group" in card
    assert f"R{s.r_score} F{s.f_score} M{s.m_score}" in card
    assert f"{s.churn_risk * 100:.0f}%" in card
    assert "Raised most by " in card
    assert s.churn_factors[0]["label"] in card
    assert s.persona_name
    assert s.persona_name in card
    assert "Relationship value" in card
    assert "cost to serve" in card


def test_a_model_without_enough_history_says_why(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    seed_shop(session, workspace.workspace.id, NOW, customers=30, browsers=5)
    session.commit()
    run = score_now(session, workspace.workspace.id)
    assert "skipped" in run.metrics["lifetime"]
    add_user(session, workspace, ANALYST, "analyst")
    console_login(client, ANALYST)
    value = client.get(PAGES["value"], headers=HTML).text
    assert 'id="lifetime-skipped"' in value
    assert "Not enough history yet" in value
    assert run.metrics["lifetime"]["skipped"] in value
    assert 'id="rfm-groups"' in value  # RFM needs no model
    churn = client.get(PAGES["churn"], headers=HTML).text
    assert 'id="churn-skipped"' in churn
    assert run.metrics["churn"]["skipped"] in churn
    personas = client.get(PAGES["personas"], headers=HTML).text
    assert 'id="personas-skipped"' in personas


def test_an_agent_gets_the_forbidden_page(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, shop: Shop
) -> None:
    add_user(session, workspace, AGENT, "agent")
    csrf = console_login(client, AGENT)
    home = client.get("/customers", headers=HTML).text
    assert 'id="nav-customer-analytics"' not in home
    for path in PAGES.values():
        r = client.get(path, headers=HTML)
        assert r.status_code == 403
        assert "text/html" in r.headers["content-type"]
    r = client.post("/analytics/customers/runs", data={"csrf_token": csrf}, headers=HTML)
    assert r.status_code == 403
    # Nor does the 360 show what the role may not read.
    c360 = client.get(f"/customers/{shop.people[0]}", headers=HTML).text
    assert 'id="value-risk"' not in c360


def test_recompute_from_the_console(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, shop: Shop
) -> None:
    ws = workspace.workspace.id
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)

    # The session's token, or nothing.
    refused = client.post("/analytics/customers/runs", data={"tab": "churn"}, headers=HTML)
    assert refused.status_code == 403
    assert session.scalars(select(ScoringRun).where(ScoringRun.workspace_id == ws)).all() == []
    started = client.post(
        "/analytics/customers/runs",
        data={"csrf_token": csrf, "tab": "churn"},
        follow_redirects=False,
    )
    assert started.status_code == 303
    assert started.headers["location"] == "/analytics/customers/churn?started=new"
    run = session.scalars(select(ScoringRun).where(ScoringRun.workspace_id == ws)).one()
    assert run.status == "queued"
    assert run.requested_by

    # The page shows it under way, polled; a second click finds the same run.
    page = client.get(started.headers["location"], headers=HTML).text
    assert 'id="scoring-run"' in page
    assert f'hx-get="/analytics/customers/runs/{run.id}?tab=churn"' in page
    assert 'hx-trigger="every 1s"' in page
    assert 'href="/analytics/customers/churn" class="small" id="run-refresh"' in page
    assert re.search(r'id="recompute" disabled', page)
    again = client.post(
        "/analytics/customers/runs", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert again.headers["location"] == "/analytics/customers?started=running"
    assert session.scalars(select(ScoringRun).where(ScoringRun.workspace_id == ws)).one()

    # The fragment follows the run; once it is over, the page is told to reload.
    fragment = client.get(f"/analytics/customers/runs/{run.id}", headers=HTMX)
    assert fragment.status_code == 200
    assert "HX-Refresh" not in fragment.headers
    assert 'id="scoring-run"' in fragment.text
    assert "<html" not in fragment.text
    plain = client.get(f"/analytics/customers/runs/{run.id}?tab=cohorts", follow_redirects=False)
    assert plain.headers["location"] == "/analytics/customers/cohorts"
    session.expire_all()
    run = session.get(ScoringRun, run.id)
    assert run is not None
    service.start(session, run)
    service.set_progress(session, run.id, "Fitting lifetime value, churn and personas", 0.55)
    session.commit()
    fragment = client.get(f"/analytics/customers/runs/{run.id}", headers=HTMX)
    assert "Fitting lifetime value" in fragment.text
    assert 'value="55"' in fragment.text
    service.store(session, run, service.analyse(session, ws, INPUTS, now=NOW))
    session.commit()
    fragment = client.get(f"/analytics/customers/runs/{run.id}", headers=HTMX)
    assert fragment.headers["HX-Refresh"] == "true"
    done = client.get("/analytics/customers?started=new", headers=HTML).text
    assert 'id="run-done"' in done
    assert 'id="scoring-run"' not in done


def test_another_workspace_is_apart(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    shop: Shop,
) -> None:
    theirs = score_now(session, workspace.workspace.id)
    add_user(session, other_workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)  # signed in to the other workspace
    page = client.get(PAGES["value"], headers=HTML).text
    assert 'id="no-run"' in page
    assert client.get(f"/analytics/customers/runs/{theirs.id}", headers=HTMX).status_code == 404
    churn = client.get(PAGES["churn"], headers=HTML).text
    assert "/customers/" + str(shop.people[0]) not in churn
    # Their recompute is their own.
    client.post("/analytics/customers/runs", data={"csrf_token": csrf})
    mine = session.scalars(
        select(ScoringRun).where(ScoringRun.workspace_id == other_workspace.workspace.id)
    ).all()
    assert len(mine) == 1
    assert session.get(ScoringRun, theirs.id).status == "done"  # type: ignore[union-attr]
