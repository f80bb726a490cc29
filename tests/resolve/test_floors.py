"""The resolver looks for a workspace's pending events from a floor below the oldest its
last batch read (``resolve/floors.py``), and from the start often enough to find what
a floor misses: an event whose id was made long before it committed, a failed event
retried, a workspace it has not seen."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import transaction
from accord.kit.ids import id_at, new_id, time_of
from accord.resolve.floors import Floors
from accord.resolve.worker import drain
from tests.helpers import leading_columns, plans_of, scans_of
from tests.resolve.test_batches import accept

EVENTS = 200_000


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_floor_lies_a_margin_below_the_oldest_event_read_and_only_rises() -> None:
    clock = Clock()
    floors = Floors(clock=clock, margin=2.0, full_every=10.0, idle_every=1.0)
    ws, other = uuid.uuid4(), uuid.uuid4()
    assert floors.full_due()  # nothing known: from the start
    floors.looked_in_full([ws])
    assert floors.after(ws) is None  # the next batch reads from the start
    assert floors.full_due()  # still no floor
    oldest = new_id()
    floors.read(ws, oldest)
    floor = floors.after(ws)
    assert floor is not None
    assert time_of(floor) == pytest.approx(time_of(oldest) - 2.0, abs=0.002)
    assert floor < oldest
    assert floors.known() == {ws: floor}
    # An older batch (read from the start after a look) never lowers it, a newer raises.
    floors.read(ws, id_at(time_of(oldest) - 60))
    assert floors.after(ws) == floor
    newer = id_at(time_of(oldest) + 5)
    floors.read(ws, newer)
    assert floors.after(ws) == id_at(time_of(newer) - 2.0)
    # From the start: every ``full_every`` seconds, every ``idle_every`` while idle.
    assert not floors.full_due()
    assert not floors.full_due(idle=True)
    clock.now += 1.0
    assert not floors.full_due()
    assert floors.full_due(idle=True)
    clock.now += 9.0
    assert floors.full_due()
    # A look from the start sends the workspaces it found back to the start, and leaves
    # the floors of the others, which still hold.
    floors.read(other, newer)
    floors.looked_in_full([ws])
    assert floors.after(ws) is None
    assert floors.after(other) is not None
    assert not floors.full_due()
    # A workspace without a batch for a minute is forgotten: not probed on every pass.
    clock.now += 59.0
    floors.read(ws, newer)
    assert set(floors.known()) == {ws, other}
    clock.now += 2.0
    assert set(floors.known()) == {ws}
    assert floors.after(other) is None


def _pending(factory: sessionmaker[Session], workspace_id: uuid.UUID) -> int:
    with factory() as session:
        return int(
            session.scalar(
                select(func.count())
                .select_from(Event)
                .where(Event.workspace_id == workspace_id, Event.status == "pending")
            )
            or 0
        )


def _pages(prefix: str, count: int) -> list[dict[str, Any]]:
    return [
        {"type": "page", "anonymousId": f"{prefix}-{i % 3}", "messageId": f"{prefix}-{i}"}
        for i in range(count)
    ]


def test_events_below_the_floors_are_found_by_the_look_from_the_start(
    session_factory: sessionmaker[Session],
) -> None:
    clock = Clock()
    floors = Floors(clock=clock, margin=2.0, full_every=10.0, idle_every=1.0)
    with transaction(session_factory) as session:
        ws = workspaces.create_workspace(session, "floors").workspace
        accept(session, ws.id, _pages("first", 5))
    assert drain(session_factory, batch=100, floors=floors) == 5
    assert floors.after(ws.id) is not None
    looked = floors.full_at
    # New events above the floor: found by the look above it, none from the start.
    with transaction(session_factory) as session:
        accept(session, ws.id, _pages("second", 4))
    assert drain(session_factory, batch=100, floors=floors) == 4
    assert floors.full_at == looked
    # An event committed long after its id was made (a minute): below the floor.
    with transaction(session_factory) as session:
        accept(session, ws.id, _pages("late", 1))
        session.execute(
            update(Event)
            .where(Event.workspace_id == ws.id, Event.message_id == "late-0")
            .values(id=id_at(time.time() - 60))
        )
    # Too soon for a look from the start: the floors alone do not see it.
    assert drain(session_factory, batch=100, floors=floors) == 0
    assert _pending(session_factory, ws.id) == 1
    # Once a second has passed with nothing above the floors, a look from the start.
    clock.now += 1.0
    assert drain(session_factory, batch=100, floors=floors) == 1
    assert floors.full_at == clock.now
    assert _pending(session_factory, ws.id) == 0
    # That batch read from the start: the floor went down to the late event. The next
    # batch of new events raises it again.
    with session_factory() as session:
        retried = session.scalar(select(Event.id).where(Event.message_id == "late-0"))
    assert retried is not None
    assert floors.known()[ws.id] < retried
    with transaction(session_factory) as session:
        accept(session, ws.id, _pages("rising", 2))
    assert drain(session_factory, batch=100, floors=floors) == 2
    assert floors.known()[ws.id] > retried
    # A failed event retried keeps its id, below the floor (made a minute ago): found
    # likewise.
    with transaction(session_factory) as session:
        session.execute(update(Event).where(Event.id == retried).values(status="failed"))
    with transaction(session_factory) as session:
        assert EventRepository.from_session(session).retry_failed(ws.id, None) == 1
    # New events above the floor are resolved at once; the retried one waits for the
    # next look from the start, a second after the last.
    with transaction(session_factory) as session:
        accept(session, ws.id, _pages("third", 2))
    clock.now += 0.5
    assert drain(session_factory, batch=100, floors=floors) == 2
    assert _pending(session_factory, ws.id) == 1
    clock.now += 0.5
    assert drain(session_factory, batch=100, floors=floors) == 1
    assert _pending(session_factory, ws.id) == 0
    # A workspace the resolver has not seen: found by a look from the start.
    with transaction(session_factory) as session:
        new = workspaces.create_workspace(session, "floors, new").workspace
        accept(session, new.id, _pages("new", 3))
    clock.now += 1.0
    assert drain(session_factory, batch=100, floors=floors) == 3
    assert floors.after(new.id) is not None


def test_the_looks_above_a_floor_start_at_it_in_the_pending_index(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    """The probe for pending events above a floor and the batch's read above it seek
    the pending index by workspace and id: the resolved events before the floor, whose
    dead entries stay in that index until a vacuum, are never stepped over."""
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    start = time.time() - 3600
    session.execute(
        text(
            "INSERT INTO events (id, workspace_id, message_id, type, channel, source,"
            " identifiers, timestamp, received_at, status)"
            " SELECT (lpad(to_hex(:ms + i), 12, '0') || '7000' || '8000'"
            " || lpad(to_hex(i), 12, '0'))::uuid, :ws, 'm-' || i, 'page', 'web', 'test',"
            " '[]', now(), now(), CASE WHEN i <= :n - 50 THEN 'resolved' ELSE 'pending' END"
            " FROM generate_series(1, :n) AS i"
        ),
        {"ws": ws, "n": EVENTS, "ms": int(start * 1000)},
    )
    floor = id_at(start + (EVENTS - 100) / 1000)
    events = EventRepository.from_session(session)

    def from_events(statement: str) -> bool:
        return "FROM events" in statement

    calls = [
        lambda: events.pending_above({ws: floor}),
        lambda: events.pending(ws, 2000, after=floor),
    ]
    for call in calls:
        for plan in plans_of(session, call, from_events):
            reads = scans_of(plan)
            assert all(s["Node Type"] != "Seq Scan" for s in reads), plan
            [index] = [s for s in reads if s.get("Index Name")]
            assert index["Index Name"] == "ix_events_pending", plan
            assert leading_columns(session, index) == ["workspace_id", "id"], plan
    assert events.pending_above({ws: floor}) == [ws]
    assert len(events.pending(ws, 2000, after=floor)) == 50
    assert events.pending_above({ws: id_at(time.time() + 60)}) == []
