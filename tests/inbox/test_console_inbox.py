"""The agent console over HTTP: a refused action shows its reason on the page, analysts
read but cannot act, and another workspace's conversations are not found."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login


def _chat(client: TestClient, ws: ProvisionedWorkspace) -> int:
    r = client.post(
        "/api/v1/messages",
        headers=bearer(ws.api_token),
        json={"channel": "chat", "contact": {"anonymous_id": "visitor-9"}, "body": "Hi there"},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["conversation"]["number"])


def test_a_refused_reply_shows_why(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "agent@acme-support.com", "agent")
    number = _chat(client, workspace)
    csrf = console_login(client, "agent@acme-support.com")
    r = client.post(
        f"/inbox/{number}/reply",
        data={"csrf_token": csrf, "body": "Hello!", "channel": "email"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = client.get(r.headers["location"])
    assert 'role="alert"' in page.text
    assert "no email address" in page.text
    # Without the CSRF token nothing happens.
    r = client.post(f"/inbox/{number}/reply", data={"body": "x"}, follow_redirects=False)
    assert r.status_code == 403
    ok = client.post(
        f"/inbox/{number}/reply",
        data={"csrf_token": csrf, "body": "Hello from chat", "channel": "chat"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    assert "Hello from chat" in client.get(f"/inbox/{number}").text


def test_analysts_read_but_do_not_act_and_workspaces_stay_apart(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    add_user(session, workspace, "analyst@acme-support.com", "analyst")
    add_user(session, other_workspace, "outsider@globex.com", "admin")
    number = _chat(client, workspace)
    csrf = console_login(client, "analyst@acme-support.com")
    assert client.get(f"/inbox/{number}").status_code == 200
    r = client.post(f"/inbox/{number}/status", data={"csrf_token": csrf, "status": "resolved"})
    assert r.status_code == 403
    client.cookies.clear()
    console_login(client, "outsider@globex.com")
    assert client.get(f"/inbox/{number}").status_code == 404
    assert "Hi there" not in client.get("/inbox?view=all&status=").text
