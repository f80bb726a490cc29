"""The resolver as a process of its own (``accord serve`` runs it beside the API)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.collect.models import Event
from accord.govern.workspaces import service as workspaces
from accord.kit.db import transaction
from accord.resolve import process
from tests.resolve.test_batches import accept


def test_the_loop_resolves_what_is_pending_and_stops_when_told(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        ws = workspaces.create_workspace(session, "process").workspace
        accept(
            session,
            ws.id,
            [
                {"type": "page", "anonymousId": f"a{i % 3}", "messageId": f"m{i}", "name": "Home"}
                for i in range(7)
            ],
        )
    stop = threading.Event()
    seen: list[int] = []

    def alive() -> bool:  # the loop's third look finds nothing left and ends it
        seen.append(1)
        if len(seen) >= 3:
            stop.set()
        return True

    assert process.run(session_factory, stop, poll=0.01, alive=alive) == 7
    with session_factory() as session:
        statuses = session.scalars(select(Event.status).where(Event.workspace_id == ws.id))
        assert set(statuses) == {"resolved"}


def test_the_loop_ends_with_its_parent(session_factory: sessionmaker[Session]) -> None:
    stop = threading.Event()
    assert process.run(session_factory, stop, poll=0.01, alive=lambda: False) == 0
    assert process.parent_alive(None)()
    assert not process.parent_alive(-1)()


def test_a_failing_pass_is_retried(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    stop = threading.Event()

    def flaky(factory: object) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        stop.set()
        return 0

    monkeypatch.setattr(process, "drain", flaky)
    process.run(session_factory, stop, poll=0.01)
    assert len(calls) == 2
