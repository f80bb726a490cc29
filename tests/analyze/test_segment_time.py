"""Membership that changes with time alone, on both databases: a windowed condition flips
exactly when its window closes (the clock frozen, then moved), its timer survives a
restart, and a sweep schedules the next one; merges and splits evaluate the people
involved."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.segments import service
from accord.analyze.segments.models import SegmentChange, SegmentTimer
from accord.analyze.segments.repository import SegmentRepository
from accord.kit import changes
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.resolve import splits
from accord.resolve.models import Merge
from tests.analyze.helpers import ENGINE, NOW, People, at, segment
from tests.helpers import Committed

BROWSING = {
    "kind": "event",
    "name": "Product Viewed",
    "count": {"op": "gte", "value": 3},
    "within": {"days": 7},
}
LAPSED = {
    "kind": "event",
    "name": "Order Completed",
    "count": {"op": "eq", "value": 0},
    "within": {"days": 30},
}


def changes_of(session: Session, segment_id: uuid.UUID) -> list[tuple[str, Any]]:
    rows = session.scalars(
        select(SegmentChange)
        .where(SegmentChange.segment_id == segment_id)
        .order_by(SegmentChange.at)
    )
    return [(r.kind, r.at) for r in rows]


def test_a_window_closing_flips_membership_exactly_then_and_survives_a_restart(
    committed: Committed,
) -> None:
    ws = committed.workspace("Timers").workspace.id
    scheduled: list[tuple[uuid.UUID, Any]] = []
    engine = service.Engine(
        facts=ENGINE.facts, schedule_sweep=lambda w, t: scheduled.append((w, t))
    )
    with transaction(committed.factory) as session:
        p = People(session, ws)
        p.person("ana")
        p.person("ben")
        for days in (6, 4, 1):
            p.track("ana", "Product Viewed", at(days=days, minutes=30))
        p.track("ben", "Order Completed", at(days=29), order_id="B1", total=10)
        browsing = segment(session, ws, BROWSING, name="Browsing")
        lapsed = segment(session, ws, LAPSED, name="Lapsed")
        service.build(session, engine, browsing, now=NOW)
        service.build(session, engine, lapsed, now=NOW)
        ana, ben = p.id("ana"), p.id("ben")
        ids = (browsing.id, lapsed.id)
    # Ana's oldest view leaves the window 7 days after it; Ben lapses 30 days after his
    # order. Each is a durable timer, and one sweep was asked for, at the earliest.
    ana_due = at(days=6, minutes=30) + timedelta(days=7)
    ben_due = at(days=29) + timedelta(days=30)
    assert ana_due < ben_due
    with committed.factory() as session:
        timers = {
            (t.segment_id, t.profile_id): t.due_at for t in session.scalars(select(SegmentTimer))
        }
    assert timers == {(ids[0], ana): ana_due, (ids[1], ben): ben_due}
    assert scheduled == [(ws, ana_due)]

    # A restart: a new engine and sessions on the same database.
    committed.factory.kw["bind"].dispose()
    restarted = create_session_factory(create_db_engine(committed.url))
    with transaction(restarted) as session:
        service.sweep(session, engine, ws, now=ana_due - timedelta(milliseconds=1))
        assert changes_of(session, ids[0]) == [("entered", NOW)]
        service.sweep(session, engine, ws, now=ana_due)
    with transaction(restarted) as session:
        repo = SegmentRepository.from_session(session)
        assert repo.member_ids(ids[0]) == set()
        # Recorded at the moment the window closed.
        assert changes_of(session, ids[0]) == [("entered", NOW), ("exited", ana_due)]
        exited = session.scalars(
            select(SegmentChange).where(
                SegmentChange.segment_id == ids[0], SegmentChange.kind == "exited"
            )
        ).one()
        assert exited.cause == "time: a window closed"
        assert exited.detail is not None
        assert "Product Viewed" in exited.detail
        # The sweep asked for the next one: Ben's.
        assert scheduled[-1] == (ws, ben_due)
        assert repo.member_ids(ids[1]) == {ana}
        # Run late (the engine was down): recorded at its own time all the same.
        service.sweep(session, engine, ws, now=ben_due + timedelta(hours=2))
    with restarted() as session:
        repo = SegmentRepository.from_session(session)
        assert repo.member_ids(ids[1]) == {ana, ben}
        assert ("entered", ben_due) in changes_of(session, ids[1])
        # Left: when Ana's next view leaves the window (a count that can only fall).
        left = {(t.segment_id, t.due_at) for t in session.scalars(select(SegmentTimer))}
        assert left == {(ids[0], at(days=4, minutes=30) + timedelta(days=7))}
    restarted.kw["bind"].dispose()


def test_changes_noted_by_resolution_evaluate_only_the_segments_they_touch(
    session: Session, workspace: Any, session_factory: Any
) -> None:
    ws = workspace.workspace.id
    heard: list[changes.Changes] = []
    changes.listen(session_factory, heard.append)
    try:
        with session_factory() as s:
            p = People(s, ws)
            p.person("ana", {"plan": "VIP"})
            vip = segment(
                s, ws, {"kind": "trait", "field": "plan", "op": "eq", "value": "VIP"}, name="VIP"
            )
            browsing = segment(s, ws, BROWSING, name="Browsing")
            s.commit()
            heard.clear()
            for days in (3, 2, 1):
                p.track("ana", "Product Viewed", at(days=days))
            s.commit()
            assert len(heard) == 1
            change = heard[0]
            assert change.profiles == {p.id("ana")}
            assert change.topics == {"activity", "event:Product Viewed"}
            out = service.evaluate(s, ENGINE, ws, change.profiles, change.topics, now=NOW)
            # Only the segment on those events is evaluated: no trait changed.
            assert out.segments == 1
            repo = SegmentRepository.from_session(s)
            assert repo.member_ids(browsing.id) == {p.id("ana")}
            assert repo.member_ids(vip.id) == set()
            heard.clear()
            p.person("ana", {"plan": "VIP", "city": "Oslo"})
            s.commit()
            assert {"traits", "identifiers"} <= heard[0].topics
            out = service.evaluate(s, ENGINE, ws, heard[0].profiles, heard[0].topics, now=NOW)
            assert out.segments == 1
            assert repo.member_ids(vip.id) == {p.id("ana")}
            only_events = service.evaluate(
                s, ENGINE, ws, change.profiles, {"event:Order Completed"}, now=NOW
            )
            assert only_events.segments == 0
            s.rollback()
    finally:
        changes.unlisten(session_factory, heard.append)


def test_a_merge_moves_membership_and_a_split_gives_it_back(
    session: Session, workspace: Any
) -> None:
    ws = workspace.workspace.id
    p = People(session, ws)
    p.person("ana", {"email": "ana@example.com"})
    for days in (3, 2, 1):
        p.send(
            {
                "type": "track",
                "anonymousId": "anon-1",
                "event": "Product Viewed",
                "timestamp": at(days=days),
            }
        )
    browsing = segment(session, ws, BROWSING, name="Browsing")
    service.build(session, ENGINE, browsing, now=NOW)
    repo = SegmentRepository.from_session(session)
    (visitor,) = repo.member_ids(browsing.id)
    ana = p.id("ana")
    assert visitor != ana
    heard: list[changes.Changes] = []
    session.info[changes.LISTENERS] = [heard.append]
    try:
        # The visitor signs in as Ana: the two people merge, and both are noted.
        p.send(
            {"type": "identify", "userId": "ana", "anonymousId": "anon-1", "timestamp": at(hours=1)}
        )
        session.commit()
        involved = set().union(*(h.profiles for h in heard))
        assert {ana, visitor} <= involved
        assert changes.EVERYTHING in heard[-1].topics
        service.evaluate(session, ENGINE, ws, involved, {changes.EVERYTHING}, now=NOW)
        merge = session.scalars(select(Merge).where(Merge.workspace_id == ws)).one()
        assert repo.member_ids(browsing.id) == {merge.survivor_id}
        if merge.absorbed_id == visitor:
            left = session.scalars(
                select(SegmentChange).where(
                    SegmentChange.profile_id == visitor, SegmentChange.kind == "exited"
                )
            ).one()
            assert "merged into another person" in left.cause
        # Split: the absorbed side takes its events back, and its membership with them.
        heard.clear()
        splits.split(session, ws, merge.id, "tester")
        session.commit()
        involved = set().union(*(h.profiles for h in heard))
        service.evaluate(session, ENGINE, ws, involved, {changes.EVERYTHING}, now=NOW)
        assert repo.member_ids(browsing.id) == {visitor}
    finally:
        session.info.pop(changes.LISTENERS, None)


def test_a_service_window_closes_on_time_too(session: Session, workspace: Any) -> None:
    from accord.inbox.models import Conversation

    ws = workspace.workspace.id
    p = People(session, ws)
    ana = p.person("ana")
    rated = at(days=20)
    session.add(
        Conversation(
            workspace_id=ws,
            number=1,
            profile_id=ana,
            status="resolved",
            channel="chat",
            last_channel="chat",
            created_at=at(days=21),
            last_message_at=at(days=21),
            updated_at=NOW,
            csat_score=1,
            csat_at=rated,
        )
    )
    session.flush()
    unhappy = segment(
        session,
        ws,
        {"kind": "service", "fact": "csat", "op": "lte", "value": 2, "within": {"days": 30}},
        name="Unhappy",
    )
    service.build(session, ENGINE, unhappy, now=NOW)
    repo = SegmentRepository.from_session(session)
    assert repo.member_ids(unhappy.id) == {ana}
    (timer,) = session.scalars(select(SegmentTimer)).all()
    assert timer.due_at == rated + timedelta(days=30)
    service.sweep(session, ENGINE, ws, now=timer.due_at)
    assert repo.member_ids(unhappy.id) == set()
    assert changes_of(session, unhappy.id)[-1] == ("exited", rated + timedelta(days=30))
