"""A batch resolved at once gives exactly what resolving its events one at a time gives:
the same people holding the same identifiers and events, with the same golden records and
computed values. Those values are also what recomputing each person from their stored
events gives, so neither way loses an event's contribution (a merge's own event
included). Hypothesis draws events over small pools of identifiers, so they collide:
merges, conflicting user ids, shared browsers, orders and refunds."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.collect import service as collect
from accord.collect.models import Event
from accord.govern.workspaces import service as workspaces
from accord.profile import service as profiles
from accord.profile.models import Profile
from accord.resolve import service as resolve
from accord.resolve.context import WorkspaceContext
from accord.resolve.models import Identifier, IdentityLink
from tests.resolve.strategies import add_sender

USERS = ["u1", "u2", "u3", "u4"]
ANONS = ["a1", "a2", "a3", "a4", "a5"]
EMAILS = ["e1@x.com", "e2@x.com", "e3@x.com"]
PHONES = ["+14155550101", "+14155550102"]
NAMES = ["Ann", "Bob", "Cy"]
CHANNELS = ["web", "app", "store"]
BASE = datetime(2026, 1, 1, tzinfo=UTC)


@st.composite
def message(draw: Any, n: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["identify", "track", "page", "alias"]))
    msg: dict[str, Any] = {
        "type": kind,
        "messageId": f"m{n}",
        # Event times need not follow arrival: first and last seen come from them.
        "timestamp": (BASE + timedelta(minutes=draw(st.integers(0, 40)))).isoformat(),
        "context": {"channel": draw(st.sampled_from(CHANNELS))},
    }
    if kind == "alias":
        msg["userId"] = draw(st.sampled_from(USERS))
        msg["previousId"] = draw(st.sampled_from(ANONS + USERS))
        return msg
    add_sender(draw, msg, USERS, ANONS)
    if kind == "identify":
        traits: dict[str, Any] = {}
        if draw(st.booleans()):
            traits["email"] = draw(st.sampled_from(EMAILS))
        if draw(st.booleans()):
            traits["phone"] = draw(st.sampled_from(PHONES))
        if draw(st.booleans()):
            traits["firstName"] = draw(st.sampled_from(NAMES))
        msg["traits"] = traits
    elif kind == "track":
        msg["event"] = draw(
            st.sampled_from(["Product Viewed", "Order Completed", "Order Refunded"])
        )
        msg["properties"] = {
            "order_id": draw(st.sampled_from(["o1", "o2"])),
            "total": draw(st.sampled_from([10, 25])),
        }
    else:
        msg["name"] = "Home"
    return msg


@st.composite
def messages(draw: Any) -> list[dict[str, Any]]:
    size = draw(st.integers(min_value=2, max_value=14))
    return [draw(message(i)) for i in range(size)]


VALUES = (
    "traits",
    "stats",
    "first_seen_at",
    "last_seen_at",
    "order_count",
    "revenue",
    "display_name",
    "search_name",
    "email",
    "phone",
)


def snapshot(session: Session, workspace_id: uuid.UUID) -> dict[frozenset[str], tuple[Any, ...]]:
    """Each person, named by their identifiers and events, with their computed values."""
    members: dict[Any, set[str]] = {}
    for profile_id, type_name, value in session.execute(
        select(Identifier.profile_id, Identifier.type, Identifier.value).where(
            Identifier.workspace_id == workspace_id
        )
    ):
        members.setdefault(profile_id, set()).add(f"{type_name}:{value}")
    for message_id, profile_id, status in session.execute(
        select(Event.message_id, Event.profile_id, Event.status).where(
            Event.workspace_id == workspace_id
        )
    ):
        members.setdefault(profile_id, set()).add(f"event:{message_id}:{status}")
    live = {
        p.id: p
        for p in session.scalars(
            select(Profile).where(
                Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None)
            )
        )
    }
    out = {}
    for profile_id, names in members.items():
        p = live.get(profile_id)
        out[frozenset(names)] = tuple(getattr(p, v) for v in VALUES) if p else None
    # A person who holds nothing any more is a tombstone in waiting; count them too.
    for profile_id, p in live.items():
        if profile_id not in members:
            out[frozenset({f"empty:{len(out)}"})] = tuple(getattr(p, v) for v in VALUES)
    return out


def broken_references(session: Session, workspace_id: uuid.UUID) -> list[str]:
    """Rows naming what resolution promises they name (the columns are not foreign keys;
    resolution keeps them right): an attributed event names a live person of its
    workspace, and its primary identifier is one that person holds; an identifier's
    person is one of its workspace; a link joins two identifiers of its workspace."""
    people = {
        p: merged
        for p, merged in session.execute(
            select(Profile.id, Profile.merged_into_id).where(Profile.workspace_id == workspace_id)
        )
    }
    holder = dict(
        session.execute(
            select(Identifier.id, Identifier.profile_id).where(
                Identifier.workspace_id == workspace_id
            )
        ).all()
    )
    out = [
        f"identifier {ident}: names a person that is not stored"
        for ident, holder_id in holder.items()
        if holder_id is not None and holder_id not in people
    ]
    for a_id, b_id in session.execute(
        select(IdentityLink.a_id, IdentityLink.b_id).where(
            IdentityLink.workspace_id == workspace_id
        )
    ):
        if a_id not in holder or b_id not in holder:
            out.append(f"link {a_id}-{b_id}: names an identifier that is not stored")
    for message_id, status, profile_id, primary_id in session.execute(
        select(Event.message_id, Event.status, Event.profile_id, Event.primary_identifier_id).where(
            Event.workspace_id == workspace_id
        )
    ):
        if profile_id is None and primary_id is None:
            if status != "pending" and status != "unattributed":
                out.append(f"{message_id}: {status} but names no person")
            continue
        if profile_id not in people:
            out.append(f"{message_id}: names a person that is not stored")
        elif people[profile_id] is not None:
            out.append(f"{message_id}: names a merged person")
        if primary_id not in holder:
            out.append(f"{message_id}: names a primary identifier that is not stored")
        elif holder[primary_id] != profile_id:
            out.append(f"{message_id}: its primary identifier belongs to someone else")
    return out


def recomputed(session: Session, workspace_id: uuid.UUID) -> dict[uuid.UUID, tuple[Any, ...]]:
    """Each live person's values as stored, and as recomputed from their events (figures
    never set and figures at zero are the same)."""

    def values(p: Profile) -> tuple[Any, ...]:
        stats = {k: v for k, v in p.stats.items() if v not in (None, {}, 0)}
        return (copy.deepcopy(p.traits), stats, *(getattr(p, v) for v in VALUES[2:6]))

    ctx = WorkspaceContext.load(session, workspace_id)
    out = {}
    live = select(Profile).where(
        Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None)
    )
    for p in session.scalars(live):
        stored = values(p)
        profiles.recompute(session, p, ctx.profile)
        out[p.id] = (stored, values(p))
    return out


def accept(session: Session, workspace_id: uuid.UUID, msgs: list[dict[str, Any]]) -> None:
    collect.accept(
        session,
        workspace_id=workspace_id,
        source="test",
        region="US",
        messages=msgs,
        received_at=datetime(2026, 2, 1, tzinfo=UTC),
        field_prefix="batch",
    )


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(msgs=messages())
def test_a_batch_resolves_like_one_event_at_a_time(
    session: Session, msgs: list[dict[str, Any]]
) -> None:
    with session.begin_nested() as nested:
        one = workspaces.create_workspace(session, "one by one").workspace
        for msg in msgs:
            accept(session, one.id, [msg])
            resolve.resolve_pending(session, one.id)
        many = workspaces.create_workspace(session, "all at once").workspace
        accept(session, many.id, msgs)
        assert resolve.resolve_pending(session, many.id) == len(msgs)
        session.expire_all()
        by_one, by_batch = snapshot(session, one.id), snapshot(session, many.id)
        assert by_one == by_batch
        for stored, fresh in recomputed(session, many.id).values():
            assert stored == fresh
        assert broken_references(session, one.id) == []
        assert broken_references(session, many.id) == []
        nested.rollback()


def test_the_event_that_merges_two_people_counts_on_the_survivor(session: Session) -> None:
    ws = workspaces.create_workspace(session, "merging").workspace
    at = "2026-01-01T00:0{}:00Z"
    for msg in (
        {"type": "page", "anonymousId": "a1", "messageId": "m1", "timestamp": at.format(0)},
        {"type": "identify", "userId": "u1", "messageId": "m2", "timestamp": at.format(1)},
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "a1",
            "messageId": "m3",
            "traits": {"firstName": "Zed"},
            "timestamp": at.format(2),
        },
    ):
        accept(session, ws.id, [msg])
        resolve.resolve_pending(session, ws.id)
    (person,) = session.scalars(
        select(Profile).where(Profile.workspace_id == ws.id, Profile.merged_into_id.is_(None))
    )
    assert person.stats["event_count"] == 3
    assert person.traits["firstName"]["value"] == "Zed"
    assert person.last_seen_at == datetime(2026, 1, 1, 0, 2, tzinfo=UTC)
