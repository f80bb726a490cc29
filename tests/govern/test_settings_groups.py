"""Workspace settings groups over the API: typed, versioned, audited, isolated, and read by
the code that applies them (identity rules, source priority, matching thresholds)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.match.service import thresholds_for
from accord.profile.service import ProfileContext
from accord.resolve.rules import IdentityRules
from tests.govern.test_access_api import assert_problem
from tests.helpers import bearer

GROUPS = [
    ("/api/v1/resolve/rules", {"types": {"pos_customer": {"priority": 90, "unique": True}}}),
    ("/api/v1/profiles/survivorship", {"source_priority": {"crm": 10, "web": -5}}),
    ("/api/v1/resolve/thresholds", {"auto_merge": 0.9, "review": 0.6}),
]


def test_groups_read_write_and_version(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    auth = bearer(workspace.api_token)
    for path, value in GROUPS:
        first = client.get(path, headers=auth)
        assert first.status_code == 200, first.text
        assert first.json()["version"] == 0
        put = client.put(path, json={**value, "version": 0}, headers=auth)
        assert put.status_code == 200, put.text
        body = put.json()
        assert body["version"] == 1
        for key, v in value.items():
            got = body[key]
            if isinstance(v, dict):
                for k, inner in v.items():
                    expected = inner if not isinstance(inner, dict) else {**got[k], **inner}
                    assert got[k] == expected, (path, key, k)
            else:
                assert got == v
        # Writing with the version read before is a conflict, not a silent overwrite.
        stale = client.put(path, json={**value, "version": 0}, headers=auth)
        assert_problem(stale, 409, "settings_version_conflict", "version")
        # Without a version the write goes through and bumps it.
        again = client.put(path, json=value, headers=auth)
        assert again.status_code == 200
        assert again.json()["version"] == 2


def test_invalid_values_name_the_field(client: TestClient, workspace: ProvisionedWorkspace) -> None:
    auth = bearer(workspace.api_token)
    assert_problem(
        client.put("/api/v1/resolve/rules", json={"shared_device_threshold": 0}, headers=auth),
        422,
        "validation_error",
        "shared_device_threshold",
    )
    assert_problem(
        client.put("/api/v1/resolve/rules", json={"types": {"Bad Name": {}}}, headers=auth),
        422,
        "validation_error",
    )
    assert_problem(
        client.put("/api/v1/resolve/thresholds", json={"auto_merge": 1.5}, headers=auth),
        422,
        "validation_error",
        "auto_merge",
    )
    # Review above the server's auto-merge default (0.8) with auto_merge left unset.
    assert_problem(
        client.put("/api/v1/resolve/thresholds", json={"review": 0.95}, headers=auth),
        422,
        "invalid",
        "review",
    )
    assert_problem(
        client.put(
            "/api/v1/profiles/survivorship", json={"source_priority": {"crm": 5000}}, headers=auth
        ),
        422,
        "validation_error",
    )
    assert_problem(
        client.put("/api/v1/resolve/rules", json={"unknown": 1}, headers=auth),
        422,
        "validation_error",
    )


def test_changes_are_applied_audited_and_isolated(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    auth = bearer(workspace.api_token)
    for path, value in GROUPS:
        assert client.put(path, json=value, headers=auth).status_code == 200
    ws = session.get(Workspace, workspace.workspace.id)
    assert ws is not None
    session.refresh(ws)
    rules = IdentityRules.of(ws)
    assert rules.priority("pos_customer") == 90
    assert rules.graph.rule("pos_customer").unique
    assert rules.priority("email") == 80  # standard types keep their defaults
    assert ProfileContext.of(ws).source_priority == {"crm": 10, "web": -5}
    thresholds = thresholds_for(client.app.state.settings, ws)  # type: ignore[attr-defined]
    assert (thresholds.auto_merge, thresholds.review) == (0.9, 0.6)

    audit = client.get("/api/v1/audit", headers=auth).json()["data"]
    actions = [a["action"] for a in audit]
    for group in ("identity", "profile", "match"):
        assert f"settings.{group}.update" in actions
    entry = next(a for a in audit if a["action"] == "settings.profile.update")
    assert entry["data"]["changed"] == ["source_priority"]

    other = bearer(other_workspace.api_token)
    for path, _ in GROUPS:
        assert client.get(path, headers=other).json()["version"] == 0


def test_reading_needs_a_key_and_writing_needs_admin(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    for path, value in GROUPS:
        assert client.get(path).status_code == 401
        assert client.put(path, json=value).status_code == 401
    _, token = access.create_key(
        session,
        workspace_id=workspace.workspace.id,
        kind="token",
        name="read only",
        actor=Principal.cli(workspace.workspace.id),
        scopes=["workspace:read"],
    )
    session.commit()
    for path, value in GROUPS:
        assert client.get(path, headers=bearer(token)).status_code == 200
        assert_problem(
            client.put(path, json=value, headers=bearer(token)), 403, "insufficient_scope"
        )
