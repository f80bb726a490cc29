"""Settings > Identity: the identity rules, source priority and matching thresholds are
edited in the console, through the same settings groups as the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.match.settings import MATCH
from accord.profile.settings import PROFILE
from accord.resolve.rules import IdentityRules
from tests.helpers import add_user, console_login


def _workspace(session: Session, ws: ProvisionedWorkspace) -> Workspace:
    found = session.get(Workspace, ws.workspace.id)
    assert found is not None
    session.refresh(found)
    return found


def test_admin_edits_identity_rules_sources_and_thresholds(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "ada@example.com", "admin")
    csrf = console_login(client, "ada@example.com")
    page = client.get("/settings/identity")
    assert page.status_code == 200
    assert "Identity rules" in page.text
    assert "<code>loyalty_card</code>" in page.text

    form = {"csrf_token": csrf, "version": "0", "shared_device_threshold": "4"}
    form.update({"t0-name": "user_id", "t0-priority": "", "t0-unique": "", "t0-limit": ""})
    form.update({"t0-blocked": "guest-1\nguest-2"})
    form.update({"t1-name": "pos_customer", "t1-priority": "90", "t1-unique": "yes"})
    saved = client.post("/settings/identity/rules", data=form, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    rules = IdentityRules.of(_workspace(session, workspace))
    assert rules.priority("pos_customer") == 90
    assert rules.graph.rule("pos_customer").unique
    assert rules.is_blocked("user_id", "guest-2")
    assert rules.shared_device_threshold == 4
    assert "<code>pos_customer</code>" in client.get("/settings/identity").text

    # The same form sent again with the version it was read at is refused, and says why.
    stale = client.post("/settings/identity/rules", data=form)
    assert stale.status_code == 409
    assert 'data-code="settings_version_conflict"' in stale.text

    sources = {"csrf_token": csrf, "version": "0", "sources": "crm = 10\nweb=-5\n"}
    assert client.post("/settings/identity/sources", data=sources).status_code == 200
    assert PROFILE.read(_workspace(session, workspace)).source_priority == {"crm": 10, "web": -5}
    bad = client.post(
        "/settings/identity/sources", data={**sources, "version": "1", "sources": "crm ten"}
    )
    assert bad.status_code == 422
    assert "line 1" in bad.text

    matching = {"csrf_token": csrf, "version": "0", "auto_merge": "0.9", "review": "0.55"}
    matching["id_traits"] = " memberNumber,\nnationalId "
    assert client.post("/settings/identity/matching", data=matching).status_code == 200
    match = MATCH.read(_workspace(session, workspace))
    assert (match.auto_merge, match.review) == (0.9, 0.55)
    assert match.id_traits == ["memberNumber", "nationalId"]
    assert 'value="memberNumber, nationalId"' in client.get("/settings/identity").text
    too_long = {**matching, "version": "1", "id_traits": "x" * 101}
    refused = client.post("/settings/identity/matching", data=too_long)
    assert refused.status_code == 422
    assert "id_traits" in refused.text
    wrong = client.post(
        "/settings/identity/matching",
        data={**matching, "version": "1", "auto_merge": "0.5", "review": "0.7"},
    )
    assert wrong.status_code == 422
    assert "review cannot be above auto_merge" in wrong.text


def test_only_admins_see_identity_settings(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    add_user(session, workspace, "agent@example.com", "agent")
    csrf = console_login(client, "agent@example.com")
    assert client.get("/settings/identity").status_code == 403
    response = client.post(
        "/settings/identity/matching", data={"csrf_token": csrf, "auto_merge": "0.9"}
    )
    assert response.status_code == 403
