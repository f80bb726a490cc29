"""The inbox's and the channels' background loops on the worker base: the outbox drains
full batches and sends at start, the IMAP poller goes on past a failing mailbox, the
inbox worker wakes snoozed conversations."""

from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.channels import tasks
from accord.channels.email import BATCH
from accord.channels.inbound import InboundHandler
from accord.channels.tasks import ImapPoller, Outbox
from accord.inbox.models import Message
from accord.inbox.tasks import InboxWorker
from accord.kit.time import utcnow


def _outbox(session_factory: sessionmaker[Session], batches: list[int]) -> tuple[Outbox, list[int]]:
    outbox = Outbox(session_factory, "k" * 40, lambda *_: None, interval=60)
    drained: list[int] = []

    def drain() -> int:
        drained.append(batches.pop(0) if batches else 0)
        return drained[-1]

    outbox.drain = drain  # type: ignore[method-assign]
    return outbox, drained


def test_the_outbox_drains_full_batches_until_the_queue_is_short(
    session_factory: sessionmaker[Session],
) -> None:
    outbox, drained = _outbox(session_factory, [BATCH, BATCH, 3])
    outbox.step()
    assert drained == [BATCH, BATCH, 3]


def test_the_outbox_stops_between_batches_when_told(
    session_factory: sessionmaker[Session],
) -> None:
    outbox, drained = _outbox(session_factory, [BATCH, BATCH, 3])
    outbox.stopping.set()
    outbox.step()
    assert drained == [BATCH]


def test_the_outbox_sends_what_was_queued_before_it_started_and_when_kicked(
    session_factory: sessionmaker[Session],
) -> None:
    outbox, drained = _outbox(session_factory, [])
    outbox.start()
    try:
        deadline = time.monotonic() + 5
        while len(drained) < 1:
            assert time.monotonic() < deadline
            time.sleep(0.01)
        outbox.kick()  # a commit queued an email
        while len(drained) < 2:
            assert time.monotonic() < deadline
            time.sleep(0.01)
    finally:
        assert outbox.stop(timeout=5)


def test_the_outbox_finds_nothing_to_send_in_an_empty_queue(
    session_factory: sessionmaker[Session],
) -> None:
    assert Outbox(session_factory, "k" * 40, lambda *_: None).drain() == 0


def test_one_failing_mailbox_does_not_hold_up_the_others(
    session_factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, fine = uuid.uuid4(), uuid.uuid4()
    polled: list[uuid.UUID] = []

    def poll(handler: InboundHandler, workspace_id: uuid.UUID) -> int:
        polled.append(workspace_id)
        if workspace_id == broken:
            raise OSError("connection refused")
        return 1

    monkeypatch.setattr(tasks.mailbox, "workspace_ids_with_imap", lambda *_: [broken, fine])
    monkeypatch.setattr(tasks, "poll_imap", poll)
    handler = InboundHandler(session_factory, secret_key="k" * 40, base_url="", data_dir=tmp_path)
    poller = ImapPoller(handler, interval=60)
    with caplog.at_level(logging.ERROR, logger="accord.channels.tasks"):
        poller.step()
    assert polled == [broken, fine]
    assert [r.getMessage() for r in caplog.records] == [
        f"IMAP polling of workspace {broken} failed"
    ]


def test_the_imap_poller_ends_between_mailboxes_when_told(
    session_factory: sessionmaker[Session], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    polled: list[uuid.UUID] = []
    handler = InboundHandler(session_factory, secret_key="k" * 40, base_url="", data_dir=tmp_path)
    poller = ImapPoller(handler, interval=60)

    def poll(handler: InboundHandler, workspace_id: uuid.UUID) -> int:
        polled.append(workspace_id)
        poller.stopping.set()
        return 0

    monkeypatch.setattr(
        tasks.mailbox, "workspace_ids_with_imap", lambda *_: [uuid.uuid4(), uuid.uuid4()]
    )
    monkeypatch.setattr(tasks, "poll_imap", poll)
    poller.step()
    assert len(polled) == 1


def test_the_inbox_worker_step_wakes_what_is_due(
    session_factory: sessionmaker[Session],
) -> None:
    worker = InboxWorker(session_factory, secret_key="k" * 40, base_url="", publish=lambda *_: None)
    assert worker.interval == 30
    assert worker.run_once() == 0
    worker.step()


def _queued_replies(client: Any, workspace: Any, count: int) -> list[uuid.UUID]:
    """``count`` email replies queued for the outbox (no worker runs in the tests)."""
    auth = {"Authorization": f"Bearer {workspace.api_token}"}
    got = client.post(
        "/api/v1/messages",
        headers=auth,
        json={"channel": "email", "contact": {"email": "kim@example.com"}, "body": "Hello"},
    )
    assert got.status_code in (200, 201), got.text
    conversation = got.json()["conversation"]["id"]
    ids = []
    for n in range(count):
        r = client.post(
            f"/api/v1/conversations/{conversation}/replies",
            headers=auth,
            json={"channel": "email", "body": f"reply {n}"},
        )
        assert r.status_code == 201, r.text
        ids.append(uuid.UUID(r.json()["id"]))
    return ids


def test_retries_waiting_never_hold_up_newer_mail(
    client: Any, session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    ids = _queued_replies(client, workspace, BATCH + 3)
    later = (utcnow() + timedelta(hours=1)).isoformat()
    for message in session.scalars(select(Message).where(Message.id.in_(ids[:BATCH]))):
        message.meta = {**(message.meta or {}), "retry_at": later, "attempts": 1}
    session.commit()
    outbox = Outbox(session_factory, "k" * 40, lambda *_: None)
    assert outbox.drain() == 3  # the three newer ones, past a full batch of waiting retries
    session.expire_all()
    rows = session.execute(select(Message.id, Message.delivery).where(Message.id.in_(ids)))
    states = {message_id: delivery for message_id, delivery in rows}
    assert all(states[i] == "queued" for i in ids[:BATCH])
    assert all(states[i] != "queued" for i in ids[BATCH:])  # tried (no relay: failed)


def test_a_claim_left_by_a_dead_sender_is_taken_again(
    client: Any, session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    old, fresh = _queued_replies(client, workspace, 2)
    now = utcnow()
    for message_id, at in ((old, now - timedelta(minutes=30)), (fresh, now)):
        message = session.get(Message, message_id)
        assert message is not None
        message.delivery = "sending"
        message.claimed_at = at
    session.commit()
    Outbox(session_factory, "k" * 40, lambda *_: None).drain()
    session.expire_all()
    assert session.get(Message, old).delivery != "sending"  # type: ignore[union-attr]
    assert session.get(Message, fresh).delivery == "sending"  # type: ignore[union-attr]
