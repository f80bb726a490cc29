"""Teams, SLA policies and canned responses are changed and deleted as they are added,
over the API and in Settings > Inbox, each change audited (both databases). A team with
open conversations is deleted only by saying where they go, else refused with 409; the
inbox rules that name a team follow it when it is renamed or its work moves."""

from __future__ import annotations

import re
import uuid
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access.models import User
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login
from tests.inbox.test_settings_groups import audit_of

ADMIN = "admin@acme-support.com"


def _agent(session: Session, ws: ProvisionedWorkspace) -> str:
    add_user(session, ws, ADMIN, "admin")
    return str(session.scalars(select(User.id).where(User.email == ADMIN)).one())


def _ok(r: Any, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json() if status != 204 else None


def test_teams_change_and_delete_over_the_api(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    agent = _agent(session, workspace)
    returns = _ok(
        client.post("/api/v1/teams", headers=auth, json={"name": "Returns", "members": [agent]}),
        201,
    )
    care = _ok(client.post("/api/v1/teams", headers=auth, json={"name": "Care"}), 201)
    _ok(
        client.put(
            "/api/v1/inbox/settings",
            headers=auth,
            json={"default_team": "Returns", "channel_teams": {"email": "Returns"}},
        )
    )
    r = client.post(
        "/api/v1/messages",
        headers=auth,
        json={"channel": "email", "contact": {"email": "kim@example.com"}, "body": "Refund?"},
    )
    conversation = _ok(r, 201)["conversation"]
    assert conversation["team_id"] == returns["id"]

    # Renamed: the rules follow it.
    _ok(
        client.put(
            f"/api/v1/teams/{returns['id']}",
            headers=auth,
            json={"name": "Refunds", "members": [agent]},
        )
    )
    rules = _ok(client.get("/api/v1/inbox/settings", headers=auth))
    assert rules["default_team"] == "Refunds"
    assert rules["channel_teams"] == {"email": "Refunds"}
    [renamed] = audit_of(client, workspace.api_token, "team.updated")
    assert renamed["data"]["renamed_from"] == "Returns"

    # Deleting it with an open conversation says where they must go.
    r = client.delete(f"/api/v1/teams/{returns['id']}", headers=auth)
    assert (r.status_code, r.json()["code"], r.json()["field"]) == (
        409,
        "team_has_conversations",
        "move_to",
    )
    assert "1 open conversation is with Refunds" in r.json()["detail"]
    r = client.delete(f"/api/v1/teams/{returns['id']}?move_to={returns['id']}", headers=auth)
    assert r.status_code == 422
    _ok(client.delete(f"/api/v1/teams/{returns['id']}?move_to={care['id']}", headers=auth), 204)
    teams = _ok(client.get("/api/v1/teams", headers=auth))["data"]
    assert [t["name"] for t in teams] == ["Care"]
    moved = _ok(client.get(f"/api/v1/conversations/{conversation['id']}", headers=auth))
    assert moved["team_id"] == care["id"]
    rules = _ok(client.get("/api/v1/inbox/settings", headers=auth))
    assert rules["default_team"] == "Care"
    assert rules["channel_teams"] == {"email": "Care"}
    [deleted] = audit_of(client, workspace.api_token, "team.deleted")
    assert deleted["target"] == returns["id"]
    assert deleted["data"]["moved_to"] == care["id"]
    assert deleted["data"]["conversations_moved"] == 1
    # Without open conversations a team goes at once; an unknown one is not found.
    _ok(
        client.patch(
            f"/api/v1/conversations/{conversation['id']}", headers=auth, json={"status": "resolved"}
        )
    )
    _ok(client.delete(f"/api/v1/teams/{care['id']}", headers=auth), 204)
    assert client.delete(f"/api/v1/teams/{care['id']}", headers=auth).status_code == 404


def test_policies_and_canned_responses_change_and_delete_over_the_api(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    policy = _ok(
        client.post(
            "/api/v1/sla-policies",
            headers=auth,
            json={"name": "Standard", "first_response_minutes": 60},
        ),
        201,
    )
    changed = _ok(
        client.put(
            f"/api/v1/sla-policies/{policy['id']}",
            headers=auth,
            json={"name": "Standard", "first_response_minutes": 30, "priority": "high"},
        )
    )
    assert (changed["first_response_minutes"], changed["priority"]) == (30, "high")
    r = client.put(f"/api/v1/sla-policies/{policy['id']}", headers=auth, json={"name": "None"})
    assert (r.status_code, r.json()["field"]) == (422, "first_response_minutes")
    _ok(client.delete(f"/api/v1/sla-policies/{policy['id']}", headers=auth), 204)
    assert _ok(client.get("/api/v1/sla-policies", headers=auth))["data"] == []
    assert client.delete(f"/api/v1/sla-policies/{policy['id']}", headers=auth).status_code == 404

    hello = _ok(
        client.post(
            "/api/v1/canned-responses",
            headers=auth,
            json={"shortcut": "hello", "title": "Hello", "body": "Hi {{first_name}}!"},
        ),
        201,
    )
    _ok(
        client.post(
            "/api/v1/canned-responses",
            headers=auth,
            json={"shortcut": "bye", "title": "Bye", "body": "Bye!"},
        ),
        201,
    )
    r = client.put(
        f"/api/v1/canned-responses/{hello['id']}",
        headers=auth,
        json={"shortcut": "bye", "title": "Hello", "body": "Hi"},
    )
    assert (r.status_code, r.json()["code"]) == (409, "duplicate")
    changed = _ok(
        client.put(
            f"/api/v1/canned-responses/{hello['id']}",
            headers=auth,
            json={"shortcut": "hi", "title": "Hi", "body": "Hi {{first_name}}, thanks!"},
        )
    )
    assert changed["shortcut"] == "hi"
    _ok(client.delete(f"/api/v1/canned-responses/{hello['id']}", headers=auth), 204)
    left = _ok(client.get("/api/v1/canned-responses", headers=auth))["data"]
    assert [c["shortcut"] for c in left] == ["bye"]

    token = workspace.api_token
    for action in ("sla_policy.created", "sla_policy.updated", "sla_policy.deleted"):
        assert [e["target"] for e in audit_of(client, token, action)] == [policy["id"]], action
    for action in ("canned_response.updated", "canned_response.deleted"):
        assert [e["target"] for e in audit_of(client, token, action)] == [hello["id"]], action
    assert len(audit_of(client, token, "canned_response.created")) == 2


def _form(page: str, form_id: str) -> str:
    found = re.search(rf'<form[^>]*id="{form_id}"[^>]*>(.*?)</form>', page, re.S)
    assert found, form_id
    return found.group(1)


def test_settings_inbox_edits_and_deletes_in_the_console(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    _agent(session, workspace)
    csrf = console_login(client, ADMIN)
    team = _ok(client.post("/api/v1/teams", headers=auth, json={"name": "Returns"}), 201)
    other = _ok(client.post("/api/v1/teams", headers=auth, json={"name": "Care"}), 201)
    policy = _ok(
        client.post(
            "/api/v1/sla-policies",
            headers=auth,
            json={"name": "Standard", "first_response_minutes": 60},
        ),
        201,
    )
    canned = _ok(
        client.post(
            "/api/v1/canned-responses",
            headers=auth,
            json={"shortcut": "hello", "title": "Hello", "body": "Hi there"},
        ),
        201,
    )
    # Each row offers Edit and Delete; Edit opens the form filled in.
    page = client.get("/settings/inbox").text
    for row in (f"team-{team['id']}", f"policy-{policy['id']}", f"canned-{canned['id']}"):
        assert re.search(rf'id="{row}".*?Edit.*?Delete', page, re.S), row
    form = _form(client.get(f"/settings/inbox?edit_team={team['id']}").text, "team-form")
    assert f'name="team_id" value="{team["id"]}"' in form
    assert 'value="Returns"' in form
    r = client.post(
        "/settings/inbox/teams",
        data={"csrf_token": csrf, "team_id": team["id"], "name": "Refunds", "routing": "manual"},
        follow_redirects=False,
    )
    assert (r.status_code, r.headers["location"]) == (303, "/settings/inbox#teams")
    names = {
        t["name"]: t["routing"] for t in _ok(client.get("/api/v1/teams", headers=auth))["data"]
    }
    assert names == {"Refunds": "manual", "Care": "round_robin"}

    # An open conversation with the team: deleting it without saying where is refused.
    r = client.post(
        "/api/v1/messages",
        headers=auth,
        json={"channel": "email", "contact": {"email": "lee@example.com"}, "body": "Hi"},
    )
    conversation = _ok(r, 201)["conversation"]
    _ok(
        client.post(
            f"/api/v1/conversations/{conversation['id']}/transfer",
            headers=auth,
            json={"team_id": team["id"]},
        )
    )
    r = client.post(f"/settings/inbox/teams/{team['id']}/delete", data={"csrf_token": csrf})
    assert r.status_code == 409
    assert "choose the team they move to" in r.text
    r = client.post(
        f"/settings/inbox/teams/{team['id']}/delete",
        data={"csrf_token": csrf, "move_to": other["id"]},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert [t["name"] for t in _ok(client.get("/api/v1/teams", headers=auth))["data"]] == ["Care"]

    form = _form(client.get(f"/settings/inbox?edit_policy={policy['id']}").text, "policy-form")
    assert 'value="60"' in form
    r = client.post(
        "/settings/inbox/sla",
        data={
            "csrf_token": csrf,
            "policy_id": policy["id"],
            "name": "Fast",
            "first_response_minutes": "15",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    [changed] = _ok(client.get("/api/v1/sla-policies", headers=auth))["data"]
    assert (changed["name"], changed["first_response_minutes"]) == ("Fast", 15)
    form = _form(client.get(f"/settings/inbox?edit_canned={canned['id']}").text, "canned-form")
    assert "Hi there" in form
    r = client.post(
        "/settings/inbox/canned",
        data={
            "csrf_token": csrf,
            "canned_id": canned["id"],
            "shortcut": "/Thanks",
            "title": "Thanks",
            "body": "Thanks!",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    [edited] = _ok(client.get("/api/v1/canned-responses", headers=auth))["data"]
    assert (edited["shortcut"], edited["body"]) == ("thanks", "Thanks!")
    for path in (f"sla/{policy['id']}", f"canned/{canned['id']}"):
        r = client.post(
            f"/settings/inbox/{path}/delete", data={"csrf_token": csrf}, follow_redirects=False
        )
        assert r.status_code == 303, path
    assert _ok(client.get("/api/v1/sla-policies", headers=auth))["data"] == []
    assert _ok(client.get("/api/v1/canned-responses", headers=auth))["data"] == []
    # Each change recorded who made it.
    admin = [e for e in audit_of(client, workspace.api_token, "team.deleted")]
    assert admin[0]["actor"].endswith(ADMIN)
    assert uuid.UUID(admin[0]["target"]) == uuid.UUID(team["id"])


def test_sla_minutes_are_bounded_on_every_path(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    for field in ("first_response_minutes", "next_response_minutes", "resolution_minutes"):
        r = client.post(
            "/api/v1/sla-policies", headers=auth, json={"name": "Huge", field: 137438953473}
        )
        assert r.status_code == 422, r.text
        assert r.json()["field"] == field
    ok = client.post(
        "/api/v1/sla-policies", headers=auth, json={"name": "Year", "resolution_minutes": 525600}
    )
    assert ok.status_code in (200, 201), ok.text
    call = client.post("/api/v1/calls", headers=auth, json={"phone": "+14155550100"})
    assert call.status_code == 201, call.text
