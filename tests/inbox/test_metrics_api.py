"""The service dashboards' API (both databases): trends with their filters and the
agent's credit, the scope they need, and the service costs settings group (read, write
with its version, validation, audit)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import Scope
from accord.govern.audit.models import AuditEvent
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import bearer
from tests.inbox.test_metrics_trends import story


def test_trends_with_filters_and_credit(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    s = story(session, workspace)
    session.commit()
    auth = bearer(workspace.api_token)
    got = client.get("/api/v1/inbox/metrics/trends", headers=auth)
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["bucket"] == "day"
    assert body["totals"]["conversations"] == 7
    assert body["totals"]["chats_abandoned"] == 2
    assert body["currency"] == "USD"
    assert body["costs_configured"] is False
    day = next(p for p in body["points"] if p["period"] == s.d0.date().isoformat())
    assert day["channels"] == {"chat": 1, "email": 1}
    assert day["first_response_p50_seconds"] == 960

    weekly = client.get("/api/v1/inbox/metrics/trends", params={"days": 120}, headers=auth).json()
    assert weekly["bucket"] == "week"
    assert sum(p["conversations"] for p in weekly["points"]) == 7

    ana = client.get(
        "/api/v1/inbox/metrics/trends",
        params={"agent_id": str(s.ana.user_id), "channel": "email"},
        headers=auth,
    ).json()
    assert ana["agent_id"] == str(s.ana.user_id)
    assert ana["totals"]["first_responses"] == 1  # c1's, before the transfer
    assert ana["totals"]["resolved"] == 0
    assert ana["totals"]["chats"] is None

    vip = client.get(
        "/api/v1/inbox/metrics/trends",
        params={"team_id": str(s.vip.id), "priority": "high", "bucket": "day", "days": 14},
        headers=auth,
    ).json()
    assert vip["totals"]["conversations"] == 1

    for bad in ({"channel": "fax"}, {"bucket": "month"}, {"days": 0}, {"priority": "meh"}):
        refused = client.get("/api/v1/inbox/metrics/trends", params=bad, headers=auth)
        assert refused.status_code == 422, bad
    backwards = client.get(
        "/api/v1/inbox/metrics/trends",
        params={"since": "2026-03-02T00:00:00Z", "until": "2026-03-01T00:00:00Z"},
        headers=auth,
    )
    assert backwards.status_code == 422
    assert backwards.json()["field"] == "since"


def test_trends_need_the_analytics_scope(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    ws = workspace.workspace.id
    _, token = access.create_key(
        session,
        workspace_id=ws,
        kind="token",
        name="inbox only",
        actor=Principal.cli(ws),
        scopes=[Scope.CONVERSATIONS_READ],
    )
    session.commit()
    refused = client.get("/api/v1/inbox/metrics/trends", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json()["code"] == "insufficient_scope"
    assert client.get("/api/v1/inbox/metrics/trends").status_code == 401


def test_service_costs_are_read_and_written_with_their_version(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    first = client.get("/api/v1/inbox/costs", headers=auth).json()
    assert first["version"] == 0
    assert first["currency"] == "USD"
    assert first["reply_minutes"]["chat"] == 3.0
    body = {
        "currency": "EUR",
        "per_conversation": {"phone": "2.40", "email": "0.10"},
        "agent_hourly": "32.50",
        "reply_minutes": {"email": 5, "phone": 9},
        "version": 0,
    }
    saved = client.put("/api/v1/inbox/costs", json=body, headers=auth)
    assert saved.status_code == 200, saved.text
    assert saved.json()["version"] == 1
    assert saved.json()["currency"] == "EUR"
    assert float(saved.json()["per_conversation"]["phone"]) == 2.4
    stale = client.put("/api/v1/inbox/costs", json=body, headers=auth)
    assert stale.status_code == 409
    assert stale.json()["code"] == "settings_version_conflict"
    bad = client.put(
        "/api/v1/inbox/costs",
        json={**body, "version": 1, "per_conversation": {"fax": 1}},
        headers=auth,
    )
    assert bad.status_code == 422
    trends = client.get("/api/v1/inbox/metrics/trends", headers=auth).json()
    assert trends["currency"] == "EUR"
    assert trends["costs_configured"] is True
    audit = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "settings.service_costs.update")
    ).all()
    assert len(audit) == 1
    assert "agent_hourly" in audit[0].data["changed"]
