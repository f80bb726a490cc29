from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import CompoundSelect, Select, func, or_, select, union_all, update

from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.kit.db import rows_of
from accord.kit.dialect import each_of, insert_ignore, one_of, update_by_id
from accord.kit.ids import new_id
from accord.kit.repository import Repository, chunks
from accord.profile.repository import OrderRepository, ProfileRepository
from accord.resolve.models import (
    Identifier,
    IdentityLink,
    KnownIdentifier,
    Merge,
    Separation,
    SeparationMember,
)


class IdentifierRepository(Repository):
    def find(
        self, workspace_id: uuid.UUID, pairs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Identifier]:
        if not pairs:
            return {}
        stmt = select(Identifier).from_statement(self._by_pairs(workspace_id, pairs, Identifier))
        found = {(i.type, i.value): i for i in self.session.scalars(stmt)}
        return {p: found[p] for p in pairs if p in found}

    def find_rows(
        self, workspace_id: uuid.UUID, pairs: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], KnownIdentifier]:
        """As ``find``, as plain rows (what settling an event by its known identifiers
        reads, without building a mapped object for each)."""
        if not pairs:
            return {}
        columns = [getattr(Identifier, f) for f in KnownIdentifier.__slots__]
        rows = self.plain_rows(self._by_pairs(workspace_id, pairs, *columns))
        return {(r.type, r.value): r for r in (KnownIdentifier(*row) for row in rows)}

    def _by_pairs(
        self, workspace_id: uuid.UUID, pairs: Collection[tuple[str, str]], *columns: Any
    ) -> Select[Any] | CompoundSelect[Any]:
        by_type: dict[str, set[str]] = {}
        for t, v in pairs:
            by_type.setdefault(t, set()).add(v)
        # One IN list per type, so both databases use the whole (workspace, type, value)
        # index rather than its workspace prefix.
        parts = [
            each_of(
                self.session,
                Identifier.value,
                sorted(vs),
                lambda match, t=t: select(*columns).where(  # type: ignore[misc]
                    Identifier.workspace_id == workspace_id, Identifier.type == t, match
                ),
            )
            for t, vs in sorted(by_type.items())
        ]
        return parts[0] if len(parts) == 1 else union_all(*parts)

    def links_among(
        self, workspace_id: uuid.UUID, ids: list[uuid.UUID]
    ) -> set[tuple[uuid.UUID, uuid.UUID]]:
        """The links whose two ends are both in ``ids``, as (a, b) with a < b."""
        out: set[tuple[uuid.UUID, uuid.UUID]] = set()
        other_end = one_of(self.session, IdentityLink.b_id, ids)  # built once, for each chunk
        for chunk in chunks(ids):
            stmt = each_of(
                self.session,
                IdentityLink.a_id,
                chunk,
                lambda match: select(IdentityLink.a_id, IdentityLink.b_id).where(
                    IdentityLink.workspace_id == workspace_id, match, other_end
                ),
            )
            out.update((a, b) for a, b in self.session.execute(stmt))
        return out

    def touch(self, seen: dict[uuid.UUID, datetime]) -> None:
        """Set each identifier's (key) last seen time, in one statement."""
        update_by_id(
            self.session,
            Identifier.__table__,
            [{"id": i, "last_seen_at": at} for i, at in seen.items()],
        )

    def insert_missing(
        self,
        workspace_id: uuid.UUID,
        pairs: Collection[tuple[str, str]],
        *,
        source: str,
        event_id: uuid.UUID,
        seen_at: datetime,
    ) -> None:
        rows = [
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "type": t,
                "value": v,
                "profile_id": None,
                "blocked": False,
                "source": source,
                "first_event_id": event_id,
                "last_seen_at": seen_at,
                "created_at": seen_at,
            }
            for t, v in pairs
        ]
        insert_ignore(self.session, Identifier.__table__, rows, ["workspace_id", "type", "value"])

    def insert_many(self, identifiers: list[Identifier]) -> int:
        """New identifiers in one statement, bypassing the unit of work (the resolver's
        batch then holds them in the session as if loaded); returns how many were
        written (one another writer stored first is not)."""
        return insert_ignore(
            self.session,
            Identifier.__table__,
            rows_of(identifiers),
            ["workspace_id", "type", "value"],
        )

    def by_ids(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Identifier]:
        out: dict[uuid.UUID, Identifier] = {}
        for chunk in chunks(list(ids)):
            for ident in self.session.scalars(select(Identifier).where(Identifier.id.in_(chunk))):
                out[ident.id] = ident
        return out

    def held_by(self, profile_ids: list[uuid.UUID]) -> list[KnownIdentifier]:
        """Every identifier these people hold, as plain rows (blocked ones hold nobody)."""
        columns = [getattr(Identifier, f) for f in KnownIdentifier.__slots__]
        out: list[KnownIdentifier] = []
        for chunk in chunks(profile_ids):
            stmt = select(*columns).where(one_of(self.session, Identifier.profile_id, chunk))
            out.extend(KnownIdentifier(*row) for row in self.session.execute(stmt))
        return out

    def of_profile(self, profile_id: uuid.UUID) -> list[Identifier]:
        stmt = (
            select(Identifier)
            .where(Identifier.profile_id == profile_id)
            .order_by(Identifier.type, Identifier.value)
        )
        return list(self.session.scalars(stmt))

    def values_of(self, profile_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[tuple[str, str]]]:
        """Each person's identifiers as (type, value), sorted."""
        out: dict[uuid.UUID, list[tuple[str, str]]] = {i: [] for i in profile_ids}
        stmt = (
            select(Identifier.profile_id, Identifier.type, Identifier.value)
            .where(Identifier.profile_id.in_(profile_ids))
            .order_by(Identifier.type, Identifier.value)
        )
        for profile_id, type_name, value in self.session.execute(stmt):
            if profile_id is not None:
                out[profile_id].append((type_name, value))
        return out

    def type_counts_of(self, profile_ids: list[uuid.UUID]) -> dict[uuid.UUID, Counter[str]]:
        """How many identifiers of each type each of these people holds."""
        out: dict[uuid.UUID, Counter[str]] = {p: Counter() for p in profile_ids}
        for chunk in chunks(profile_ids):
            stmt = (
                select(Identifier.profile_id, Identifier.type, func.count())
                .where(one_of(self.session, Identifier.profile_id, chunk))
                .group_by(Identifier.profile_id, Identifier.type)
            )
            for profile_id, type_name, n in self.session.execute(stmt):
                if profile_id is not None:
                    out[profile_id][type_name] = int(n)
        return out

    def assign_each(self, owners: dict[uuid.UUID, uuid.UUID]) -> None:
        """Give each identifier (key) its person (value), in one statement."""
        update_by_id(
            self.session,
            Identifier.__table__,
            [{"id": i, "profile_id": p} for i, p in owners.items()],
        )

    def assign(self, ids: list[uuid.UUID], profile_id: uuid.UUID | None) -> None:
        for chunk in chunks(ids):
            self.session.execute(
                update(Identifier).where(Identifier.id.in_(chunk)).values(profile_id=profile_id),
                execution_options={"synchronize_session": False},
            )

    def user_ids_linked_to_each(
        self, workspace_id: uuid.UUID, identifier_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        """For each identifier, the distinct user_id identifiers linked directly to it."""
        out = dict.fromkeys(identifier_ids, 0)
        for chunk in chunks(identifier_ids):
            # Each identifier's links, and the other end's type, looked up for one
            # identifier at a time (``each_of``): joined after the union, PostgreSQL may
            # read every identifier of the workspace to find the user ids among them.
            ends = union_all(
                *(
                    each_of(
                        self.session,
                        node,
                        chunk,
                        lambda match, node=node, other=other: (
                            select(  # type: ignore[misc]
                                node.label("node"), other.label("other")
                            )
                            .join(Identifier, Identifier.id == other)
                            .where(
                                IdentityLink.workspace_id == workspace_id,
                                match,
                                Identifier.type == "user_id",
                            )
                        ),
                    )
                    for node, other in (
                        (IdentityLink.a_id, IdentityLink.b_id),
                        (IdentityLink.b_id, IdentityLink.a_id),
                    )
                )
            ).subquery()
            stmt = select(ends.c.node, func.count(func.distinct(ends.c.other))).group_by(
                ends.c.node
            )
            out.update((node, int(n)) for node, n in self.session.execute(stmt))
        return out


class LinkRepository(Repository):
    def neighbours(self, workspace_id: uuid.UUID, ids: list[uuid.UUID]) -> list[IdentityLink]:
        out: list[IdentityLink] = []
        for chunk in chunks(ids):
            for column in (IdentityLink.a_id, IdentityLink.b_id):
                links = each_of(
                    self.session,
                    column,
                    chunk,
                    lambda match: select(IdentityLink).where(
                        IdentityLink.workspace_id == workspace_id, match
                    ),
                )
                out.extend(self.session.scalars(select(IdentityLink).from_statement(links)))
        return out


class SeparationRepository(Repository):
    def touching(
        self, ids: list[uuid.UUID]
    ) -> list[tuple[frozenset[uuid.UUID], frozenset[uuid.UUID]]]:
        sep_ids: set[uuid.UUID] = set()
        for chunk in chunks(ids):
            stmt = select(SeparationMember.separation_id).where(
                SeparationMember.identifier_id.in_(chunk)
            )
            sep_ids.update(self.session.scalars(stmt))
        if not sep_ids:
            return []
        sides: dict[uuid.UUID, dict[str, set[uuid.UUID]]] = {}
        members = (
            select(SeparationMember)
            .where(SeparationMember.separation_id.in_(sep_ids))
            .order_by(SeparationMember.separation_id)
        )
        for m in self.session.scalars(members):
            sides.setdefault(m.separation_id, {"a": set(), "b": set()})[m.side].add(m.identifier_id)
        return [(frozenset(s["a"]), frozenset(s["b"])) for _, s in sorted(sides.items())]

    def add(
        self,
        workspace_id: uuid.UUID,
        merge_id: uuid.UUID | None,
        side_a: Iterable[uuid.UUID],
        side_b: Iterable[uuid.UUID],
        reason: str,
    ) -> Separation:
        sep = Separation(workspace_id=workspace_id, merge_id=merge_id, reason=reason)
        self.session.add(sep)
        self.session.flush()
        for side, ids in (("a", side_a), ("b", side_b)):
            for identifier_id in ids:
                self.session.add(
                    SeparationMember(
                        workspace_id=workspace_id,
                        separation_id=sep.id,
                        identifier_id=identifier_id,
                        side=side,
                    )
                )
        self.session.flush()
        return sep


class MergeRepository(Repository):
    def add(self, merge: Merge) -> Merge:
        self.session.add(merge)
        self.session.flush()
        return merge

    def get(self, workspace_id: uuid.UUID, merge_id: uuid.UUID) -> Merge | None:
        stmt = select(Merge).where(Merge.workspace_id == workspace_id, Merge.id == merge_id)
        return self.session.scalars(stmt).first()

    def for_profile(self, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[Merge]:
        stmt = (
            select(Merge)
            .where(
                Merge.workspace_id == workspace_id,
                or_(Merge.survivor_id == profile_id, Merge.absorbed_id == profile_id),
            )
            .order_by(Merge.created_at.desc(), Merge.id.desc())
        )
        return list(self.session.scalars(stmt))


class MoveRepository(Repository):
    """Moves what hangs off identifiers (events, orders) to the identifiers' person."""

    def move_events(
        self,
        identifier_ids: list[uuid.UUID],
        profile_id: uuid.UUID | None,
        held_by: Collection[uuid.UUID | None],
    ) -> None:
        """The events whose primary identifier is one of these, and their orders, now
        belong to ``profile_id``. ``held_by``: who held the identifiers until now."""
        owners = _owners(held_by)
        if not owners:
            return  # an identifier of nobody is the primary identifier of no event
        for chunk in chunks(identifier_ids):
            OrderRepository.from_session(self.session).move_of_identifiers(
                chunk, profile_id, owners
            )
            self.session.execute(
                update(Event)
                .where(self._events.of_primaries(chunk, owners))
                .values(profile_id=profile_id),
                execution_options={"synchronize_session": "fetch"},
            )

    def events_of(
        self, identifier_ids: list[uuid.UUID], held_by: Collection[uuid.UUID | None]
    ) -> list[Event]:
        """The events whose primary identifier is one of these, which ``held_by`` held."""
        owners = _owners(held_by)
        out: list[Event] = []
        for chunk in chunks(identifier_ids) if owners else ():
            stmt = select(Event).where(self._events.of_primaries(chunk, owners))
            out.extend(self.session.scalars(stmt))
        return out

    @property
    def _events(self) -> EventRepository:
        return EventRepository.from_session(self.session)

    def move_orders(self, event_ids: list[uuid.UUID], profile_id: uuid.UUID | None) -> None:
        orders = OrderRepository.from_session(self.session)
        for chunk in chunks(event_ids):
            orders.move_of_events(chunk, profile_id)

    def redirect_tombstones(self, old: uuid.UUID, new: uuid.UUID) -> None:
        ProfileRepository.from_session(self.session).redirect_tombstones(old, new)


def _owners(held_by: Collection[uuid.UUID | None]) -> list[uuid.UUID]:
    return sorted({p for p in held_by if p is not None}, key=str)
