"""Events whose identifiers all belong to one person already are settled together
(``resolve/known.py``), ahead of the batch's others; the people, events and values are the
same as when every event goes the full way."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.govern.workspaces import service as workspaces
from accord.profile.models import Profile
from accord.resolve import service as resolve
from accord.resolve.context import WorkspaceContext
from accord.resolve.known import settle_known
from accord.resolve.models import Identifier, IdentityLink
from tests.resolve.test_batches import (
    accept,
    broken_references,
    messages,
    recomputed,
    snapshot,
)

AT = datetime(2026, 1, 1, tzinfo=UTC)


def msg(n: int, kind: str = "page", minutes: int = 0, **fields: Any) -> dict[str, Any]:
    at = AT + timedelta(minutes=minutes)
    out: dict[str, Any] = {"type": kind, "messageId": f"k{n}", "timestamp": at.isoformat()}
    if kind == "page":
        out["name"] = "Home"
    return {**out, **fields}


def person_of(session: Session, workspace_id: uuid.UUID, message_id: str) -> uuid.UUID | None:
    return session.scalar(
        select(Event.profile_id).where(
            Event.workspace_id == workspace_id, Event.message_id == message_id
        )
    )


def test_only_events_that_merely_count_are_settled_ahead(session: Session) -> None:
    ws = workspaces.create_workspace(session, "known").workspace
    accept(
        session,
        ws.id,
        [
            msg(1, "identify", userId="u1", anonymousId="a1", traits={"email": "x@y.com"}),
            msg(2, "identify", userId="u2", anonymousId="a2"),
        ],
    )
    resolve.resolve_pending(session, ws.id)
    accept(
        session,
        ws.id,
        [
            msg(3, anonymousId="a1", minutes=5),  # known, one person
            msg(4, "track", event="Product Viewed", userId="u1", anonymousId="a1"),  # linked
            msg(5, anonymousId="a9"),  # new
            msg(6, "track", event="Order Completed", anonymousId="a1", properties={"order_id": 1}),
            msg(7, "identify", anonymousId="a1", traits={"firstName": "Ann"}),  # traits
            msg(8, anonymousId="a2", userId="u1"),  # two people
            msg(9, "screen", name="Cart", userId="u1", context={"device": {"id": "d1"}}),
        ],
    )
    ctx = WorkspaceContext.load(session, ws.id)
    pending = EventRepository.from_session(session).pending(ws.id, 100)
    rest = settle_known(session, ctx, pending)
    assert [e.message_id for e in rest] == ["k5", "k6", "k7", "k8", "k9"]
    person = person_of(session, ws.id, "k1")
    assert person is not None
    assert person_of(session, ws.id, "k3") == person_of(session, ws.id, "k4") == person
    primary = session.scalar(
        select(Event.primary_identifier_id).where(
            Event.workspace_id == ws.id, Event.message_id == "k4"
        )
    )
    user_id = session.scalar(
        select(Identifier.id).where(Identifier.workspace_id == ws.id, Identifier.value == "u1")
    )
    assert primary == user_id  # the sender's user id, as the full path chooses
    profile = session.get(Profile, person)
    assert profile is not None
    session.refresh(profile)
    assert profile.stats["event_count"] == 3
    assert profile.last_seen_at == AT + timedelta(minutes=5)
    # The full path then resolves the others; nothing is left pending.
    assert resolve.resolve_pending(session, ws.id) == 5
    assert resolve.resolve_pending(session, ws.id) == 0


def test_an_identifier_seen_an_hour_later_moves_its_last_seen(session: Session) -> None:
    ws = workspaces.create_workspace(session, "last seen").workspace
    accept(session, ws.id, [msg(1, anonymousId="a1")])
    resolve.resolve_pending(session, ws.id)
    accept(
        session,
        ws.id,
        [msg(2, anonymousId="a1", minutes=30), msg(3, anonymousId="a1", minutes=90)],
    )
    resolve.resolve_pending(session, ws.id)
    seen = session.scalar(
        select(Identifier.last_seen_at).where(
            Identifier.workspace_id == ws.id, Identifier.value == "a1"
        )
    )
    assert seen == AT + timedelta(minutes=90)


def graph(session: Session, workspace_id: uuid.UUID) -> tuple[set[Any], set[Any]]:
    """Each event's primary identifier, and the links, by identifier type and value."""
    name = {
        i: f"{t}:{v}"
        for i, t, v in session.execute(
            select(Identifier.id, Identifier.type, Identifier.value).where(
                Identifier.workspace_id == workspace_id
            )
        )
    }
    primaries = {
        (m, name.get(p))
        for m, p in session.execute(
            select(Event.message_id, Event.primary_identifier_id).where(
                Event.workspace_id == workspace_id
            )
        )
    }
    links = {
        frozenset((name[a], name[b]))
        for a, b in session.execute(
            select(IdentityLink.a_id, IdentityLink.b_id).where(
                IdentityLink.workspace_id == workspace_id
            )
        )
    }
    return primaries, links


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=messages(), batch=messages())
def test_settling_known_events_ahead_changes_nothing(
    session: Session,
    monkeypatch: pytest.MonkeyPatch,
    history: list[dict[str, Any]],
    batch: list[dict[str, Any]],
) -> None:
    for i, m in enumerate(batch):
        m["messageId"] = f"later{i}"
    with session.begin_nested() as nested:
        results = []
        for full_only in (False, True):
            with monkeypatch.context() as patch:
                if full_only:
                    patch.setattr(resolve, "settle_known", lambda s, c, events: list(events))
                ws = workspaces.create_workspace(session, f"full only {full_only}").workspace
                accept(session, ws.id, history)
                resolve.resolve_pending(session, ws.id)
                accept(session, ws.id, batch)
                assert resolve.resolve_pending(session, ws.id) == len(batch)
            session.expire_all()
            results.append((ws.id, (snapshot(session, ws.id), graph(session, ws.id))))
        (ahead, with_known), (_, full) = results
        assert with_known == full
        for stored, fresh in recomputed(session, ahead).values():
            assert stored == fresh
        assert broken_references(session, ahead) == []
        nested.rollback()


def test_an_event_whose_identifiers_are_all_blocked_makes_no_person(session: Session) -> None:
    ws = workspaces.create_workspace(session, "blocked").workspace
    ws.settings = {"identity": {"blocked": {"anonymous_id": ["kiosk"]}}}
    session.flush()
    accept(session, ws.id, [msg(1, anonymousId="kiosk"), msg(2, anonymousId="a1")])
    assert resolve.resolve_pending(session, ws.id) == 2
    status = session.scalar(
        select(Event.status).where(Event.workspace_id == ws.id, Event.message_id == "k1")
    )
    assert status == "unattributed"
    people = session.scalars(select(Profile.id).where(Profile.workspace_id == ws.id)).all()
    assert len(people) == 1  # a1's; none for the kiosk


def test_the_resolver_finds_every_workspace_with_pending_events(session: Session) -> None:
    mine = []
    for name in ("w1", "w2", "w3", "idle"):
        ws = workspaces.create_workspace(session, name).workspace
        if name != "idle":
            accept(session, ws.id, [msg(1, anonymousId="a1"), msg(2, anonymousId="a2")])
            mine.append(ws.id)
    found = resolve.pending_workspaces(session)
    assert set(mine) <= set(found)
    assert found == sorted(found)
    assert len(resolve.pending_workspaces(session, limit=2)) == 2
    resolve.resolve_pending(session, mine[1])
    assert mine[1] not in resolve.pending_workspaces(session)
