"""What each role sees and may do in the console and the inbox API (both databases). An
analyst reads: the conversation page has no reply, resolve, transfer or assign controls,
the sidebar no Settings; conversations go only to people who can take them (admins and
agents), so an analyst is in no transfer list and cannot be assigned or join a team."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access.models import User
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login

ANALYST = "ana.lyst@acme-support.com"
AGENT = "agent@acme-support.com"
ADMIN = "admin@acme-support.com"


def _user_id(session: Session, email: str) -> str:
    return str(session.scalars(select(User.id).where(User.email == email)).one())


def _conversation(client: TestClient, ws: ProvisionedWorkspace) -> dict[str, object]:
    r = client.post(
        "/api/v1/messages",
        headers=bearer(ws.api_token),
        json={
            "channel": "email",
            "contact": {"email": "kim@example.com", "name": "Kim"},
            "subject": "Sizes",
            "body": "Do the boots run small?",
        },
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["conversation"])


def _people(session: Session, ws: ProvisionedWorkspace) -> dict[str, str]:
    for email, role in ((ANALYST, "analyst"), (AGENT, "agent"), (ADMIN, "admin")):
        add_user(session, ws, email, role)
    return {email: _user_id(session, email) for email in (ANALYST, AGENT, ADMIN)}


def test_an_analyst_reads_without_the_controls_of_those_who_act(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    _people(session, workspace)
    c = _conversation(client, workspace)
    console_login(client, ANALYST)
    page = client.get(f"/inbox/{c['number']}").text
    assert "Do the boots run small?" in page
    for control in (
        'id="reply-form"',
        'id="resolve-button"',
        'id="transfer-form"',
        "Assign to me",
        "Snooze 4h",
    ):
        assert control not in page, control
    assert 'id="read-only"' in page
    assert 'href="/settings"' not in page
    inbox = client.get("/inbox?view=all").text
    assert 'id="availability"' not in inbox
    assert 'href="/settings"' not in inbox
    # Agents do not see Settings either (only admins can open it); admins do.
    client.cookies.clear()
    console_login(client, AGENT)
    page = client.get(f"/inbox/{c['number']}").text
    assert 'id="reply-form"' in page
    assert 'id="resolve-button"' in page
    assert 'href="/settings"' not in page
    client.cookies.clear()
    console_login(client, ADMIN)
    assert 'href="/settings"' in client.get(f"/inbox/{c['number']}").text


def test_only_admins_and_agents_take_conversations(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    ids = _people(session, workspace)
    c = _conversation(client, workspace)
    auth = bearer(workspace.api_token)
    console_login(client, AGENT)
    page = client.get(f"/inbox/{c['number']}").text
    found = re.search(r'<select name="assignee_id"[^>]*>(.*?)</select>', page, re.S)
    assert found
    offered = set(re.findall(r'<option value="([^"]+)"', found.group(1)))
    assert offered == {ids[AGENT], ids[ADMIN]}
    # Neither the API nor the console hands a conversation to an analyst.
    r = client.patch(
        f"/api/v1/conversations/{c['id']}", headers=auth, json={"assignee_id": ids[ANALYST]}
    )
    assert (r.status_code, r.json()["code"]) == (422, "cannot_take")
    r = client.post(
        f"/api/v1/conversations/{c['id']}/transfer",
        headers=auth,
        json={"assignee_id": ids[ANALYST]},
    )
    assert (r.status_code, r.json()["code"]) == (422, "cannot_take")
    r = client.post(
        "/api/v1/teams", headers=auth, json={"name": "Support", "members": [ids[ANALYST]]}
    )
    assert (r.status_code, r.json()["field"]) == (422, "members[0]")
    r = client.patch(
        f"/api/v1/conversations/{c['id']}", headers=auth, json={"assignee_id": ids[AGENT]}
    )
    assert r.status_code == 200, r.text
    # Settings > Inbox offers only them as team members and agents.
    client.cookies.clear()
    console_login(client, ADMIN)
    settings = client.get("/settings/inbox").text
    assert ids[ANALYST] not in settings
    assert ids[AGENT] in settings


def test_a_refused_console_form_answers_with_the_error_page(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    """A console page asks htmx for HTML, so a form the role cannot use (sent by htmx,
    as every form of the console is) answers with the error page, not JSON."""
    _people(session, workspace)
    c = _conversation(client, workspace)
    csrf = console_login(client, ANALYST)
    page = client.get(f"/inbox/{c['number']}").text
    found = re.search(r"<body[^>]*hx-headers='([^']*)'", page)
    assert found
    headers = {"HX-Request": "true", **json.loads(found.group(1))}
    assert headers["X-CSRF-Token"] == csrf
    r = client.post(f"/inbox/{c['number']}/status", data={"status": "resolved"}, headers=headers)
    assert r.status_code == 403
    assert r.headers["content-type"].startswith("text/html")
    assert 'class="login-card error-page"' in r.text
