"""What one resolver batch keeps in memory so the common case costs no queries per event:
every identifier the batch's events carry (looked up in one go; the new ones made in
memory and inserted once their person is known, so each is written once), the links
already known between them, identifier counts per person, how many user ids each browser
or device is linked to, and the outcome of each resolved event, written for all of them
at once."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import inspect
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from accord.collect import identifiers as ids
from accord.collect.messages import ALIAS_PREVIOUS
from accord.collect.models import Event, EventFacts, PendingEvent
from accord.collect.repository import EventRepository
from accord.kit.db import as_loaded, hold
from accord.kit.dialect import insert_ignore
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.profile.repository import COMPUTED, ProfileRepository
from accord.profile.service import Fold, ProfileContext, fold_values
from accord.resolve.models import Identifier, IdentityLink
from accord.resolve.repository import IdentifierRepository

if TYPE_CHECKING:
    from accord.resolve.context import WorkspaceContext


class IdentifierTaken(RuntimeError):
    """Another writer inserted an identifier a batch made: the batch is undone, and its
    events are resolved again (one at a time) against the stored one."""


@dataclass
class BatchCache:
    idents: dict[tuple[str, str], Identifier] = field(default_factory=dict)
    links: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    pending_links: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[uuid.UUID, Counter[str]] = field(default_factory=dict)
    # People created in this batch and not yet flushed (the identity map does not hold
    # pending objects, so Session.get would miss them).
    new_profiles: dict[uuid.UUID, Profile] = field(default_factory=dict)
    # Strong references: the session's identity map is weak and would drop them.
    profiles: dict[uuid.UUID, Profile] = field(default_factory=dict)
    # Browser and device identifiers: the user ids linked to each (a shared one blocks).
    user_links: dict[uuid.UUID, int] = field(default_factory=dict)
    # Resolved events not yet written: id, person, primary identifier and status.
    settled: list[dict[str, Any]] = field(default_factory=list)
    # Each event's place in the batch, and the place of the event that brought each
    # identifier the batch created: resolving in a batch sees what one at a time would.
    position: dict[uuid.UUID, int] = field(default_factory=dict)
    born: dict[tuple[str, str], int] = field(default_factory=dict)
    # Stored people whose computed values were set as if written: written by the batch.
    rewrite: set[uuid.UUID] = field(default_factory=set)
    # New people not yet inserted (also in ``new_profiles``).
    unsaved: list[Profile] = field(default_factory=list)
    # Identifiers given to a person by the fast path (id -> person), written at once.
    assigned: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)
    # Identifiers the batch's events bring, not yet inserted: written by
    # ``insert_new_identifiers`` with the person they were given by then.
    unsaved_idents: list[Identifier] = field(default_factory=list)
    # What the batch's events add to each person, applied when the batch writes.
    folds: dict[uuid.UUID, Fold] = field(default_factory=dict)
    profile_ctx: ProfileContext | None = None

    def profile(self, session: Session, profile_id: uuid.UUID) -> Profile | None:
        found = self.new_profiles.get(profile_id) or self.profiles.get(profile_id)
        if found is None:
            found = session.get(Profile, profile_id)
            if found is not None:
                self.profiles[profile_id] = found
        return found

    @classmethod
    def prepare(
        cls, session: Session, ctx: WorkspaceContext, events: Sequence[EventFacts]
    ) -> BatchCache:
        cache = cls(position={e.id: i for i, e in enumerate(events)}, profile_ctx=ctx.profile)
        first: dict[tuple[str, str], EventFacts] = {}  # the first event carrying each one
        candidates: set[tuple[str, str]] = set()  # what an alias's previousId may be
        for event in events:
            for type_name, value in event.identifiers:
                if type_name == ALIAS_PREVIOUS:
                    candidates.update((t, value) for t in (ids.USER_ID, ids.ANONYMOUS_ID))
                else:
                    first.setdefault((type_name, value), event)
        repo = IdentifierRepository.from_session(session)
        pairs = list(first.keys() | candidates)
        for i in range(0, len(pairs), 400):
            cache.idents.update(repo.find(ctx.workspace_id, pairs[i : i + 400]))
        # Alias candidates are only created when resolved (we do not know the type yet).
        missing = [p for p in first if p not in cache.idents]
        if missing:
            rows = [
                {
                    "id": new_id(),
                    "workspace_id": ctx.workspace_id,
                    "type": t,
                    "value": v,
                    "profile_id": None,
                    "blocked": ctx.rules.is_blocked(t, v),
                    "source": first[(t, v)].source,
                    "first_event_id": first[(t, v)].id,
                    "last_seen_at": first[(t, v)].timestamp,
                    # An identifier is first seen when its first event happened, not when
                    # resolution got to it (so first seen never comes after last seen).
                    "created_at": first[(t, v)].timestamp,
                }
                for t, v in missing
            ]
            # Resolution is serialized per workspace and only it creates identifiers, so
            # these stay new until the batch writes them (``insert_new_identifiers``).
            cache.born = {p: cache.position[first[p].id] for p in missing}
            cache.unsaved_idents = [as_loaded(Identifier, row) for row in rows]
            cache.idents.update(((i.type, i.value), i) for i in cache.unsaved_idents)
        held = list({i.profile_id for i in cache.idents.values() if i.profile_id})
        cache.profiles = ProfileRepository.from_session(session).by_ids(held)
        # The identifier counts of the people that new identifiers may join (type limits).
        new = set(missing)
        joining = {
            ident.profile_id
            for event in events
            if any(tuple(pair) in new for pair in event.identifiers)
            for pair in event.identifiers
            if (ident := cache.idents.get((pair[0], pair[1]))) is not None and ident.profile_id
        }
        cache.counts.update(repo.type_counts_of(list(joining)))
        cache.links = repo.links_among(ctx.workspace_id, [i.id for i in cache.idents.values()])
        # Browsers and devices seen with a user id in this batch: only they can be blocked.
        weak: set[uuid.UUID] = set()
        for event in events:
            if not any(t in (ids.USER_ID, ALIAS_PREVIOUS) for t, _ in event.identifiers):
                continue
            for t, v in event.identifiers:
                t = ids.ANONYMOUS_ID if t == ALIAS_PREVIOUS else t
                ident = cache.idents.get((t, v))
                if t in ids.WEAK_TYPES and ident is not None and not ident.blocked:
                    weak.add(ident.id)
        cache.user_links = repo.user_ids_linked_to_each(ctx.workspace_id, sorted(weak))
        return cache

    def known_at(self, event: EventFacts, pair: tuple[str, str]) -> bool:
        """Whether the identifier existed when ``event`` came: before the batch, or brought
        by this event or an earlier one."""
        if pair not in self.idents:
            return False
        born = self.born.get(pair)
        return born is None or born <= self.position.get(event.id, len(self.position))

    def identifier(
        self, session: Session, ctx: WorkspaceContext, event: EventFacts, pair: tuple[str, str]
    ) -> Identifier:
        found = self.idents.get(pair)
        if found is None:  # an alias's previous id, typed only now
            repo = IdentifierRepository.from_session(session)
            repo.insert_missing(
                ctx.workspace_id,
                [pair],
                source=event.source,
                event_id=event.id,
                seen_at=event.timestamp,
            )
            found = repo.find(ctx.workspace_id, [pair])[pair]
            found.blocked = found.blocked or ctx.rules.is_blocked(*pair)
            self.idents[pair] = found
        return found

    def add_link(
        self, ctx: WorkspaceContext, a: Identifier, b: Identifier, event: EventFacts
    ) -> bool:
        key = (a.id, b.id) if a.id < b.id else (b.id, a.id)
        if key in self.links:
            return False
        self.links.add(key)
        for weak, other in ((a, b), (b, a)):
            if other.type == ids.USER_ID and weak.id in self.user_links:
                self.user_links[weak.id] += 1
        self.pending_links.append(
            {
                "id": new_id(),
                "workspace_id": ctx.workspace_id,
                "a_id": key[0],
                "b_id": key[1],
                "event_id": event.id,
                "message_id": event.message_id,
                "created_at": utcnow(),
            }
        )
        return True

    def flush_links(self, session: Session) -> None:
        if self.pending_links:
            self.insert_new_identifiers(session)  # what the links point at
            insert_ignore(
                session,
                IdentityLink.__table__,
                self.pending_links,
                ["workspace_id", "a_id", "b_id"],
            )
            self.pending_links = []

    def user_ids_linked(self, session: Session, ctx: WorkspaceContext, ident: Identifier) -> int:
        """The distinct user ids linked directly to ``ident``, this batch's links included."""
        if ident.id not in self.user_links:  # not known when the batch began
            self.flush_links(session)
            self.user_links.update(
                IdentifierRepository.from_session(session).user_ids_linked_to_each(
                    ctx.workspace_id, [ident.id]
                )
            )
        return self.user_links[ident.id]

    def settle(
        self,
        event: EventFacts,
        primary_identifier_id: uuid.UUID | None,
        profile_id: uuid.UUID | None,
        status: str,
    ) -> None:
        """Record an event's outcome. A stored event's row is written with the batch's
        others by ``flush_events`` (a mapped object is left as if already written); a new
        mapped one goes out with the session's flush."""
        if isinstance(event, PendingEvent):
            event.profile_id = profile_id
        elif isinstance(event, Event):
            if not inspect(event).persistent:
                event.primary_identifier_id = primary_identifier_id
                event.profile_id = profile_id
                event.status = status
                return
            set_committed_value(event, "primary_identifier_id", primary_identifier_id)
            set_committed_value(event, "profile_id", profile_id)
            set_committed_value(event, "status", status)
        self.settled.append(
            {
                "id": event.id,
                "primary_identifier_id": primary_identifier_id,
                "profile_id": profile_id,
                "status": status,
            }
        )

    def new_profile(self, workspace_id: uuid.UUID) -> Profile:
        """A new person, inserted with the batch's others by ``insert_new_profiles``."""
        profile = as_loaded(
            Profile,
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "merged_into_id": None,
                "contested": False,
                "traits": {},
                "stats": {},
                "display_name": None,
                "search_name": None,
                "email": None,
                "phone": None,
                "first_seen_at": None,
                "last_seen_at": None,
                "order_count": 0,
                "revenue": Decimal("0"),
                "updated_at": None,
                "created_at": utcnow(),
            },
        )
        self.new_profiles[profile.id] = profile
        self.unsaved.append(profile)
        return profile

    def insert_new_profiles(self, session: Session, *, held: bool = True) -> None:
        """Insert the batch's new people in one statement, then hold them in the session
        as if loaded (an insert each through the unit of work costs more than the rest
        of their events' resolution); ``held=False``: not held (``write``)."""
        if not self.unsaved:
            return
        ProfileRepository.from_session(session).insert_many(self.unsaved)
        if held:
            hold(session, self.unsaved)
            for p in self.unsaved:
                self.profiles[p.id] = p
        self.unsaved = []

    def assign(self, ident: Identifier, profile_id: uuid.UUID) -> None:
        """Give an identifier to a person; the row is written with the batch's others by
        ``flush_assigned``, or inserted with its person if the batch made it (the object
        is left as if already written)."""
        set_committed_value(ident, "profile_id", profile_id)
        self.assigned[ident.id] = profile_id

    def insert_new_identifiers(self, session: Session, *, held: bool = True) -> None:
        """Insert the identifiers the batch made, each with the person it was given by
        now (the new people first, whom they point at), in one statement; they are then
        held in the session as loaded (``held=False``: the batch's last write, as for
        people). Anything that reads identifiers or writes rows pointing at them calls
        this first."""
        if not self.unsaved_idents:
            return
        self.insert_new_profiles(session, held=held)
        made, self.unsaved_idents = self.unsaved_idents, []
        inserted = IdentifierRepository.from_session(session).insert_many(made)
        if inserted != len(made):
            raise IdentifierTaken(
                f"{len(made) - inserted} of a batch's new identifiers were written meanwhile"
            )
        if held:
            hold(session, made)
        for ident in made:
            self.assigned.pop(ident.id, None)  # written with its person

    def flush_assigned(self, session: Session) -> None:
        """After ``session.flush()``, which inserts the new people they point at."""
        if self.assigned:
            IdentifierRepository.from_session(session).assign_each(self.assigned)
            self.assigned = {}

    def fold(self, profile_id: uuid.UUID, event: EventFacts) -> None:
        """Count a resolved event on its person when the batch writes."""
        fold = self.folds.get(profile_id)
        if fold is None:
            fold = self.folds[profile_id] = Fold()
        assert self.profile_ctx is not None
        fold.add(event, self.profile_ctx)

    def set_computed(self, profile: Profile, values: dict[str, Any]) -> None:
        """Set computed values of a person: a stored one's row is written with the batch's
        others by ``flush_profiles`` (the object is left as if already written)."""
        if not inspect(profile).persistent:  # a new person, inserted with its values
            for key, value in values.items():
                setattr(profile, key, value)
            return
        for key, value in values.items():
            set_committed_value(profile, key, value)
        self.rewrite.add(profile.id)

    def apply_folds(self, session: Session) -> None:
        for profile_id, fold in self.folds.items():
            profile = self.profile(session, profile_id)
            if profile is not None:
                assert self.profile_ctx is not None  # set by prepare, as folds are
                self.set_computed(profile, fold_values(profile, fold, self.profile_ctx))
        self.folds = {}

    def flush_events(self, session: Session) -> None:
        """Write the settled events; after ``session.flush()``, which inserts the people
        they point at."""
        if self.settled:
            EventRepository.from_session(session).settle(self.settled)
            self.settled = []

    def flush_profiles(self, session: Session) -> None:
        """Write the computed values of the stored people this batch changed, all at once
        (the objects are then as if flushed; anything else changed goes with the flush)."""
        changed = [
            p
            for p in self.profiles.values()
            if (state := inspect(p)).persistent and (state.modified or p.id in self.rewrite)
        ]
        self.rewrite = set()
        if not changed:
            return
        ProfileRepository.from_session(session).write_computed(
            [{"id": p.id, **{c: getattr(p, c) for c in COMPUTED}} for p in changed]
        )
        for p in changed:
            written = inspect(p).committed_state  # the attributes changed since loaded
            for c in COMPUTED:
                if c in written:
                    set_committed_value(p, c, getattr(p, c))

    def write(self, session: Session, *, last: bool = False) -> None:
        """Everything the batch holds back, in an order the foreign keys accept: people's
        values (their new events folded in first), new people, new identifiers with their
        people, links, then the session's flush, identifiers given to people, then
        events. Written before a repartition, the new rows are held in the session as
        loaded, for the graph's reads to find the very objects the batch goes on using;
        the batch's ``last`` write leaves them out (nothing reads or changes them after,
        and holding costs as much as a fifth of resolving a new person's event)."""
        with session.no_autoflush:
            self.apply_folds(session)
            self.insert_new_profiles(session, held=not last)
            self.insert_new_identifiers(session, held=not last)
            self.flush_profiles(session)
            self.flush_links(session)
            session.flush()
            self.flush_assigned(session)
            self.flush_events(session)

    def type_counts(self, session: Session, profile_id: uuid.UUID) -> Counter[str]:
        if profile_id not in self.counts:
            self.counts.update(
                IdentifierRepository.from_session(session).type_counts_of([profile_id])
            )
        return self.counts[profile_id]

    def forget(self, profile_ids: set[uuid.UUID]) -> None:
        for p in profile_ids:
            self.counts.pop(p, None)
