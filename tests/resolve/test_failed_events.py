"""One bad event never stops resolution. An event the store cannot take (planted here
past validation, as events accepted before it was stricter are) fails its batch; the
resolver then resolves that workspace's events one at a time, marks the one that fails
alone as ``failed`` with the error, and goes on with the rest and with the other
workspaces. A lost connection is nobody's fault: nothing is marked, and the worker tries
again after its back-off. Admins see failed events and send them back to be resolved."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.govern.audit.models import AuditEvent
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import transaction
from accord.kit.ids import new_id
from accord.resolve import service as resolve
from accord.resolve.worker import drain
from tests.helpers import add_user, bearer, console_login, provision

AT = datetime(2026, 3, 1, tzinfo=UTC)
# Quantity 1e300 gives an order total no Numeric(14, 2) column holds, on both databases.
POISON = {"order_id": "o-bad", "products": [{"price": 5, "quantity": 1e300}]}


def plant(
    session: Session,
    workspace_id: uuid.UUID,
    message_id: str,
    user_id: str,
    *,
    name: str = "Product Viewed",
    properties: dict[str, Any] | None = None,
) -> uuid.UUID:
    """A pending track event stored as it is, without validation."""
    row = {
        "id": new_id(),
        "workspace_id": workspace_id,
        "message_id": message_id,
        "type": "track",
        "name": name,
        "user_id": user_id,
        "anonymous_id": None,
        "channel": "web",
        "source": "test",
        "identifiers": [["user_id", user_id]],
        "traits": None,
        "properties": properties or {},
        "context": {},
        "timestamp": AT,
        "sent_at": None,
        "received_at": AT,
        "status": "pending",
        "profile_id": None,
        "primary_identifier_id": None,
    }
    EventRepository.from_session(session).insert_new([row])
    return row["id"]  # type: ignore[no-any-return]


def statuses(session: Session, workspace_id: uuid.UUID) -> dict[str, tuple[str, str | None]]:
    rows = session.execute(
        select(Event.message_id, Event.status, Event.error).where(
            Event.workspace_id == workspace_id
        )
    )
    return {m: (s, e) for m, s, e in rows}


def seed(session_factory: sessionmaker[Session]) -> tuple[uuid.UUID, uuid.UUID]:
    """Two workspaces: the first to be resolved holds a poison event between good ones."""
    with session_factory() as session:
        a = provision(session, "Poisoned").workspace.id
        b = provision(session, "Healthy").workspace.id
    first, second = sorted([a, b])
    with transaction(session_factory) as session:
        plant(session, first, "good-1", "u1")
        plant(session, first, "bad", "u2", name="Order Completed", properties=POISON)
        plant(session, first, "good-2", "u3")
        plant(session, second, "other-1", "u4")
    return first, second


def test_a_poison_event_is_isolated_and_the_rest_resolved(
    session_factory: sessionmaker[Session],
) -> None:
    first, second = seed(session_factory)
    assert drain(session_factory) == 4
    with session_factory() as session:
        found = statuses(session, first)
        assert found["good-1"][0] == "resolved"
        assert found["good-2"][0] == "resolved"
        status, error = found["bad"]
        assert status == "failed"
        assert error
        assert "\x00" not in error
        assert statuses(session, second)["other-1"][0] == "resolved"
        assert resolve.pending_workspaces(session) == []
    # Nothing is left to do: the failed event is not tried again by itself.
    assert drain(session_factory) == 0


def test_a_lost_connection_marks_nothing_and_is_raised(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = seed(session_factory)
    real = resolve.resolve_pending

    def flaky(session: Session, workspace_id: uuid.UUID, **kw: Any) -> int:
        if workspace_id == first:
            raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))
        return real(session, workspace_id, **kw)

    monkeypatch.setattr(resolve, "resolve_pending", flaky)
    with pytest.raises(OperationalError):
        drain(session_factory)
    with session_factory() as session:
        assert {s for s, _ in statuses(session, first).values()} == {"pending"}
        # The other workspace was not held up.
        assert statuses(session, second)["other-1"][0] == "resolved"


def test_admins_see_failed_events_and_retry_them(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    workspace: ProvisionedWorkspace,
) -> None:
    ws = workspace.workspace.id
    with transaction(session_factory) as s:
        plant(s, ws, "bad-1", "u1", name="Order Completed", properties=POISON)
        plant(s, ws, "bad-2", "u2", name="Order Completed", properties={**POISON, "order_id": "x"})
    drain(session_factory)
    auth = bearer(workspace.api_token)
    listed = client.get("/api/v1/events/failed", params={"limit": 1}, headers=auth)
    assert listed.status_code == 200, listed.text
    page = listed.json()
    assert page["total"] == 2
    assert len(page["data"]) == 1
    item = page["data"][0]
    assert item["message_id"] in ("bad-1", "bad-2")
    assert item["type"] == "track"
    assert item["name"] == "Order Completed"
    assert item["error"]
    assert item["received_at"]
    second = client.get("/api/v1/events/failed", params={"limit": 1, "offset": 1}, headers=auth)
    assert second.json()["data"][0]["id"] != item["id"]

    retried = client.post("/api/v1/events/failed/retry", json={"ids": [item["id"]]}, headers=auth)
    assert retried.status_code == 200, retried.text
    assert retried.json() == {"retried": 1}
    with session_factory() as s:
        # Resolved inline again, and failed again: it is still poison.
        assert statuses(s, ws)[item["message_id"]][0] == "failed"
        audit = s.scalars(
            select(AuditEvent).where(
                AuditEvent.workspace_id == ws, AuditEvent.action == "events.failed.retry"
            )
        ).all()
        assert len(audit) == 1
        assert audit[0].data["count"] == 1
    everything = client.post("/api/v1/events/failed/retry", json={}, headers=auth)
    assert everything.json() == {"retried": 2}


def test_retrying_sets_events_back_to_pending(
    session_factory: sessionmaker[Session], workspace: ProvisionedWorkspace
) -> None:
    from accord.govern.access.principal import Principal
    from accord.resolve import failures

    ws = workspace.workspace.id
    with transaction(session_factory) as s:
        plant(s, ws, "bad", "u1", name="Order Completed", properties=POISON)
    drain(session_factory)
    with transaction(session_factory) as s:
        assert failures.retry(s, Principal.cli(ws), None) == 1
    with session_factory() as s:
        assert statuses(s, ws)["bad"] == ("pending", None)


def test_failed_events_need_the_admin_scope(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    created = client.post(
        "/api/v1/keys",
        json={"kind": "token", "name": "reader", "scopes": ["workspace:read", "profiles:read"]},
        headers=bearer(workspace.api_token),
    )
    assert created.status_code == 201, created.text
    reader = bearer(created.json()["secret"])
    assert client.get("/api/v1/events/failed", headers=reader).status_code == 403
    assert client.post("/api/v1/events/failed/retry", json={}, headers=reader).status_code == 403
    assert client.get("/api/v1/events/failed").status_code == 401


def test_the_console_lists_failed_events_with_a_retry(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    workspace: ProvisionedWorkspace,
) -> None:
    ws = workspace.workspace.id
    add_user(session, workspace, "admin@example.com", "admin")
    csrf = console_login(client, "admin@example.com")
    empty = client.get("/settings/workspace")
    assert empty.status_code == 200
    assert "No failed events." in empty.text
    with transaction(session_factory) as s:
        plant(s, ws, "bad-console", "u1", name="Order Completed", properties=POISON)
    drain(session_factory)
    shown = client.get("/settings/workspace")
    assert "bad-console" in shown.text
    assert 'action="/settings/workspace/failed/retry"' in shown.text
    refused = client.post("/settings/workspace/failed/retry", data={}, follow_redirects=False)
    assert refused.status_code == 403
    retried = client.post(
        "/settings/workspace/failed/retry", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert retried.status_code == 303
    with session_factory() as s:
        audit = s.scalars(
            select(AuditEvent).where(
                AuditEvent.workspace_id == ws, AuditEvent.action == "events.failed.retry"
            )
        ).all()
        assert [a.actor for a in audit] == ["user:admin@example.com"]
    # Resolved again on the retry (inline here), and still poison.
    assert "bad-console" in client.get("/settings/workspace").text
