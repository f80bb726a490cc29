"""Chat's settings groups (both databases): the widget's settings and the identity
secret. A GET returns the version, a PUT with an older one is refused with 409
``settings_version_conflict``, an invalid value with 422 naming the field; changes are
audited (the secret never is), by the API and the console alike."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login
from tests.inbox.test_settings_groups import assert_conflict, audit_of

WIDGET = {"title": "Talk to us", "greeting": "Hello!", "prechat": True, "color": "#0f766e"}


def test_widget_settings_version_conflict_invalid_and_audit(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    r = client.get("/api/v1/chat/settings", headers=auth)
    assert r.status_code == 200, r.text
    assert r.json()["version"] == 0
    assert r.json()["title"] == "Chat with us"
    r = client.put("/api/v1/chat/settings", headers=auth, json={**WIDGET, "version": 0})
    assert r.status_code == 200, r.text
    assert r.json() == {**WIDGET, "version": 1}
    assert_conflict(
        client.put("/api/v1/chat/settings", headers=auth, json={"title": "Hi", "version": 0})
    )
    assert client.get("/api/v1/chat/settings", headers=auth).json()["title"] == "Talk to us"
    r = client.put("/api/v1/chat/settings", headers=auth, json={"color": "teal", "version": 1})
    assert r.status_code == 422
    assert r.json()["field"] == "color"
    [entry] = audit_of(client, workspace.api_token, "settings.chat.update")
    assert entry["data"]["version"] == 1
    assert sorted(entry["data"]["changed"]) == ["color", "greeting", "prechat", "title"]
    assert entry["data"]["values"]["title"] == "Talk to us"


def test_identity_secret_changes_are_audited_without_the_secret(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    r = client.post("/api/v1/chat/identity/secret", headers=auth)
    assert r.status_code == 201, r.text
    secret = r.json()["secret"]
    assert r.json()["version"] == 1
    assert client.delete("/api/v1/chat/identity/secret", headers=auth).status_code == 204
    status = client.get("/api/v1/chat/identity", headers=auth).json()
    assert status == {"enabled": False, "set_at": None, "version": 2}
    entries = audit_of(client, workspace.api_token, "settings.chat_identity.update")
    assert len(entries) == 2
    turned_on = entries[-1]["data"]
    assert "secret_encrypted" in turned_on["changed"]
    assert "secret_encrypted" not in turned_on["values"]
    assert secret not in str(entries)


def test_console_widget_form_carries_the_version(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "admin@acme-support.com", "admin")
    csrf = console_login(client, "admin@acme-support.com")
    page = client.get("/settings/chat").text
    assert page.count('name="version" value="0"') == 2  # the widget and the identity
    form = {"csrf_token": csrf, "title": "Ask us", "color": "#112233", "version": "0"}
    r = client.post("/settings/chat", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    r = client.post("/settings/chat", data={**form, "title": "Stale"})
    assert r.status_code == 409
    assert "changed by someone else" in r.text
    r = client.post("/settings/chat", data={**form, "color": "blue", "version": "1"})
    assert r.status_code == 422
    auth = bearer(workspace.api_token)
    assert client.get("/api/v1/chat/settings", headers=auth).json()["title"] == "Ask us"
    [entry] = audit_of(client, workspace.api_token, "settings.chat.update")
    assert entry["actor"] == "user:admin@acme-support.com"


def test_trigger_changes_are_audited_by_the_service(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    trigger = {
        "name": "Welcome",
        "event": "page_view",
        "action": {"kind": "message", "body": "Need a hand?"},
    }
    r = client.post("/api/v1/chat/triggers", headers=auth, json=trigger)
    assert r.status_code == 201, r.text
    tid = r.json()["id"]
    add_user(session, workspace, "admin@acme-support.com", "admin")
    csrf = console_login(client, "admin@acme-support.com")
    r = client.post(f"/settings/chat/triggers/{tid}/delete", data={"csrf_token": csrf})
    assert r.status_code in (200, 303), r.text
    [created] = audit_of(client, workspace.api_token, "chat_trigger.created")
    assert created["target"] == "Welcome"
    [deleted] = audit_of(client, workspace.api_token, "chat_trigger.deleted")
    assert deleted["actor"] == "user:admin@acme-support.com"
