"""Inbox rules on both databases: routing (round-robin, capacity, availability,
least-loaded, VIP), threading by person and the reopen window, idempotent intake,
consent at send, merges moving conversations with the person, isolation and errors."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access.models import User
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox import service
from accord.inbox.context import InboxContext
from accord.kit.time import utcnow
from tests.helpers import add_user, bearer


def _agents(session: Session, ws: ProvisionedWorkspace, *names: str) -> list[str]:
    ids = []
    for name in names:
        email = f"{name}@acme-support.com"
        add_user(session, ws, email, role="agent")
        ids.append(str(session.scalars(select(User.id).where(User.email == email)).one()))
    session.commit()
    return ids


def _message(client: TestClient, ws: ProvisionedWorkspace, **body: Any) -> dict[str, Any]:
    payload = {"channel": "email", "body": "Hello", **body}
    r = client.post("/api/v1/messages", headers=bearer(ws.api_token), json=payload)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_round_robin_respects_availability_and_capacity(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    ana, ben, cy = _agents(session, workspace, "ana", "ben", "cy")
    auth = bearer(workspace.api_token)
    r = client.post(
        "/api/v1/teams", headers=auth, json={"name": "Support", "members": [ana, ben, cy]}
    )
    assert r.status_code == 201, r.text
    assert (
        client.put(f"/api/v1/agents/{cy}", headers=auth, json={"available": False}).status_code
        == 200
    )
    assert (
        client.put(f"/api/v1/agents/{ben}", headers=auth, json={"capacity": 1}).status_code == 200
    )
    got = [
        _message(client, workspace, contact={"email": f"c{i}@example.com"})["conversation"][
            "assignee_id"
        ]
        for i in range(4)
    ]
    # Ana and Ben alternate until Ben is full; Cy is away and gets nothing.
    assert got == [ana, ben, ana, ana]


def test_least_loaded_and_vip_priority_queue(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    ana, ben = _agents(session, workspace, "ana", "ben")
    auth = bearer(workspace.api_token)
    client.post(
        "/api/v1/teams",
        headers=auth,
        json={"name": "Support", "routing": "least_loaded", "members": [ana, ben]},
    )
    r = client.post(
        "/api/v1/teams",
        headers=auth,
        json={"name": "VIP", "is_priority_queue": True, "members": [ben]},
    )
    vip_team = r.json()["id"]
    settings = {
        "default_team": "Support",
        "vip_rules": [{"field": "traits.tier", "op": "==", "value": "gold"}],
    }
    assert client.put("/api/v1/inbox/settings", headers=auth, json=settings).status_code == 200
    first = _message(client, workspace, contact={"email": "a@example.com"})["conversation"]
    second = _message(client, workspace, contact={"email": "b@example.com"})["conversation"]
    assert {first["assignee_id"], second["assignee_id"]} == {ana, ben}
    # A gold customer goes to the priority queue, marked high priority and VIP.
    client.post(
        "/v1/identify",
        auth=(workspace.write_key, ""),
        json={"userId": "u-gold", "traits": {"email": "gold@example.com", "tier": "gold"}},
    )
    vip = _message(client, workspace, contact={"email": "gold@example.com"})["conversation"]
    assert vip["team_id"] == vip_team
    assert vip["priority"] == "high"
    assert "vip" in vip["tags"]
    bad = client.put(
        "/api/v1/inbox/settings",
        headers=auth,
        json={"vip_rules": [{"field": "revenue", "op": "~"}]},
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "vip_rules[0].op"


def test_same_person_joins_open_conversation_and_reopen_window(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    first = _message(client, workspace, contact={"email": "dana@example.com"}, subject="Broken zip")
    again = _message(
        client, workspace, channel="chat", contact={"email": "Dana@Example.com"}, body="Any news?"
    )
    cid = first["conversation"]["id"]
    assert again["conversation"]["id"] == cid
    assert not again["created"]
    assert (
        client.patch(
            f"/api/v1/conversations/{cid}", headers=auth, json={"status": "resolved"}
        ).status_code
        == 200
    )
    reopened = _message(
        client, workspace, contact={"email": "dana@example.com"}, body="Still broken"
    )
    assert reopened["conversation"]["id"] == cid
    assert reopened["conversation"]["status"] == "open"
    assert reopened["conversation"]["reopen_count"] == 1
    # Resolved longer ago than the window (here: none at all): a new conversation.
    client.patch(f"/api/v1/conversations/{cid}", headers=auth, json={"status": "resolved"})
    r = client.put("/api/v1/inbox/settings", headers=auth, json={"reopen_window_hours": 0})
    assert r.status_code == 200
    fresh = _message(client, workspace, contact={"email": "dana@example.com"}, body="New issue")
    assert fresh["created"]
    assert fresh["conversation"]["id"] != cid


def test_intake_is_idempotent_and_errors_name_the_field(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    once = _message(
        client, workspace, contact={"phone": "+14155550100"}, channel="social", external_id="tw-1"
    )
    twice = _message(
        client, workspace, contact={"phone": "+14155550100"}, channel="social", external_id="tw-1"
    )
    assert twice["duplicate"]
    assert twice["message_id"] == once["message_id"]
    auth = bearer(workspace.api_token)
    r = client.post(
        "/api/v1/messages", headers=auth, json={"channel": "fax", "contact": {}, "body": "x"}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "channel"
    r = client.post(
        "/api/v1/messages", headers=auth, json={"channel": "chat", "contact": {}, "body": "x"}
    )
    assert r.status_code == 422
    assert r.json()["field"] == "contact"
    r = client.post("/v1/forms/contact", json={"writeKey": workspace.write_key, "message": "hi"})
    assert r.status_code == 400
    assert r.json()["field"] == "email"


def test_consent_is_checked_at_every_send(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    got = _message(client, workspace, channel="phone", contact={"phone": "+14155550111"})
    cid = got["conversation"]["id"]
    r = client.post(
        f"/api/v1/conversations/{cid}/replies",
        headers=auth,
        json={"body": "Hi", "channel": "email"},
    )
    assert r.status_code == 422
    assert r.json()["code"] == "unreachable"
    client.post(
        "/v1/identify",
        auth=(workspace.write_key, ""),
        json={
            "userId": "u-1",
            "traits": {"phone": "+14155550111", "email": "no@example.com", "doNotContact": True},
        },
    )
    r = client.post(
        f"/api/v1/conversations/{cid}/replies",
        headers=auth,
        json={"body": "Hi", "channel": "email"},
    )
    assert r.status_code == 409
    assert r.json()["code"] == "no_consent"


def test_a_merge_brings_conversations_together(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = bearer(workspace.api_token)
    by_mail = _message(client, workspace, contact={"email": "sam@example.com"}, subject="Order")
    by_phone = _message(client, workspace, channel="phone", contact={"phone": "+14155550122"})
    assert by_mail["conversation"]["profile_id"] != by_phone["conversation"]["profile_id"]
    client.post(
        "/v1/identify",
        auth=(workspace.write_key, ""),
        json={"userId": "sam", "traits": {"email": "sam@example.com", "phone": "+14155550122"}},
    )
    person = by_mail["conversation"]["profile_id"]
    found = client.get("/api/v1/conversations", headers=auth, params={"profile_id": person}).json()[
        "data"
    ]
    assert {c["id"] for c in found} == {
        by_mail["conversation"]["id"],
        by_phone["conversation"]["id"],
    }
    pop = client.get(
        "/api/v1/contact-center/lookup", headers=auth, params={"phone": "4155550122"}
    ).json()
    assert len(pop["open_conversations"]) == 2


def test_workspaces_never_see_each_others_conversations(
    client: TestClient, workspace: ProvisionedWorkspace, other_workspace: ProvisionedWorkspace
) -> None:
    mine = _message(client, workspace, contact={"email": "x@example.com", "phone": "+14155550133"})
    cid = mine["conversation"]["id"]
    other = bearer(other_workspace.api_token)
    assert client.get(f"/api/v1/conversations/{cid}", headers=other).status_code == 404
    assert client.get("/api/v1/conversations", headers=other).json()["data"] == []
    r = client.post(f"/api/v1/conversations/{cid}/notes", headers=other, json={"body": "x"})
    assert r.status_code == 404
    pop = client.get(
        "/api/v1/contact-center/lookup", headers=other, params={"phone": "+14155550133"}
    )
    assert pop.json()["known"] is False
    # Agents of another workspace cannot be assigned.
    r = client.patch(
        f"/api/v1/conversations/{cid}",
        headers=bearer(workspace.api_token),
        json={"assignee_id": "00000000-0000-7000-8000-000000000000"},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "assignee_id"


def test_snoozed_conversations_wake_up(
    session: Session, client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    cid = _message(client, workspace, contact={"email": "z@example.com"})["conversation"]["id"]
    auth = bearer(workspace.api_token)
    until = (utcnow() + timedelta(hours=1)).isoformat()
    r = client.patch(
        f"/api/v1/conversations/{cid}",
        headers=auth,
        json={"status": "snoozed", "snooze_until": until},
    )
    assert r.json()["status"] == "snoozed"
    # Not yet: the snooze runs for another hour.
    ctx_for = lambda ws: InboxContext.load(session, ws, secret_key="k", base_url="http://x")  # noqa: E731
    assert service.wake_snoozed(session, ctx_for) == 0
    woken = service.wake_snoozed(session, ctx_for, now=utcnow() + timedelta(hours=2))
    session.commit()
    assert woken == 1
    assert client.get(f"/api/v1/conversations/{cid}", headers=auth).json()["status"] == "open"


def test_a_bounce_marks_the_person_and_stops_email(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, settings: Any
) -> None:
    from accord.channels.email import receive_email

    auth = bearer(workspace.api_token)
    client.put("/api/v1/mailbox", headers=auth, json={"address": "help@acme-support.com"})
    cid = _message(client, workspace, contact={"email": "gone@example.com"})["conversation"]["id"]
    reply = client.post(f"/api/v1/conversations/{cid}/replies", headers=auth, json={"body": "Hi!"})
    assert reply.status_code == 201
    message_id = "<r-1@acme-support.com>"
    from accord.inbox.models import Message

    row = session.get(Message, uuid.UUID(reply.json()["id"]))
    assert row is not None
    row.external_id = message_id
    row.delivery = "sent"
    dsn = (
        "From: MAILER-DAEMON@mx.example.com\r\nTo: help@acme-support.com\r\n"
        "Subject: Undelivered\r\nMIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="r"\r\n\r\n'
        "--r\r\nContent-Type: message/delivery-status\r\n\r\n"
        "Final-Recipient: rfc822; gone@example.com\r\nAction: failed\r\n"
        "--r\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\n--r--\r\n"
    ).encode()
    ctx = InboxContext.load(session, workspace.workspace.id, secret_key="k", base_url="http://x")
    assert receive_email(session, ctx, dsn, None) is None
    session.commit()
    detail = client.get(f"/api/v1/conversations/{cid}", headers=auth).json()
    assert detail["messages"][-1]["delivery"] == "bounced"
    again = client.post(
        f"/api/v1/conversations/{cid}/replies",
        headers=auth,
        json={"body": "Hello?", "channel": "email"},
    )
    assert again.status_code == 409
    assert again.json()["code"] == "no_consent"
