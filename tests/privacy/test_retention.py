"""Retention: each kind of data is kept for the days the workspace says. The dry run
counts what a pass would remove and removes nothing; the pass removes exactly that (raw
events but not those the golden record or an order needs, closed conversations with
their files, people known only by anonymous ids, idle chat visitors), is recorded and
audited, and leaves nothing for the next dry run."""

from __future__ import annotations

import secrets
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accord.chat.models import ChatVisitor
from accord.cli.main import app as cli
from accord.collect.models import Event
from accord.govern.audit.models import AuditEvent
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Attachment, Conversation
from accord.kit.db import transaction
from accord.kit.ids import id_at
from accord.kit.time import utcnow
from accord.privacy.models import RetentionRun
from accord.privacy.tasks import RetentionWorker, run_workspace
from accord.profile.models import Order, Profile
from accord.resolve.models import Identifier
from tests.chat.test_chat import start
from tests.helpers import Committed, bearer
from tests.privacy.people import send

OLD = timedelta(days=90)
POLICIES = {
    "events_days": 30,
    "closed_conversations_days": 30,
    "anonymous_profiles_days": 30,
    "chat_visitors_days": 30,
}


def old_id() -> uuid.UUID:
    at = id_at((utcnow() - OLD).timestamp())
    return uuid.UUID(int=at.int | secrets.randbits(62))


def counts(session: Session, workspace_id: uuid.UUID) -> dict[str, int]:
    def n(model: Any) -> int:
        return int(
            session.scalar(select(func.count()).where(model.workspace_id == workspace_id)) or 0
        )

    return {
        "events": n(Event),
        "conversations": n(Conversation),
        "profiles": n(Profile),
        "chat_visitors": n(ChatVisitor),
        "attachments": n(Attachment),
        "orders": n(Order),
    }


def age_events(session: Session, workspace_id: uuid.UUID, message_ids: list[str]) -> None:
    """Make these events old: received three months ago (their ids say when)."""
    for message_id in message_ids:
        session.execute(
            update(Event)
            .where(Event.workspace_id == workspace_id, Event.message_id == message_id)
            .values(id=old_id())
        )


def seed(api: TestClient, ws: ProvisionedWorkspace, factory: Any, tag: str) -> dict[str, Any]:
    """Old and recent data of every kind."""
    workspace_id = ws.workspace.id
    # Raw events: two old page views (go), an old identify with traits (stays), a recent
    # page view (stays), an old order's event (stays).
    send(
        api,
        ws,
        "identify",
        {"userId": f"named-{tag}", "messageId": f"id-{tag}", "traits": {"firstName": "Old"}},
    )
    for n in range(2):
        send(
            api,
            ws,
            "page",
            {"userId": f"named-{tag}", "messageId": f"old-{n}-{tag}", "name": "Home"},
        )
    send(api, ws, "page", {"userId": f"named-{tag}", "messageId": f"new-{tag}", "name": "Home"})
    # People: one known only by an anonymous id, unseen for months (goes, with its
    # events); one anonymous but seen today, one named but unseen (both stay).
    send(
        api, ws, "page", {"anonymousId": f"gone-{tag}", "messageId": f"anon-{tag}", "name": "Tents"}
    )
    send(api, ws, "page", {"anonymousId": f"here-{tag}", "name": "Tents"})
    send(
        api,
        ws,
        "identify",
        {"userId": f"quiet-{tag}", "traits": {"email": f"quiet-{tag}@example.com"}},
    )
    # Conversations: a web form with a file, resolved months ago (goes, with the file), and
    # one resolved yesterday (stays).
    form = {"writeKey": ws.write_key, "email": f"form-{tag}@example.com", "message": "Old question"}
    got = api.post(
        "/v1/forms/contact",
        data=form,
        files={"file": (f"old-{tag}.txt", f"retention file {tag}".encode(), "text/plain")},
    )
    assert got.status_code in (200, 201, 303), got.text
    r = api.post(
        "/api/v1/messages",
        headers=bearer(ws.api_token),
        json={
            "channel": "email",
            "contact": {"email": f"recent-{tag}@example.com"},
            "body": "Recent",
        },
    )
    assert r.status_code == 201, r.text
    recent_conversation = r.json()["conversation"]["id"]
    # Chat visitors: one idle for months (goes), one here now (stays).
    start(api, ws, f"idle-visitor-{tag}")
    start(api, ws, f"busy-visitor-{tag}")
    long_ago = utcnow() - OLD
    with transaction(factory) as session:
        age_events(
            session, workspace_id, [f"id-{tag}", f"old-0-{tag}", f"old-1-{tag}", f"anon-{tag}"]
        )
        event = Event(
            id=old_id(),
            workspace_id=workspace_id,
            message_id=f"order-{tag}",
            type="track",
            name="Order Completed",
            channel="store",
            source="test",
            identifiers=[],
            timestamp=long_ago,
            received_at=long_ago,
            status="unattributed",
        )
        session.add(event)
        session.flush()
        session.add(
            Order(
                workspace_id=workspace_id,
                order_id=f"O-{tag}",
                event_id=event.id,
                placed_at=long_ago,
                channel="store",
                total=10,
            )
        )
        for anonymous_id in (f"gone-{tag}",):
            held = session.scalars(
                select(Identifier.profile_id).where(
                    Identifier.workspace_id == workspace_id, Identifier.value == anonymous_id
                )
            ).one()
            session.execute(update(Profile).where(Profile.id == held).values(last_seen_at=long_ago))
        quiet = session.scalars(
            select(Identifier.profile_id).where(
                Identifier.workspace_id == workspace_id, Identifier.value == f"quiet-{tag}"
            )
        ).one()
        session.execute(update(Profile).where(Profile.id == quiet).values(last_seen_at=long_ago))
        session.execute(
            update(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.id != uuid.UUID(recent_conversation),
            )
            .values(status="resolved", resolved_at=long_ago, last_message_at=long_ago)
        )
        session.execute(
            update(Conversation)
            .where(Conversation.id == uuid.UUID(recent_conversation))
            .values(status="resolved", resolved_at=utcnow() - timedelta(days=1))
        )
        session.execute(
            update(ChatVisitor)
            .where(
                ChatVisitor.workspace_id == workspace_id,
                ChatVisitor.anonymous_id == f"idle-visitor-{tag}",
            )
            .values(last_seen_at=long_ago)
        )
    return {"recent_conversation": recent_conversation}


def test_the_dry_run_counts_what_the_pass_removes(
    privacy_db: Committed, api: TestClient, ws: ProvisionedWorkspace, data_dir: Path
) -> None:
    tag = uuid.uuid4().hex[:8]
    auth = bearer(ws.api_token)
    seed(api, ws, privacy_db.factory, tag)
    report = api.get("/api/v1/privacy/retention", headers=auth).json()
    assert report["dry_run"] is True
    assert {k["kind"]: (k["days"], k["count"]) for k in report["kinds"]} == {
        "events": (None, 0),
        "closed_conversations": (None, 0),
        "anonymous_profiles": (None, 0),
        "chat_visitors": (None, 0),
    }
    r = api.put("/api/v1/privacy/settings", headers=auth, json=POLICIES)
    assert r.status_code == 200, r.text
    with privacy_db.factory() as session:
        before = counts(session, ws.workspace.id)
    assert any(
        f"retention file {tag}".encode() in p.read_bytes()
        for p in (data_dir / "attachments").rglob("*")
        if p.is_file()
    )

    report = api.get("/api/v1/privacy/retention", headers=auth).json()
    would = {k["kind"]: k["count"] for k in report["kinds"]}
    assert would == {
        "events": 3,  # the old page views (the anonymous one's too); identify, order stay
        "closed_conversations": 1,
        "anonymous_profiles": 1,
        "chat_visitors": 1,
    }
    assert all(k["cutoff"] for k in report["kinds"])
    with privacy_db.factory() as session:
        assert counts(session, ws.workspace.id) == before  # a dry run removes nothing
    assert ws.workspace.id in RetentionWorker(privacy_db.factory, data_dir).due()

    done = run_workspace(
        privacy_db.factory, ws.workspace.id, dry_run=False, data_dir=data_dir, trigger="test"
    )
    assert {k.kind: k.count for k in done.kinds} == would
    with privacy_db.factory() as session:
        after = counts(session, ws.workspace.id)
        assert after["conversations"] == before["conversations"] - 1
        assert after["chat_visitors"] == before["chat_visitors"] - 1
        assert after["profiles"] == before["profiles"] - 1
        assert after["orders"] == before["orders"]
        assert after["attachments"] == before["attachments"] - 1
        # The old page views went (the anonymous person's with them).
        assert after["events"] == before["events"] - 3
        kept = set(
            session.scalars(select(Event.message_id).where(Event.workspace_id == ws.workspace.id))
        )
        assert {f"id-{tag}", f"order-{tag}", f"new-{tag}"} <= kept
        assert not {f"old-0-{tag}", f"old-1-{tag}", f"anon-{tag}"} & kept
        run = session.scalars(
            select(RetentionRun).where(RetentionRun.workspace_id == ws.workspace.id)
        ).one()
        assert (run.dry_run, run.trigger) == (False, "test")
        assert run.report["removed"]["closed_conversations"]["conversations"] == 1
        assert run.report["files_removed"] == 1
        audited = session.scalars(
            select(AuditEvent.action).where(AuditEvent.workspace_id == ws.workspace.id)
        ).all()
        assert "privacy.retention.applied" in audited
    assert not any(
        f"retention file {tag}".encode() in p.read_bytes()
        for p in (data_dir / "attachments").rglob("*")
        if p.is_file()
    )
    assert ws.workspace.id not in RetentionWorker(privacy_db.factory, data_dir).due()
    report = api.get("/api/v1/privacy/retention", headers=auth).json()
    assert {k["kind"]: k["count"] for k in report["kinds"]} == dict.fromkeys(would, 0)


def test_the_command_line_runs_a_dry_run(
    privacy_db: Committed,
    api: TestClient,
    ws: ProvisionedWorkspace,
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tag = uuid.uuid4().hex[:8]
    seed(api, ws, privacy_db.factory, tag)
    api.put("/api/v1/privacy/settings", headers=bearer(ws.api_token), json=POLICIES)
    monkeypatch.setenv("ACCORD_DATABASE_URL", privacy_db.url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(data_dir))
    result = CliRunner().invoke(
        cli, ["privacy", "retention", "--workspace", ws.workspace.slug, "--dry-run"]
    )
    assert result.exit_code == 0, result.output
    assert "would remove 3" in result.output
    with privacy_db.factory() as session:
        run = session.scalars(
            select(RetentionRun).where(RetentionRun.workspace_id == ws.workspace.id)
        ).one()
        assert (run.dry_run, run.trigger) == (True, "cli")
        assert counts(session, ws.workspace.id)["events"] > 0
