"""The resolver leaves the machine to accepting during a burst (``worker.Pacing``)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.govern.workspaces import service as workspaces
from accord.kit.db import transaction
from accord.kit.ids import id_at, new_id
from accord.resolve.worker import Pacing, drain
from tests.resolve.test_batches import accept


def _recorded(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Each rest a drain asks of its pacing: (seconds rested, seconds behind)."""
    calls: list[tuple[float, float]] = []
    original = Pacing.rest_after

    def recorded(
        self: Pacing,
        factory: sessionmaker[Session],
        took: float,
        stop: threading.Event,
        behind_for: float = 0.0,
    ) -> float:
        rested = original(self, factory, took, stop, behind_for)
        calls.append((rested, behind_for))
        return rested

    monkeypatch.setattr(Pacing, "rest_after", recorded)
    return calls


def _pages(prefix: str, count: int) -> list[dict[str, object]]:
    return [
        {"type": "page", "anonymousId": f"{prefix}{i % 2}", "messageId": f"{prefix}-{i}"}
        for i in range(count)
    ]


def test_ids_made_from_a_moment_on_sort_after_its_floor() -> None:
    before = id_at(time.time() - 1)
    made = new_id()
    assert before < made < id_at(time.time() + 1)
    assert id_at(0).int >> 80 == 0


def test_arrivals_are_counted_across_workspaces_up_to_a_cap(
    session_factory: sessionmaker[Session],
) -> None:
    minute_ago = id_at(time.time() - 60)
    with session_factory() as session:
        before = EventRepository.from_session(session).made_since(minute_ago, cap=10_000)
    with transaction(session_factory) as session:
        one = workspaces.create_workspace(session, "arrivals one").workspace
        two = workspaces.create_workspace(session, "arrivals two").workspace
        accept(session, one.id, _pages("one", 3))
        accept(session, two.id, _pages("two", 4))
    with session_factory() as session:
        events = EventRepository.from_session(session)
        assert events.made_since(minute_ago, cap=10_000) == before + 7
        assert events.made_since(minute_ago, cap=before + 5) == before + 5
        assert events.made_since(id_at(time.time() + 60), cap=10_000) == 0


def test_the_resolver_rests_only_while_a_burst_is_accepted(
    session_factory: sessionmaker[Session],
) -> None:
    with transaction(session_factory) as session:
        ws = workspaces.create_workspace(session, "burst").workspace
        accept(session, ws.id, _pages("burst", 70))
    # 70 events in the last minute: more than one a second, fewer than 1,000.
    burst = Pacing(yield_above=1, window=60, look=0.001, rest=4.0, max_rest=1.0)
    calm = Pacing(yield_above=1000, window=60, look=0.001)
    never = Pacing(yield_above=0, window=60, look=0.001)
    assert burst.bursting(session_factory)
    assert not calm.bursting(session_factory)
    assert not never.bursting(session_factory)
    going = threading.Event()
    # Rests four times as long as the batch took, up to the longest rest.
    assert burst.rest_after(session_factory, 0.01, going) == pytest.approx(0.04)
    assert burst.rest_after(session_factory, 10.0, going) == pytest.approx(1.0)
    assert calm.rest_after(session_factory, 0.01, going) == 0
    assert never.rest_after(session_factory, 0.01, going) == 0
    stopping = threading.Event()
    stopping.set()
    assert burst.rest_after(session_factory, 0.01, stopping) == 0


def test_a_paced_drain_rests_after_full_batches_and_resolves_everything(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with transaction(session_factory) as session:
        ws = workspaces.create_workspace(session, "paced").workspace
        accept(session, ws.id, _pages("paced", 5))
        accept(session, ws.id, _pages("paced-more", 60))
    pacing = Pacing(yield_above=1, window=60, look=0.001, max_rest=0.005)
    calls = _recorded(monkeypatch)
    assert drain(session_factory, batch=40, pacing=pacing) == 65
    # Batches of 40 and 25: a rest after the full one, none after the last.
    assert len(calls) == 1
    assert all(rested > 0 for rested, _ in calls)
    with session_factory() as session:
        left = session.scalar(
            select(func.count())
            .select_from(Event)
            .where(Event.workspace_id == ws.id, Event.status == "pending")
        )
    assert left == 0


def test_a_burst_that_lasts_is_resolved_without_rest(
    session_factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Arrivals above the threshold while full batches follow one another for longer than
    ``behind``: a steady load, resolved without rests."""
    with transaction(session_factory) as session:
        ws = workspaces.create_workspace(session, "lasting").workspace
        accept(session, ws.id, _pages("lasting", 70))
    going = threading.Event()
    pacing = Pacing(yield_above=1, window=60, look=0.001, max_rest=0.02, behind=5)
    assert pacing.rest_after(session_factory, 0.01, going, 4.9) == pytest.approx(0.02)
    assert pacing.rest_after(session_factory, 0.01, going, 5.0) == 0
    # In a drain: the full batches' rests stop once they have come for ``behind`` s.
    calls = _recorded(monkeypatch)
    short = Pacing(yield_above=1, window=60, look=0.001, max_rest=0.03, behind=0.05)
    assert drain(session_factory, batch=10, pacing=short) == 70
    behind = [behind_for for _, behind_for in calls]
    assert len(behind) == 7  # every batch full
    assert behind == sorted(behind)  # one run of full batches, measured from its first
    assert behind[-1] >= 0.05  # the last ones came after ``behind``: no rest for them
    assert calls[-1][0] == 0
