"""What a noted change starts: the people are always kept for the next evaluation, but a
job is started only when a segment of the workspace depends on what changed."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord import jobs as accord_jobs
from accord.analyze.segments import service
from accord.analyze.segments.models import SegmentDirty
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit import changes
from tests.analyze.helpers import ENGINE, People, segment


class Enqueued:
    def __init__(self) -> None:
        self.names: list[tuple[Any, ...]] = []

    def enqueue(self, name: str, *args: Any, at: object = None) -> None:
        self.names.append((name, *args))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture  # listed before ``session``: a session hears the listeners set before it opens
def heard(session_factory: sessionmaker[Session]) -> Iterator[tuple[Enqueued, Clock]]:
    jobs, clock = Enqueued(), Clock()
    listener = accord_jobs.evaluate_on_change(
        jobs,  # type: ignore[arg-type]
        accord_jobs.TopicsInUse(ttl=5, clock=clock),
    )
    changes.listen(session_factory, listener)
    yield jobs, clock
    changes.unlisten(session_factory, listener)


def waiting(session: Session, workspace_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(SegmentDirty.workspace_id == workspace_id)
    return int(session.scalar(stmt) or 0)


def test_a_change_no_segment_depends_on_starts_no_job_but_is_kept(
    heard: tuple[Enqueued, Clock], session: Session, workspace: ProvisionedWorkspace
) -> None:
    jobs, clock = heard
    ws = workspace.workspace.id
    ana = People(session, ws).person("ana", {"team": "a"})
    session.commit()
    jobs.names.clear()

    changes.note(session, ws, [ana], {"service"})  # a chat message, say
    session.commit()
    assert jobs.names == []  # the workspace has no segment at all
    assert waiting(session, ws) >= 1  # kept all the same

    segment(session, ws, {"kind": "trait", "field": "team", "op": "eq", "value": "a"})
    session.commit()
    clock.now += 6  # what this process knows of the workspace's segments is read again
    jobs.names.clear()
    changes.note(session, ws, [ana], {"service"})
    session.commit()
    assert jobs.names == []  # a segment on traits does not depend on service facts
    changes.note(session, ws, [ana], {"traits"})
    session.commit()
    assert jobs.names == [("segments.drain", ws)]
    jobs.names.clear()
    changes.note(session, ws, [ana], {"*"})  # a merge: every segment
    session.commit()
    assert jobs.names == [("segments.drain", ws)]


def test_a_new_segment_hears_of_changes_noted_before_this_process_knew_of_it(
    heard: tuple[Enqueued, Clock], session: Session, workspace: ProvisionedWorkspace
) -> None:
    jobs, _ = heard
    ws = workspace.workspace.id
    people = People(session, ws)
    ana = people.person("ana", {"team": "a"})
    session.commit()
    changes.note(session, ws, [ana], {"service"})  # the process knows of no segment yet
    session.commit()
    unhappy = segment(session, ws, {"kind": "service", "fact": "open_conversation"})
    session.commit()
    # Created, built, and then a conversation opened while the change committed: the
    # waiting change is what the minutely drain evaluates.
    jobs.names.clear()
    taken, _ = service.drain(session, ENGINE, ws)
    assert taken >= 1
    assert waiting(session, ws) == 0
    assert unhappy.topics == ["service"]


def test_a_drain_of_changes_no_segment_depends_on_evaluates_nothing(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ws = workspace.workspace.id
    ana = People(session, ws).person("ana", {"team": "a"})
    segment(session, ws, {"kind": "trait", "field": "team", "op": "eq", "value": "a"})
    service.note_dirty(session, ws, {ana}, {"service"})
    taken, outcome = service.drain(session, ENGINE, ws)
    assert (taken, outcome.segments) == (1, 0)
    service.note_dirty(session, ws, {ana}, {"traits"})
    taken, outcome = service.drain(session, ENGINE, ws)
    assert (taken, outcome.segments) == (1, 1)


def test_asks_for() -> None:
    assert not service.asks_for(frozenset(), {"*"})
    assert service.asks_for({"traits"}, {"*"})
    assert service.asks_for({"*"}, {"service"})
    assert service.asks_for({"traits", "service"}, {"service"})
    assert not service.asks_for({"traits"}, {"service", "consent"})
