"""What a transaction's changes tell their listeners: the people and topics, and for the
people whose change was exactly some new events, those events."""

from __future__ import annotations

import uuid

from sqlalchemy import create_engine

from accord.kit import changes
from accord.kit.db import create_session_factory


def test_new_events_are_told_only_for_people_whose_change_was_exactly_them() -> None:
    engine = create_engine("sqlite://")
    factory = create_session_factory(engine)
    heard: list[changes.Changes] = []
    recorded: list[changes.Changes] = []
    changes.listen(
        factory,
        changes.Listener(committed=heard.append, record=lambda _s, c: recorded.append(c)),
    )
    ws = uuid.uuid4()
    ana, bo, cy = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    e1, e2, e3 = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    with factory() as session:
        session.begin()
        changes.note(session, ws, [ana, bo], {"activity"}, events=[(ana, e1), (bo, e2)])
        changes.note(session, ws, [ana, None], {"activity"}, events=[(ana, e3), (None, e3)])
        changes.note(session, ws, [bo, cy], {changes.EVERYTHING})  # a merge, say
        session.commit()
    assert len(heard) == 1
    assert recorded == heard
    told = heard[0]
    assert told.profiles == {ana, bo, cy}
    assert told.topics == {"activity", changes.EVERYTHING}
    assert told.new_events(ana) == {e1, e3}
    assert told.new_events(bo) is None  # more than its new event changed
    assert told.new_events(cy) is None

    # A rolled-back transaction tells nothing.
    with factory() as session:
        session.begin()
        changes.note(session, ws, [ana], {"activity"}, events=[(ana, e1)])
        session.rollback()
    assert len(heard) == 1
