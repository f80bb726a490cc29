from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import PASSWORD, add_user, console_login, csrf_from, provision

HTML = {"accept": "text/html"}


def test_login_shows_the_console(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com", "admin")
    assert client.get("/customers", follow_redirects=False).headers["location"] == (
        "/login?next=/customers"
    )
    console_login(client, "ada@example.com")
    page = client.get("/customers")
    assert "Acme" in page.text
    for area in ("Customers", "Inbox", "Analytics", "Settings"):
        assert f">{area}</a>" in page.text
    assert workspace.write_key in page.text  # the snippet to send the first events


def test_login_rejects_wrong_password_with_a_message(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com")
    form = client.get("/login")
    response = client.post(
        "/login",
        data={"email": "ada@example.com", "password": "nope", "csrf_token": csrf_from(form.text)},
    )
    assert response.status_code == 401
    assert "The email or password is not correct" in response.text
    assert 'data-code="invalid_credentials"' in response.text
    assert "accord_session" not in response.cookies


def test_login_requires_the_form_token(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com")
    client.get("/login")
    response = client.post(
        "/login",
        data={"email": "ada@example.com", "password": PASSWORD, "csrf_token": "forged"},
    )
    assert response.status_code == 403
    assert 'data-code="csrf_failed"' in response.text


def test_login_is_throttled_after_repeated_failures(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, settings: Settings
) -> None:
    add_user(session, workspace, "ada@example.com")
    for _ in range(settings.login_max_failures):
        form = client.get("/login")
        bad = client.post(
            "/login",
            data={
                "email": "ada@example.com",
                "password": "wrong",
                "csrf_token": csrf_from(form.text),
            },
        )
        assert bad.status_code == 401
    form = client.get("/login")
    blocked = client.post(
        "/login",
        data={"email": "ADA@example.com", "password": PASSWORD, "csrf_token": csrf_from(form.text)},
        follow_redirects=False,
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["retry-after"]) > 0
    assert 'data-code="login_throttled"' in blocked.text


def test_next_is_only_followed_on_this_site(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com")
    for target, expected in (
        ("/settings/keys", "/settings/keys"),
        ("//evil.test/x", "/"),
        ("https://evil.test", "/"),
    ):
        client.cookies.clear()
        form = client.get(f"/login?next={target}")
        response = client.post(
            "/login",
            data={
                "email": "ada@example.com",
                "password": PASSWORD,
                "csrf_token": csrf_from(form.text),
                "next": target,
            },
            follow_redirects=False,
        )
        assert response.headers["location"] == expected


def test_posts_without_the_session_csrf_token_are_refused(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com")
    csrf = console_login(client, "ada@example.com")
    refused = client.post("/settings/keys", data={"kind": "token", "name": "x"}, headers=HTML)
    assert refused.status_code == 403
    assert "csrf_failed" in refused.text
    assert refused.headers["content-type"].startswith("text/html")
    accepted = client.post(
        "/settings/keys",
        data={
            "kind": "token",
            "name": "CRM sync",
            "scopes": ["profiles:read", "events:write"],
            "csrf_token": csrf,
        },
    )
    assert accepted.status_code == 200
    assert "CRM sync" in accepted.text
    assert 'id="new-secret">acc_' in accepted.text
    assert "profiles:read, events:write" in accepted.text or "events:write, profiles:read" in (
        accepted.text
    )


def test_admin_manages_users_in_settings(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com", "admin")
    csrf = console_login(client, "ada@example.com")
    added = client.post(
        "/settings/users",
        data={"email": "bob@example.com", "role": "agent", "name": "Bob", "csrf_token": csrf},
    )
    assert added.status_code == 200
    assert 'id="new-password"' in added.text
    assert 'data-email="bob@example.com"' in added.text
    dup = client.post(
        "/settings/users", data={"email": "bob@example.com", "role": "agent", "csrf_token": csrf}
    )
    assert dup.status_code == 409
    assert "already a member" in dup.text
    audit = client.get("/settings/audit")
    assert "member.added" in audit.text
    assert "user:ada@example.com" in audit.text


def test_agents_cannot_open_settings(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "agent@example.com", "agent")
    console_login(client, "agent@example.com")
    assert client.get("/inbox").status_code == 200
    page = client.get("/settings/users", headers=HTML)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert 'data-code="admin_only"' in page.text


def test_console_shows_only_the_users_workspaces(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    other = provision(session, "Globex")
    add_user(session, workspace, "ada@example.com", "admin")
    add_user(session, other, "ada@example.com", "analyst")
    third = provision(session, "Initech")
    csrf = console_login(client, "ada@example.com")
    page = client.get("/customers").text
    assert "Globex" in page
    assert "Initech" not in page
    # Switching into a workspace the user is not a member of is refused.
    refused = client.post(
        "/workspace/switch",
        data={"workspace_id": str(third.workspace.id), "csrf_token": csrf},
        headers=HTML,
    )
    assert refused.status_code == 404
    switched = client.post(
        "/workspace/switch",
        data={"workspace_id": str(other.workspace.id), "csrf_token": csrf},
    )
    assert switched.status_code == 200
    # As an analyst in Globex, settings are closed.
    assert client.get("/settings/users", headers=HTML).status_code == 403


def test_logout_ends_the_session(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com")
    csrf = console_login(client, "ada@example.com")
    token = client.cookies.get("accord_session")
    client.post("/logout", data={"csrf_token": csrf})
    client.cookies.set("accord_session", token or "")
    assert client.get("/customers", follow_redirects=False).status_code == 303
