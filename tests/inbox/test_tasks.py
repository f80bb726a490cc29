"""The inbox's and the channels' background loops on the worker base: the outbox drains
full batches and sends at start, the IMAP poller goes on past a failing mailbox, the
inbox worker wakes snoozed conversations."""

from __future__ import annotations

import logging
import time
import uuid
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from accord.channels import tasks
from accord.channels.email import BATCH
from accord.channels.inbound import InboundHandler
from accord.channels.tasks import ImapPoller, Outbox
from accord.inbox.tasks import InboxWorker


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
