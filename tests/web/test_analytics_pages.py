"""Analytics > Service in the console (both databases): the dashboards with their charts,
figures and filters, each chart's CSV and SVG from the page's own route, the
per-conversation CSV, who sees what, and the service costs form."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox import metrics_costs
from tests.helpers import add_user, console_login
from tests.inbox.test_metrics_trends import story

CHARTS = (
    "channel-mix",
    "first-response",
    "resolution",
    "fcr-reopen",
    "csat",
    "abandonment",
    "cost-by-channel",
    "cost-per-conversation",
)


def test_dashboards_show_every_trend_with_filters_and_downloads(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    s = story(session, workspace)
    add_user(session, workspace, "ada@example.com", "admin")
    session.commit()
    console_login(client, "ada@example.com")
    page = client.get("/analytics")
    assert page.status_code == 200, page.text
    html = page.text
    for key in CHARTS:
        assert f'<figure class="chart" id="{key}"' in html, key
        assert f'aria-labelledby="{key}-title {key}-desc"' in html
        assert f"export={key}&amp;format=csv" in html
    assert 'id="service-figures"' in html
    assert "<details" in html
    assert "<summary>Data" in html
    assert 'id="costs-unset"' in html  # costs not set yet
    assert "Ana" in html or "ana@acme-support.com" in html  # the agent filter's choices

    # Filters narrow the page; the download links keep them.
    mine = client.get(
        "/analytics", params={"agent": str(s.ben.user_id), "channel": "email", "days": 90}
    )
    assert mine.status_code == 200
    assert f'<option value="{s.ben.user_id}" selected>' in mine.text
    assert f"agent={s.ben.user_id}" in mine.text
    assert "Figures credit the selected agent" in mine.text
    assert "(weeks start on Monday)" in mine.text

    got = client.get("/analytics", params={"export": "channel-mix", "format": "csv"})
    assert got.status_code == 200
    assert got.headers["content-disposition"] == 'attachment; filename="channel-mix.csv"'
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0][0] == "Period"
    assert {"chat", "email"} <= set(rows[0])
    assert sum(int(r[-1] or 0) for r in rows[1:]) == 7  # the Total column
    image = client.get("/analytics", params={"export": "first-response", "format": "svg"})
    assert image.headers["content-type"].startswith("image/svg+xml")
    assert image.text.startswith("<?xml")
    assert 'role="img"' in image.text
    assert client.get("/analytics", params={"export": "nope"}).status_code == 404

    conversations = client.get("/analytics/conversations.csv", params={"days": 30})
    assert conversations.text.splitlines()[0].startswith("number,id,created_at")


def test_an_agent_without_the_analytics_scope_sees_no_figures(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    story(session, workspace)
    add_user(session, workspace, "agnes@example.com", "agent")
    session.commit()
    console_login(client, "agnes@example.com")
    page = client.get("/analytics")
    assert page.status_code == 200
    assert "your role does not read analytics" in page.text
    assert "<figure" not in page.text
    assert client.get("/analytics", params={"export": "csat"}).status_code == 200
    assert client.get("/analytics/costs").status_code == 403
    assert client.get("/analytics/conversations.csv").status_code == 403


def test_costs_form_for_admins_and_read_only_for_analysts(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com", "admin")
    add_user(session, workspace, "anna@example.com", "analyst")
    session.commit()
    csrf = console_login(client, "ada@example.com")
    page = client.get("/analytics/costs")
    assert page.status_code == 200
    assert 'id="costs-form"' in page.text
    form = {
        "csrf_token": csrf,
        "version": "0",
        "currency": "eur",
        "agent_hourly": "30",
        "fixed_phone": "2.5",
        "minutes_chat": "4",
    }
    saved = client.post("/analytics/costs", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    session.expire_all()
    costs, version = metrics_costs.with_version(session, workspace.workspace.id)
    assert (costs.currency, str(costs.agent_hourly), version) == ("EUR", "30.0000", 1)
    assert costs.minutes("chat") == 4.0
    after = client.get("/analytics/costs?saved=1").text
    assert 'value="30"' in after  # shown as typed, not 3E+1
    assert 'value="2.5"' in after
    stale = client.post("/analytics/costs", data=form)
    assert stale.status_code == 409
    assert "changed by someone else" in stale.text
    bad = client.post("/analytics/costs", data={**form, "version": "1", "fixed_email": "-3"})
    assert bad.status_code == 422
    assert 'value="-3"' in bad.text  # what was typed stays, to correct

    client.post("/logout", data={"csrf_token": csrf})
    analyst_csrf = console_login(client, "anna@example.com")
    read = client.get("/analytics/costs")
    assert read.status_code == 200
    assert 'id="costs-read"' in read.text
    assert "EUR" in read.text
    refused = client.post("/analytics/costs", data={**form, "csrf_token": analyst_csrf})
    assert refused.status_code == 403
