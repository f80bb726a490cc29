"""Journeys in the console without a browser, on both databases: an analyst sees the
list and the editor, creates a journey from the cart abandonment template (its steps in
order on the page), edits the flow (a step added, moved, removed), sees a bad step's
refusal beside that step, and publishes (the version goes up); an agent gets none of it;
another workspace's journey is a 404; people entered by hand show in the report with
the funnel, and on the Customer 360."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.time import utcnow
from accord.outreach.journeys.models import JourneyEntry, JourneyStepLog
from tests.helpers import add_user, bearer, console_login
from tests.web.test_outreach_console import ANALYST, HTML, HTMX, _people

CART_STEPS = ["wait-1h", "reminder", "wait-1d", "opened", "second-reminder", "end"]


def _steps(html: str) -> list[str]:
    return re.findall(r'<article class="card jy-step[^"]*" id="step-([^"]+)"', html)


def _form(html: str) -> dict[str, str]:
    """The editor form's fields as the page shows them (inputs, selected options and
    text areas), as a browser would post them."""
    form = html.split('id="journey-form"')[1].split("</form>")[0]
    out: dict[str, str] = {}
    for tag in re.findall(r"<input[^>]*>", form):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name and 'type="submit"' not in tag:
            out[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<select name="([^"]+)"[^>]*>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', body)
        first = re.search(r'<option value="([^"]*)"', body)
        out[name] = chosen.group(1) if chosen else (first.group(1) if first else "")
    for name, body in re.findall(r'<textarea name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S):
        out[name] = body
    import html as html_lib

    return {k: html_lib.unescape(v) for k, v in out.items()}


def _create(client: TestClient, csrf: str, template: str = "cart_abandonment") -> str:
    r = client.post(
        "/outreach/journeys/new",
        data={"csrf_token": csrf, "template": template, "name": ""},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?done=created")
    return r.headers["location"].split("/")[3].split("?")[0]


def _api_journey(client: TestClient, ws: ProvisionedWorkspace, **body: Any) -> str:
    r = client.post(
        "/api/v1/outreach/journeys",
        json={"name": "Cart", "template": "cart_abandonment", **body},
        headers=bearer(ws.api_token),
    )
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_an_analyst_builds_and_publishes_a_journey(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)

    listing = client.get("/outreach/journeys", headers=HTML)
    assert listing.status_code == 200
    assert 'aria-current="page">Journeys' in listing.text
    assert "No journeys yet" in listing.text
    assert 'id="new-journey"' in listing.text
    new = client.get("/outreach/journeys/new", headers=HTML).text
    assert "Cart abandonment" in new
    assert "a reminder after an hour" in new
    assert 'id="template-blank"' in new

    journey_id = _create(client, csrf)
    editor = client.get(f"/outreach/journeys/{journey_id}?done=created", headers=HTML)
    assert editor.status_code == 200
    text = editor.text
    assert "Draft created" in text
    assert _steps(text) == CART_STEPS
    assert 'value="Checkout Started"' in text  # the trigger, at the top
    assert 'value="Order Completed"' in text  # the goal
    assert 'name="steps.0.amount" value="1"' in text  # an hour
    assert re.search(r'name="steps.0.unit".*?<option value="hours" selected>', text, re.S)
    assert 'If yes</span> → <a href="#step-end">end</a>' in text
    assert '<span class="jy-link-label">If no</span>' in text
    assert "finish the version they entered" in text
    assert "Not published yet" in text

    # Add a wait after the first step, move it down, then remove it: each saved.
    form = _form(text)
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "op": "add:0:wait"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert r.headers["location"].endswith("?done=saved&step=wait-1#step-wait-1")
    text = client.get(r.headers["location"].split("#")[0], headers=HTML).text
    assert _steps(text) == ["wait-1h", "wait-1", *CART_STEPS[1:]]
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**_form(text), "op": "down:1"},
        follow_redirects=True,
    )
    assert _steps(r.text) == ["wait-1h", "reminder", "wait-1", *CART_STEPS[2:]]
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**_form(r.text), "op": "remove:2"},
        follow_redirects=True,
    )
    assert _steps(r.text) == CART_STEPS
    assert "Saved." in r.text

    # A bad step: the refusal beside it, the form kept as typed.
    form = _form(r.text)
    bad = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "steps.2.amount": "-3", "steps.4.subject": ""},
        headers=HTML,
    )
    assert bad.status_code == 422
    assert 'id="journey-error"' in bad.text
    assert "Not saved. Step 3 (wait-1d): Wait: Input should be" in bad.text
    card = bad.text.split('id="step-wait-1d"')[1].split("</article>")[0]
    assert "jy-error" in card
    assert "Wait: Input should be greater than or equal to 0" in card
    assert 'name="steps.2.amount" value="-3"' in card
    other = bad.text.split('id="step-wait-1h"')[1].split("</article>")[0]
    assert "jy-error" not in other
    missing = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "steps.4.subject": ""},
        headers=HTML,
    )
    assert missing.status_code == 422
    card = missing.text.split('id="step-second-reminder"')[1].split("</article>")[0]
    assert "An email needs a subject and a body" in card
    broken = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "steps.1.subject": "{{ person.first_name "},
        headers=HTML,
    )
    assert broken.status_code == 422
    assert "jy-error" in broken.text.split('id="step-reminder"')[1].split("</article>")[0]

    # Publish: saved first (the first wait now a second), then version 1, then 2.
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**form, "steps.0.amount": "1", "steps.0.unit": "seconds", "op": "publish"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = client.get(r.headers["location"], headers=HTML).text
    assert "Published as version 1" in page
    assert 'id="journey-status">active' in page
    assert 'name="steps.0.unit"' in page
    assert re.search(r'name="steps.0.unit".*?<option value="seconds" selected>', page, re.S)
    r = client.post(
        f"/outreach/journeys/{journey_id}",
        data={**_form(page), "op": "publish"},
        follow_redirects=True,
    )
    assert "Published as version 2" in r.text
    assert "Version 2 published" in r.text
    listing = client.get("/outreach/journeys", headers=HTML).text
    row = listing.split(f'id="journey-{journey_id}"')[1].split("</tr>")[0]
    assert "Cart abandonment" in row
    assert 'jy-st-active">active' in row
    assert '<td class="num">2</td>' in row

    # Pause, resume, archive; an archived journey is read only.
    for action, words in (("pause", "Paused"), ("resume", "Resumed"), ("archive", "Archived")):
        r = client.post(
            f"/outreach/journeys/{journey_id}/{action}",
            data={"csrf_token": csrf},
            follow_redirects=True,
        )
        assert r.status_code == 200
        assert words in r.text
    archived = client.get(f"/outreach/journeys/{journey_id}", headers=HTML).text
    assert "it can no longer be changed" in archived
    assert '<fieldset class="jy-fieldset" disabled>' in archived


def test_people_entered_by_hand_show_in_the_report_and_on_the_360(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    people = _people(client, workspace)
    journey_id = _api_journey(client, workspace)
    r = client.post(
        f"/api/v1/outreach/journeys/{journey_id}/publish", headers=bearer(workspace.api_token)
    )
    assert r.status_code == 200, r.text
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)

    editor = client.get(f"/outreach/journeys/{journey_id}", headers=HTML).text
    assert 'id="enter-people"' in editor
    found = client.get(
        f"/outreach/journeys/{journey_id}/people", params={"q": "ada@"}, headers=HTMX
    ).text
    assert f'value="{people["ada"]}"' in found
    assert f'value="{people["bo"]}"' not in found
    r = client.post(
        f"/outreach/journeys/{journey_id}/enter",
        data={"csrf_token": csrf, "profile_id": [people["ada"], people["bo"]]},
        follow_redirects=True,
    )
    assert r.status_code == 200, r.text
    assert "2 of 2 people entered." in r.text

    # The first step taken by both (as the engine records it): the funnel shows it.
    entries = session.scalars(
        select(JourneyEntry).where(JourneyEntry.journey_id == uuid.UUID(journey_id))
    ).all()
    assert len(entries) == 2
    for e in entries:
        session.add(
            JourneyStepLog(
                workspace_id=workspace.workspace.id,
                journey_id=e.journey_id,
                entry_id=e.id,
                step="wait-1h",
                at=utcnow(),
                outcome="waited",
            )
        )
    session.commit()
    report = client.get(f"/outreach/journeys/{journey_id}/report", headers=HTML)
    assert report.status_code == 200
    text = report.text
    assert 'id="funnel"' in text
    assert "<svg" in text.split('id="funnel"')[1]
    assert "wait-1h · Wait (2)" in text
    assert 'id="goal-words"' in text
    assert f'href="/customers/{people["ada"]}"' in text
    csv = client.get(
        f"/outreach/journeys/{journey_id}/report", params={"export": "funnel", "format": "csv"}
    )
    assert csv.status_code == 200
    assert "wait-1h · Wait,2" in csv.text
    waiting = client.get(
        f"/outreach/journeys/{journey_id}/report", params={"status": "done"}, headers=HTML
    ).text
    assert 'id="no-entries"' in waiting

    c360 = client.get(f"/customers/{people['ada']}", headers=HTML).text
    card = c360.split('id="person-journeys"')[1].split("</ul>")[0]
    assert f'href="/outreach/journeys/{journey_id}/report">Cart</a>' in card
    c360 = client.get(f"/customers/{people['cy']}", headers=HTML).text
    assert 'id="no-journeys"' in c360


def test_an_agent_gets_no_journeys(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    journey_id = _api_journey(client, workspace)
    add_user(session, workspace, "jo@acme.test", "agent")
    csrf = console_login(client, "jo@acme.test")
    assert 'id="nav-journeys"' not in client.get("/customers", headers=HTML).text
    for path in (
        "/outreach/journeys",
        "/outreach/journeys/new",
        f"/outreach/journeys/{journey_id}",
        f"/outreach/journeys/{journey_id}/report",
    ):
        assert client.get(path, headers=HTML).status_code == 403, path
    for path in (
        "/outreach/journeys/new",
        f"/outreach/journeys/{journey_id}",
        f"/outreach/journeys/{journey_id}/archive",
        f"/outreach/journeys/{journey_id}/enter",
    ):
        r = client.post(path, data={"csrf_token": csrf, "template": "welcome"}, headers=HTML)
        assert r.status_code == 403, path


def test_another_workspace_s_journey_is_not_found(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    theirs = _api_journey(client, other_workspace, name="Theirs")
    add_user(session, workspace, ANALYST, "analyst")
    csrf = console_login(client, ANALYST)
    for path in (f"/outreach/journeys/{theirs}", f"/outreach/journeys/{theirs}/report"):
        assert client.get(path, headers=HTML).status_code == 404, path
    assert client.get(f"/outreach/journeys/{theirs}/people?q=a", headers=HTMX).status_code == 404
    for action in ("", "/pause", "/resume", "/archive"):
        r = client.post(
            f"/outreach/journeys/{theirs}{action}", data={"csrf_token": csrf}, headers=HTML
        )
        assert r.status_code == 404, action
    assert "Theirs" not in client.get("/outreach/journeys", headers=HTML).text
