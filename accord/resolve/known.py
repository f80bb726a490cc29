"""Events whose identifiers all belong to one person already: most of a live stream (page
views and tracks of visitors and customers seen before). Such an event changes nothing in
the identity graph: it belongs with its person and only counts on it. They are settled
together, read as plain rows, before the rest of the batch goes the full way
(``service.resolve_event``), which yields the same people, events and counts:

- the event carries no traits (nothing for the golden record), is no order and no alias;
- every identifier it carries exists, is not blocked and is held by the same living
  person;
- the links the event would record exist already (with one identifier there are none).

Whatever a later event of the batch changes (a merge, a blocked device) moves these
events as it moves every stored event: by their primary identifier."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from accord.collect.messages import ALIAS_PREVIOUS
from accord.collect.models import PendingEvent
from accord.collect.repository import EventRepository
from accord.profile.repository import Counts, ProfileRepository
from accord.profile.service import Fold, count_values, order_event_kind
from accord.resolve.models import KnownIdentifier
from accord.resolve.repository import IdentifierRepository
from accord.resolve.rules import LAST_SEEN_RESOLUTION, primary_of

if TYPE_CHECKING:
    from accord.resolve.context import WorkspaceContext


def _countable(event: PendingEvent) -> bool:
    """Whether the event may be one that only counts: decided before any look-up."""
    if not event.identifiers or event.traits or event.type == "alias":
        return False
    for pair in event.identifiers:
        if pair[0] == ALIAS_PREVIOUS:
            return False
    return order_event_kind(event) is None


def _pairs(event: PendingEvent) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for type_name, value in event.identifiers:
        if (type_name, value) not in out:
            out.append((type_name, value))
    return out


def settle_known(
    session: Session, ctx: WorkspaceContext, events: Sequence[PendingEvent]
) -> list[PendingEvent]:
    """Settle the events that only count on their person (see the module); returns the
    others, in their order, for the full path."""
    # Each candidate's identifiers, by the event's place in ``events``.
    pairs = {i: _pairs(e) for i, e in enumerate(events) if _countable(e)}
    if not pairs:
        return list(events)
    idents = IdentifierRepository.from_session(session)
    known = idents.find_rows(ctx.workspace_id, {p for ps in pairs.values() for p in ps})
    multi = {known[p].id for ps in pairs.values() if len(ps) > 1 for p in ps if p in known}
    links = idents.links_among(ctx.workspace_id, sorted(multi)) if multi else set()
    held = {i.profile_id for i in known.values() if i.profile_id is not None and not i.blocked}
    people = ProfileRepository.from_session(session).counts_of(sorted(held))

    def owner(event_pairs: list[tuple[str, str]]) -> tuple[list[KnownIdentifier], uuid.UUID] | None:
        rows = [known.get(p) for p in event_pairs]
        if not all(r is not None and not r.blocked for r in rows):
            return None
        found = [r for r in rows if r is not None]
        owners = {r.profile_id for r in found}
        if len(owners) != 1:
            return None
        (profile_id,) = owners
        if profile_id is None or profile_id not in people:
            return None
        hub = found[0]
        for other in found[1:]:
            if (min(hub.id, other.id), max(hub.id, other.id)) not in links:
                return None
        return found, profile_id

    rest: list[PendingEvent] = []
    settled: list[dict[str, object]] = []
    folds: dict[uuid.UUID, Fold] = {}
    seen: dict[uuid.UUID, datetime] = {}
    for i, event in enumerate(events):
        outcome = owner(pairs[i]) if i in pairs else None
        if outcome is None:
            rest.append(event)
            continue
        rows, profile_id = outcome
        for r in rows:
            last = seen.get(r.id, r.last_seen_at)
            if event.timestamp - last > LAST_SEEN_RESOLUTION:
                seen[r.id] = event.timestamp
        primary = primary_of(rows, ctx.rules)
        assert primary is not None  # none of them is blocked
        event.profile_id = profile_id
        settled.append(
            {
                "id": event.id,
                "primary_identifier_id": primary.id,
                "profile_id": profile_id,
                "status": "resolved",
            }
        )
        fold = folds.get(profile_id)
        if fold is None:
            fold = folds[profile_id] = Fold()
        fold.add(event, ctx.profile)
    if settled:
        EventRepository.from_session(session).settle(settled)
        idents.touch(seen)
        ProfileRepository.from_session(session).write_computed(
            [_counted(p, people[p], fold) for p, fold in folds.items()]
        )
    return rest


def _counted(profile_id: uuid.UUID, counts: Counts, fold: Fold) -> dict[str, object]:
    values = count_values(counts, fold)
    return {
        "id": profile_id,
        "stats": values["stats"],
        "first_seen_at": values.get("first_seen_at", counts.first_seen_at),
        "last_seen_at": values.get("last_seen_at", counts.last_seen_at),
        "updated_at": values["updated_at"],
    }
