"""Steps taken together in the database (``journeys/together.py``, PostgreSQL) leave
exactly what taking them one person at a time leaves: the same queued emails, step log
and waits, and the same people (a merged one, a path that depends on the person) left
to the one-by-one way."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import select

from accord.govern.access.principal import Principal
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.outreach.journeys import engine, service, together
from accord.outreach.journeys.models import JourneyEntry, JourneyStepLog
from accord.outreach.models import Send
from accord.profile.models import Profile
from tests.helpers import Committed

FLOW = {
    "trigger": {"kind": "manual"},
    "steps": [
        {"id": "hello", "kind": "email", "subject": "Hi {{ person.first_name }}", "text": "Hi"},
        {"id": "pause", "kind": "wait", "seconds": 60},
        {"id": "later", "kind": "email", "subject": "Again", "text": "Again", "purpose": "service"},
        {"id": "end", "kind": "exit"},
    ],
}


def _run(committed: Committed, one_by_one: bool, monkeypatch: pytest.MonkeyPatch) -> Any:
    ws = committed.workspace(f"W {uuid.uuid4()}")
    actor = Principal.cli(ws.workspace.id)
    with transaction(committed.factory) as session:
        people = [
            Profile(
                id=uuid.uuid4(),
                workspace_id=ws.workspace.id,
                traits={},
                stats={},
                email=f"p{i}@example.com" if i != 3 else None,
            )
            for i in range(6)
        ]
        session.add_all(people)
        session.flush()
        people[4].merged_into_id = people[5].id
        journey = service.create(session, actor, name="Flow", definition=FLOW)
        service.publish(session, actor, journey.id)
        now = utcnow()
        for p in people[:5]:
            engine.enter(session, journey, p.id, now)
        order = {p.id: i for i, p in enumerate(people)}
    if one_by_one:
        monkeypatch.setattr(together, "path_of", lambda definition, step: None)
    clock = [now]
    for _ in range(2):  # the first steps, then past the wait
        engine.advance(committed.factory, ws.workspace.id, engine.Wiring(), clock=lambda: clock[0])
        clock[0] = clock[0].replace(microsecond=0) + __import__("datetime").timedelta(minutes=2)
    monkeypatch.undo()
    with transaction(committed.factory) as session:
        entries = {
            e.id: (order[e.profile_id], e.status, e.step, e.reason is not None)
            for e in session.scalars(
                select(JourneyEntry).where(JourneyEntry.journey_id == journey.id)
            )
        }
        sends = sorted(
            (
                order[s.profile_id],
                s.step,
                s.address,
                s.status,
                s.purpose,
                s.promotional,
                s.source_key.split(":")[0],
                s.source_key.endswith(f":{s.step}"),
            )
            for s in session.scalars(select(Send).where(Send.journey_id == journey.id))
        )
        logs = sorted(
            (entries[x.entry_id][0], x.step, x.outcome, (x.detail or "").split("until")[0])
            for x in session.scalars(
                select(JourneyStepLog).where(JourneyStepLog.journey_id == journey.id)
            )
        )
    return sorted(entries.values()), sends, logs


def test_steps_taken_together_leave_what_one_by_one_leaves(
    committed: Committed, monkeypatch: pytest.MonkeyPatch
) -> None:
    alike = _run(committed, False, monkeypatch)
    one_by_one = _run(committed, True, monkeypatch)
    assert alike == one_by_one
    entries, sends, logs = alike
    assert entries[4][1:3] == ("exited", None)  # merged away
    assert [e[1:3] for e in entries[:4]] == [("done", None)] * 4
    assert len(sends) == 8
    assert ("hello", "queued") in {(x[1], x[2]) for x in logs}
