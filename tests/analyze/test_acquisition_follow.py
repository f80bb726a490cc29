"""Touches that follow resolution (the resolver process): each committed batch keeps its
change in the backlog and starts a job; the job advances every waiting change at once.
Whatever the batches (new people, out-of-order events, an order, a merge, a split) and
however many wait for one job, the rows end as a full computation leaves them."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord import jobs as accord_jobs
from accord.analyze.acquisition import tasks, touches
from accord.analyze.acquisition.models import AcquisitionTouch, TouchBacklog
from accord.analyze.acquisition.repository import TouchRepository
from accord.collect import touch as touch_bits
from accord.collect.models import Event
from accord.kit import changes
from accord.kit.db import create_session_factory, transaction
from accord.profile.models import Profile
from tests.analyze.helpers import People, at
from tests.analyze.test_acquisition_touches import _kinds
from tests.helpers import Committed


def _rows(session: Session, workspace_id: uuid.UUID) -> dict[uuid.UUID, dict[str, Any]]:
    rows = session.scalars(
        select(AcquisitionTouch).where(AcquisitionTouch.workspace_id == workspace_id)
    )
    return {
        r.profile_id: {
            c.key: getattr(r, c.key)
            for c in AcquisitionTouch.__table__.columns
            if c.key != "computed_at"
        }
        for r in rows
    }


def _waiting(factory: sessionmaker[Session], workspace_id: uuid.UUID) -> int:
    with factory() as session:
        stmt = select(func.count()).where(TouchBacklog.workspace_id == workspace_id)
        return int(session.scalar(stmt) or 0)


@contextmanager
def _kept(committed: Committed, name: str) -> Iterator[tuple[sessionmaker[Session], uuid.UUID]]:
    """Sessions whose changes are kept in the backlog, as the resolver process keeps them
    (no job is started: a test runs ``tasks.follow``), and a new workspace."""
    factory = create_session_factory(committed.factory.kw["bind"])
    listener = touches.listener(lambda workspace_id: None)
    changes.listen(factory, listener)
    try:
        yield factory, committed.workspace(f"{name} {uuid.uuid4()}").workspace.id
    finally:
        changes.unlisten(factory, listener)


def test_touches_kept_with_each_batch_follow_as_a_full_computation(committed: Committed) -> None:
    bind = committed.factory.kw["bind"]
    factory = create_session_factory(bind)
    started: list[uuid.UUID] = []
    listener = touches.listener(started.append)
    changes.listen(factory, listener)
    ws = committed.workspace(f"follow {uuid.uuid4()}").workspace.id
    rng = random.Random(7)
    try:
        with factory() as session:
            people = People(session, ws)
            for batch in range(12):
                sent = []
                for _ in range(rng.randint(2, 6)):
                    user = f"u{rng.randrange(4)}"
                    when = at(days=rng.choice([60, 45, 30, 10, 5, 1]))
                    sent.append(_kinds(rng.randrange(7), when, user))
                    sent.append(
                        {
                            "type": "page",
                            "anonymousId": f"a{rng.randrange(3)}",
                            "timestamp": when,
                            "context": {"page": {"url": "https://shop.example/"}},
                        }
                    )
                if batch == 5:  # an order moves the last touch's cut-off
                    sent.append(
                        {
                            "type": "track",
                            "userId": "u1",
                            "event": "Order Completed",
                            "timestamp": at(days=20),
                            "properties": {"order_id": "O-1", "total": 10},
                        }
                    )
                if batch == 8:  # an anonymous visitor signs in: two people become one
                    sent.append({"type": "identify", "anonymousId": "a0", "userId": "u2"})
                people.send(*sent)
                session.commit()
                assert started[-1] == ws  # a job is started once the batch has committed
                if batch % 3 == 2:  # now and then a job runs; between, changes wait
                    assert _waiting(factory, ws) > 0
                    tasks.follow(factory, ws)
                    assert _waiting(factory, ws) == 0
        tasks.follow_all(factory)
        with factory() as session:
            assert _waiting(factory, ws) == 0
            followed = _rows(session, ws)
            live = set(
                session.scalars(
                    select(Profile.id).where(
                        Profile.workspace_id == ws, Profile.merged_into_id.is_(None)
                    )
                )
            )
        assert set(followed) == live  # the absorbed person's row went with the merge
        with transaction(committed.factory) as session:
            touches.refresh(session, ws, live)
        with factory() as session:
            assert _rows(session, ws) == followed
    finally:
        changes.unlisten(factory, listener)


def test_people_a_batch_made_follow_from_its_events_alone(committed: Committed) -> None:
    """A person resolution has just made has no events but the batch's: their row is
    weighed from those alone, not read from all their events in SQL; only someone known
    by a click alone, or with an order, is computed in full. Whatever the kinds of their
    events, the rows are those of a full computation."""
    rng = random.Random(11)
    sent: list[dict[str, Any]] = []
    for n in range(24):
        user = f"new-{n}"
        kinds = [rng.randrange(7) for _ in range(rng.randint(1, 4))]
        if n == 0:
            kinds = [5, 5]  # clicks alone: only all their events tell
        if n == 1:
            kinds = [4]  # no touch at all
        sent.extend(_kinds(k, at(days=rng.choice([30, 20, 10, 10, 2])), user) for k in kinds)
    sent.append(
        {
            "type": "track",
            "userId": "new-2",
            "event": "Order Completed",
            "timestamp": at(days=5),
            "properties": {"order_id": "O-born", "total": 10},
        }
    )
    picked: list[uuid.UUID] = []
    original = TouchRepository.pick

    def pick(self: TouchRepository, workspace_id: uuid.UUID, ids: Any) -> Any:
        picked.extend(ids)
        return original(self, workspace_id, ids)

    with _kept(committed, "born") as (factory, ws):
        with factory() as session:
            people = People(session, ws)
            people.send(*sent)
            session.commit()
            made = {f"new-{n}": people.id(f"new-{n}") for n in range(24)}
        TouchRepository.pick = pick  # type: ignore[method-assign]
        try:
            tasks.follow(factory, ws)
        finally:
            TouchRepository.pick = original  # type: ignore[method-assign]
        assert set(picked) == {made["new-0"], made["new-2"]}
        with factory() as session:
            followed = _rows(session, ws)
        assert set(followed) == set(made.values())
        assert followed[made["new-1"]]["first_event_id"] is None
        with transaction(committed.factory) as session:
            touches.refresh(session, ws, list(made.values()))
        with factory() as session:
            assert _rows(session, ws) == followed


def test_a_failed_follow_leaves_the_changes_waiting(committed: Committed) -> None:
    bind = committed.factory.kw["bind"]
    factory = create_session_factory(bind)
    listener = touches.listener(lambda workspace_id: None)
    changes.listen(factory, listener)
    ws = committed.workspace(f"retry {uuid.uuid4()}").workspace.id
    try:
        with factory() as session:
            People(session, ws).send(
                {
                    "type": "page",
                    "anonymousId": "v",
                    "context": {"page": {"url": "https://x.example/"}},
                }
            )
            session.commit()
        original = touches.advance

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise RuntimeError("lost the database")

        touches.advance = broken  # type: ignore[assignment]
        try:
            tasks.follow(factory, ws)
        except RuntimeError:
            pass
        finally:
            touches.advance = original  # type: ignore[assignment]
        with factory() as session:
            assert _waiting(factory, ws) == 1  # rolled back with the job: kept for the next
        tasks.follow_all(factory)
        with factory() as session:
            assert _waiting(factory, ws) == 0
            assert len(_rows(session, ws)) == 1
    finally:
        changes.unlisten(factory, listener)


def test_changes_committed_before_a_job_is_due_share_it() -> None:
    class Enqueued:
        def __init__(self) -> None:
            self.calls: list[tuple[str, uuid.UUID, datetime]] = []

        def enqueue(self, name: str, workspace_id: uuid.UUID, *, at: datetime) -> None:
            self.calls.append((name, workspace_id, at))

    now = [100.0]
    wall = datetime(2026, 12, 1, tzinfo=UTC)
    jobs = Enqueued()
    soon = accord_jobs.Soon(
        jobs,  # type: ignore[arg-type]
        "acquisition.follow",
        after=0.5,
        clock=lambda: now[0],
        wall=lambda: wall + timedelta(seconds=now[0] - 100),
    )
    one, two = uuid.uuid4(), uuid.uuid4()
    soon(one)
    now[0] = 100.3
    soon(one)  # the job started at 100.0 is due at 100.5: it takes this change too
    soon(two)  # another workspace has a job of its own
    now[0] = 100.5
    soon(one)  # the first job is due: it may be running, so a new one follows
    assert jobs.calls == [
        ("acquisition.follow", one, wall + timedelta(seconds=0.5)),
        ("acquisition.follow", two, wall + timedelta(seconds=0.8)),
        ("acquisition.follow", one, wall + timedelta(seconds=1.0)),
    ]


def test_events_weighed_as_no_touch_are_not_read_back(committed: Committed) -> None:
    """Events are weighed as they are accepted (``events.touch``). A person's new events
    that are no touch are not read back: the backlog only names the people who had some
    (not every new event was a click on a tracked link, which matters to someone known
    by clicks alone). Whatever the mix of events, the rows are those of a full
    computation."""
    rng = random.Random(5)

    def batch() -> list[dict[str, Any]]:
        sent: list[dict[str, Any]] = []
        for n in range(12):
            kinds = [rng.randrange(7) for _ in range(rng.randint(3, 8))]
            if n == 0:
                kinds = [5, 5, 4, 1]  # clicks, and events that are no touch
            if n == 1:
                kinds = [4, 1, 4]  # no touch at all
            if n == 2:
                kinds = [5, 5]  # clicks alone
            when = at(days=rng.choice([30, 20, 10, 2]))
            sent.extend(_kinds(k, when, f"mix-{n}") for k in kinds)
        return sent

    read: list[uuid.UUID] = []
    original = TouchRepository.candidates

    def candidates(self: TouchRepository, ids: Any) -> Any:
        read.extend(ids)
        return original(self, ids)

    with _kept(committed, "weighed") as (factory, ws):
        with factory() as session:
            people = People(session, ws)
            people.send(*batch())  # people made by the batch
            session.commit()
            tasks.follow(factory, ws)
            first = people.n
            people.send(*batch())  # their rows advanced
            session.commit()
        TouchRepository.candidates = candidates  # type: ignore[method-assign]
        try:
            tasks.follow(factory, ws)
        finally:
            TouchRepository.candidates = original  # type: ignore[method-assign]
        with factory() as session:
            followed = _rows(session, ws)
            weighed = session.execute(
                select(Event.id, Event.profile_id, Event.touch, Event.message_id).where(
                    Event.workspace_id == ws
                )
            ).all()
        second = {e.id: e for e in weighed if int(e.message_id.split("-")[1]) > first}
        touched = {i for i, e in second.items() if e.touch & touch_bits.TOUCH}
        others = set(second) - touched
        assert touched
        assert others
        assert touched <= set(read)  # every touch is weighed
        assert not others & set(read)
        with transaction(committed.factory) as session:
            touches.refresh(session, ws, list(followed))
        with factory() as session:
            assert _rows(session, ws) == followed
