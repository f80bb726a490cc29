"""The same events in any order yield the same people. Hypothesis generates events over
a small pool of identifiers (so they collide: shared devices, family emails, two user
ids on one browser) and resolves them in two orders in two fresh workspaces."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.collect import service as collect
from accord.collect.models import Event
from accord.govern.workspaces import service as workspaces
from accord.resolve import service as resolve
from accord.resolve.models import Identifier
from tests.resolve.strategies import add_sender
from tests.resolve.test_batches import broken_references

USERS = ["u1", "u2", "u3"]
ANONS = ["a1", "a2", "a3", "a4"]
EMAILS = ["e1@x.com", "e2@x.com", "e3@x.com"]
PHONES = ["+14155550101", "+14155550102"]


@st.composite
def event(draw: Any, n: int) -> dict[str, Any]:
    msg: dict[str, Any] = {"type": "identify", "messageId": f"m{n}"}
    add_sender(draw, msg, USERS, ANONS)
    traits = {}
    if draw(st.booleans()):
        traits["email"] = draw(st.sampled_from(EMAILS))
    if draw(st.booleans()):
        traits["phone"] = draw(st.sampled_from(PHONES))
    msg["traits"] = traits
    msg["timestamp"] = (datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=n)).isoformat()
    return msg


@st.composite
def scenario(draw: Any) -> tuple[list[dict[str, Any]], list[int]]:
    size = draw(st.integers(min_value=2, max_value=9))
    events = [draw(event(i)) for i in range(size)]
    order = draw(st.permutations(list(range(size))))
    return events, order


def people(session: Session, workspace_id: Any) -> frozenset[frozenset[str]]:
    rows = session.execute(
        select(Identifier.profile_id, Identifier.type, Identifier.value).where(
            Identifier.workspace_id == workspace_id
        )
    ).all()
    groups: dict[Any, set[str]] = {}
    for profile_id, type_name, value in rows:
        groups.setdefault(profile_id, set()).add(f"{type_name}:{value}")
    events = session.execute(
        select(Event.message_id, Event.profile_id).where(Event.workspace_id == workspace_id)
    ).all()
    for message_id, profile_id in events:
        groups.setdefault(profile_id, set()).add(f"event:{message_id}")
    return frozenset(frozenset(g) for g in groups.values())


def run(session: Session, name: str, messages: list[dict[str, Any]]) -> frozenset[frozenset[str]]:
    ws = workspaces.create_workspace(session, name).workspace
    for msg in messages:
        collect.accept(
            session,
            workspace_id=ws.id,
            source="test",
            region="US",
            messages=[msg],
            received_at=datetime(2026, 2, 1, tzinfo=UTC),
            field_prefix="",
        )
        resolve.resolve_pending(session, ws.id)
    assert broken_references(session, ws.id) == []
    return people(session, ws.id)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(case=scenario())
def test_any_order_gives_the_same_people(session: Session, case: Any) -> None:
    events, order = case
    with session.begin_nested() as nested:
        first = run(session, "in order", events)
        second = run(session, "shuffled", [events[i] for i in order])
        nested.rollback()
    assert first == second
