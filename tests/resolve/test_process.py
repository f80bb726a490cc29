"""The resolver as a process of its own (``accord serve`` runs it beside the API)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition import tasks as acquisition_tasks
from accord.analyze.acquisition.models import AcquisitionTouch, TouchBacklog
from accord.collect.models import Event
from accord.govern.access.principal import Principal
from accord.govern.workspaces import service as workspaces
from accord.kit import migrate
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.process import Supervisor, parent_alive
from accord.outreach.journeys import service as journeys
from accord.outreach.journeys.models import JourneySignal
from accord.resolve import process, worker
from accord.resolve.worker import drain
from tests.resolve.test_batches import accept


def test_the_loop_resolves_what_is_pending_and_stops_when_told(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
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
    # The session factory of the tests holds one connection: only the worker uses it
    # while the loop runs, and the test counts what it resolves.
    resolved: list[int] = []

    def counted(factory: sessionmaker[Session], **kwargs: object) -> int:
        done = drain(factory, **kwargs)  # type: ignore[arg-type]
        resolved.append(done)
        return done

    monkeypatch.setattr(worker, "drain", counted)
    deadline = time.monotonic() + 30
    process.run(
        session_factory,
        threading.Event(),
        poll=0.01,
        alive=lambda: sum(resolved) < 7 and time.monotonic() < deadline,
    )
    assert sum(resolved) == 7
    with session_factory() as session:
        statuses = session.scalars(select(Event.status).where(Event.workspace_id == ws.id))
        assert set(statuses) == {"resolved"}


def test_the_loop_ends_with_its_parent(session_factory: sessionmaker[Session]) -> None:
    stop = threading.Event()
    process.run(session_factory, stop, poll=0.01, alive=lambda: False)  # returns at once
    assert parent_alive(None)()
    assert not parent_alive(-1)()


def test_a_stop_ends_a_drain_between_batches(session_factory: sessionmaker[Session]) -> None:
    with transaction(session_factory) as session:
        ws = workspaces.create_workspace(session, "long backlog").workspace
        accept(session, ws.id, [{"type": "page", "anonymousId": f"a{i}"} for i in range(5)])
    stop = threading.Event()
    stop.set()
    assert drain(session_factory, stop=stop) == 0
    assert drain(session_factory, batch=2) == 5


@pytest.mark.parametrize(
    ("command", "name", "nice"),
    [(["worker", "resolve"], "resolver", 10), (["worker", "jobs"], "jobs", 15)],
)
def test_the_server_keeps_its_worker_processes_running(
    command: list[str], name: str, nice: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each is started again when it dies, and ends with the server. Each yields the CPU
    by its own nice value: the jobs that follow resolution more than the resolver."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("ACCORD_DATABASE_URL", url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    supervisor = Supervisor(command, name=name, restart_after=0.1)
    supervisor.start()
    try:
        first = supervisor.pid
        assert first is not None
        mine = os.getpriority(os.PRIO_PROCESS, 0)
        deadline = time.monotonic() + 30
        while os.getpriority(os.PRIO_PROCESS, first) == mine and time.monotonic() < deadline:
            time.sleep(0.05)  # lowered once its settings are read
        assert os.getpriority(os.PRIO_PROCESS, first) == min(mine + nice, 19)
        os.kill(first, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while supervisor.pid in (None, first) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert supervisor.pid not in (None, first)  # started again
        second = supervisor.pid
    finally:
        supervisor.stop()
    assert second is not None
    with pytest.raises(ProcessLookupError):  # stopped with the server, and reaped
        os.kill(second, 0)


def test_a_failing_pass_is_retried(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[int] = []
    deadline = time.monotonic() + 30

    def flaky(factory: object, **kwargs: object) -> int:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("database went away")
        return 0

    monkeypatch.setattr(worker, "drain", flaky)
    process.run(
        session_factory,
        threading.Event(),
        poll=0.01,
        alive=lambda: len(calls) < 2 and time.monotonic() < deadline,
    )
    assert len(calls) >= 2


def test_the_resolver_process_is_heard_as_the_api_is(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What `accord worker resolve` resolves reaches what listens for changes, as in the
    API workers: an event an active journey waits for becomes its signal, and the
    person's acquisition touch follows through the backlog its job advances."""
    url = f"sqlite:///{tmp_path / 'served.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("ACCORD_DATABASE_URL", url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    engine = create_db_engine(url)
    factory = create_session_factory(engine)
    try:
        with transaction(factory) as session:
            ws = workspaces.create_workspace(session, "served").workspace
            actor = Principal.cli(ws.id)
            definition = {
                "trigger": {"kind": "event", "event": "Checkout Started"},
                "steps": [{"id": "wait", "kind": "wait", "seconds": 3600}],
            }
            journey = journeys.create(session, actor, name="Cart", definition=definition)
            journeys.publish(session, actor, journey.id)
            accept(
                session,
                ws.id,
                [
                    {"type": "page", "userId": "u1", "messageId": "m1", "name": "Home"},
                    {
                        "type": "track",
                        "userId": "u1",
                        "messageId": "m2",
                        "event": "Checkout Started",
                    },
                ],
            )
        supervisor = Supervisor(["worker", "resolve"], name="resolver")
        supervisor.start()
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with factory() as session:
                    statuses = set(
                        session.scalars(select(Event.status).where(Event.workspace_id == ws.id))
                    )
                if statuses == {"resolved"}:
                    break
                time.sleep(0.2)
        finally:
            supervisor.stop()
        assert statuses == {"resolved"}
        with factory() as session:
            signals = session.scalars(
                select(JourneySignal.name).where(JourneySignal.workspace_id == ws.id)
            ).all()
            waiting = session.scalars(
                select(TouchBacklog.id).where(TouchBacklog.workspace_id == ws.id)
            ).all()
        assert len(waiting) >= 1  # kept by the batch; the job engine's consumer follows it
        acquisition_tasks.follow_all(factory)
        with factory() as session:
            touches = session.scalars(
                select(AcquisitionTouch.first_event_id).where(
                    AcquisitionTouch.workspace_id == ws.id
                )
            ).all()
        assert signals == ["Checkout Started"]
        assert len(touches) == 1
        assert touches[0] is not None
    finally:
        engine.dispose()
