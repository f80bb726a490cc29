"""The inbox's settings groups over the API and in the console (both databases): the
inbox rules and the support mailbox. A GET returns the version; a PUT that sends an
older one is refused with 409 ``settings_version_conflict`` (problem+json); an invalid
value is refused with 422 naming the field; each change is in the audit log, never with
a password."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.channels import mailbox
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login


def audit_of(client: TestClient, token: str, action: str) -> list[dict[str, Any]]:
    r = client.get("/api/v1/audit", headers=bearer(token))
    assert r.status_code == 200, r.text
    return [e for e in r.json()["data"] if e["action"] == action]


def assert_conflict(r: Any) -> None:
    assert r.status_code == 409, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["code"] == "settings_version_conflict"
    assert body["type"] == "urn:accord:problem:settings_version_conflict"
    assert body["status"] == 409
    assert body["field"] == "version"


def test_inbox_settings_read_write_version_and_audit(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    r = client.get("/api/v1/inbox/settings", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 0
    assert r.json()["reopen_window_hours"] == 168
    assert r.json()["csat"] is True

    rules = {
        "reopen_window_hours": 48,
        "default_team": "Support",
        "channel_teams": {"phone": "Phone"},
        "vip_rules": [{"field": "revenue", "op": ">=", "value": 1000}],
        "csat": False,
    }
    r = client.put("/api/v1/inbox/settings", headers=auth, json={**rules, "version": 0})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert r.json()["channel_teams"] == {"phone": "Phone"}
    got = client.get("/api/v1/inbox/settings", headers=auth).json()
    assert got["version"] == 1
    assert got["reopen_window_hours"] == 48
    assert got["csat"] is False

    # Someone else changed them since version 0 was read.
    r = client.put("/api/v1/inbox/settings", headers=auth, json={"csat": True, "version": 0})
    assert_conflict(r)
    assert client.get("/api/v1/inbox/settings", headers=auth).json()["csat"] is False
    # Without a version the change is made whatever it was.
    r = client.put("/api/v1/inbox/settings", headers=auth, json={**rules, "csat": True})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 2

    [latest, first] = audit_of(client, workspace.api_token, "settings.inbox.update")
    assert first["data"]["version"] == 1
    assert "reopen_window_hours" in first["data"]["changed"]
    assert first["data"]["values"]["default_team"] == "Support"
    assert latest["data"]["changed"] == ["csat"]
    assert latest["data"]["values"] == {"csat": True}


def test_invalid_inbox_settings_name_the_field(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    for body, field in [
        ({"reopen_window_hours": -1}, "reopen_window_hours"),
        ({"vip_rules": [{"field": "revenue", "op": "~"}]}, "vip_rules[0].op"),
        ({"vip_rules": [{"op": ">="}]}, "vip_rules[0].field"),
        ({"channel_teams": {"fax": "Fax"}}, "channel_teams.fax"),
        ({"reopen_window": 3}, "reopen_window"),
        ({"csat": True, "version": "one"}, "version"),
    ]:
        r = client.put("/api/v1/inbox/settings", headers=auth, json=body)
        assert r.status_code == 422, (body, r.text)
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["field"] == field, (body, r.json())
    assert client.get("/api/v1/inbox/settings", headers=auth).json()["version"] == 0
    assert audit_of(client, workspace.api_token, "settings.inbox.update") == []


def test_inbox_settings_need_the_admin_scope(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    token = client.post(
        "/api/v1/keys",
        headers=bearer(workspace.api_token),
        json={"kind": "token", "name": "agents", "scopes": ["conversations:write"]},
    ).json()["secret"]
    for method in ("GET", "PUT"):
        r = client.request(method, "/api/v1/inbox/settings", headers=bearer(token), json={})
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "insufficient_scope"


def test_mailbox_version_conflict_and_audit_without_passwords(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    r = client.get("/api/v1/mailbox", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 0
    body = {
        "address": "help@acme-support.com",
        "relay": {"host": "smtp.example.com", "port": 587, "password": "hunter2-relay"},
        "version": 0,
    }
    r = client.put("/api/v1/mailbox", headers=auth, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 1
    assert r.json()["relay"]["password_set"] is True
    assert "hunter2" not in r.text
    assert "password_encrypted" not in r.text
    assert_conflict(client.put("/api/v1/mailbox", headers=auth, json=body))
    # Changing the host alone keeps the stored password.
    r = client.put(
        "/api/v1/mailbox",
        headers=auth,
        json={**body, "relay": {"host": "smtp2.example.com", "port": 587}, "version": 1},
    )
    assert r.status_code == 200, r.text
    assert r.json()["relay"] == {
        "host": "smtp2.example.com",
        "port": 587,
        "security": "none",
        "password_set": True,
    }
    session.expire_all()
    ws = session.get(Workspace, workspace.workspace.id)
    assert ws is not None
    box = mailbox.of(ws, client.app.state.settings.resolved_secret_key)  # type: ignore[attr-defined]
    assert box is not None
    assert box.relay is not None
    assert (box.relay.host, box.relay.password) == ("smtp2.example.com", "hunter2-relay")
    assert "hunter2" not in str(ws.settings)

    entries = audit_of(client, workspace.api_token, "settings.email.update")
    assert len(entries) == 2
    first = entries[-1]["data"]
    assert "relay_password_encrypted" in first["changed"]  # that it changed, not its value
    assert "relay_password_encrypted" not in first["values"]
    assert first["values"]["address"] == "help@acme-support.com"
    assert first["values"]["relay"]["host"] == "smtp.example.com"
    stored = ws.settings["email"]["relay_password_encrypted"]
    assert stored
    assert stored not in str(entries)
    assert "hunter2" not in str(entries)

    r = client.put("/api/v1/mailbox", headers=auth, json={"address": "not an address"})
    assert r.status_code == 422
    assert r.json()["field"] == "address"


def test_mailbox_settings_stored_before_the_passwords_had_fields_of_their_own(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    from accord.kit.security import encrypt

    secret = "s" * 40
    ws = session.get(Workspace, workspace.workspace.id)
    assert ws is not None
    ws.settings = {
        "email": {
            "address": "help@acme-support.com",
            "imap": {"host": "imap.example.com", "port": 993, "password_encrypted": None},
            "relay": {
                "host": "smtp.example.com",
                "port": 587,
                "password_encrypted": encrypt(secret, "old-password"),
            },
        }
    }
    session.flush()
    box = mailbox.of(ws, secret)
    assert box is not None
    assert box.relay is not None
    assert box.relay.password == "old-password"
    public, version = mailbox.settings(session, ws.id)
    assert public["relay"]["password_set"] is True
    assert public["imap"]["password_set"] is False
    assert version == 0


def test_console_forms_carry_the_version(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "admin@acme-support.com", "admin")
    csrf = console_login(client, "admin@acme-support.com")
    page = client.get("/settings/inbox").text
    assert page.count('name="version" value="0"') == 2  # the mailbox and the rules
    r = client.post(
        "/settings/inbox/rules",
        data={"csrf_token": csrf, "reopen_window_hours": "24", "version": "0"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    auth = bearer(workspace.api_token)
    assert client.get("/api/v1/inbox/settings", headers=auth).json()["version"] == 1
    # The same form again, rendered before that change: refused, and the page says why.
    r = client.post(
        "/settings/inbox/rules",
        data={"csrf_token": csrf, "reopen_window_hours": "12", "version": "0"},
    )
    assert r.status_code == 409
    assert "changed by someone else" in r.text
    assert client.get("/api/v1/inbox/settings", headers=auth).json()["reopen_window_hours"] == 24
    r = client.post(
        "/settings/inbox/mailbox",
        data={"csrf_token": csrf, "address": "help@acme-support.com", "version": "0"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    assert 'name="version" value="1"' in client.get("/settings/inbox").text
    [entry] = audit_of(client, workspace.api_token, "settings.email.update")
    assert entry["actor"] == "user:admin@acme-support.com"


def test_inbox_settings_stored_with_keys_of_their_own_still_read(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    from datetime import timedelta

    from accord.inbox.rules import InboxSettings

    ws = session.get(Workspace, workspace.workspace.id)
    assert ws is not None
    ws.settings = {"inbox": {"reopen_window_hours": 24, "default_team": "Desk", "note": "x"}}
    settings = InboxSettings.of(ws)
    assert settings.reopen_window == timedelta(hours=24)
    assert settings.default_team == "Desk"
    assert settings.support_name == ws.name
