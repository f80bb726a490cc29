from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, func, or_, select, update

from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.kit.db import rows_of
from accord.kit.dialect import insert_ignore, one_of, update_by_id
from accord.kit.planning import in_index_order, never_analyzed, planner
from accord.kit.repository import Repository, chunks
from accord.profile.models import Order, Profile

# The columns that resolution derives from a person's events.
COMPUTED = (
    "traits",
    "stats",
    "display_name",
    "search_name",
    "email",
    "phone",
    "first_seen_at",
    "last_seen_at",
    "order_count",
    "revenue",
    "updated_at",
)


@dataclass(slots=True)
class Counts:
    stats: dict[str, Any]
    first_seen_at: datetime | None
    last_seen_at: datetime | None


@dataclass(frozen=True, slots=True)
class Head:
    id: uuid.UUID
    workspace_id: uuid.UUID
    merged_into_id: uuid.UUID | None
    contested: bool
    created_at: datetime


# A search on a table without statistics: up to this many people found through the
# trigram indexes are sorted among themselves; more, and the list's index is walked.
FEW = 1000
# Shorter searches hold no trigram to look up: they walk the list's index.
TRIGRAM = 3


class ProfileRepository(Repository):
    def get(self, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> Profile | None:
        """The profile, from the session when it holds it already (as a query would
        return it: a loaded row is not read again), only within the workspace."""
        found = self.session.get(Profile, profile_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    def by_ids(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Profile]:
        if not ids:
            return {}
        stmt = select(Profile).where(one_of(self.session, Profile.id, ids))
        return {p.id: p for p in self.session.scalars(stmt)}

    def heads_of(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Head]:
        """Whom each of these people was merged into, whether contested, when created:
        plain rows, without the golden record."""
        out: dict[uuid.UUID, Head] = {}
        for chunk in chunks(ids):
            stmt = select(
                Profile.id,
                Profile.workspace_id,
                Profile.merged_into_id,
                Profile.contested,
                Profile.created_at,
            ).where(one_of(self.session, Profile.id, chunk))
            out.update((row[0], Head(*row)) for row in self.session.execute(stmt))
        return out

    def counts_of(self, ids: list[uuid.UUID]) -> dict[uuid.UUID, Counts]:
        """The event counts and first and last seen of these people (the live ones), as
        plain rows."""
        if not ids:
            return {}
        stmt = select(Profile.id, Profile.stats, Profile.first_seen_at, Profile.last_seen_at).where(
            one_of(self.session, Profile.id, ids), Profile.merged_into_id.is_(None)
        )
        return {row[0]: Counts(*row[1:]) for row in self.plain_rows(stmt)}

    def add(self, profile: Profile) -> Profile:
        self.session.add(profile)
        self.session.flush()
        return profile

    def insert_many(self, profiles: list[Profile]) -> None:
        """New people in one statement, bypassing the unit of work (the resolver's batch
        then holds them in the session as if loaded)."""
        insert_ignore(self.session, Profile.__table__, rows_of(profiles), ["id"])

    def redirect_tombstones(self, old: uuid.UUID, new: uuid.UUID) -> None:
        """People merged into ``old`` now point at ``new`` (``old`` was merged too)."""
        self.session.execute(
            update(Profile).where(Profile.merged_into_id == old).values(merged_into_id=new)
        )

    def redirect_each(self, new_of: dict[uuid.UUID, uuid.UUID]) -> None:
        """``redirect_tombstones`` for many: people merged into a key now point at its
        value."""
        found: list[dict[str, Any]] = []
        for chunk in chunks(list(new_of)):
            stmt = select(Profile.id, Profile.merged_into_id).where(
                one_of(self.session, Profile.merged_into_id, chunk)
            )
            found.extend(
                {"id": i, "merged_into_id": new_of[m]}
                for i, m in self.session.execute(stmt)
                if m is not None
            )
        update_by_id(self.session, Profile.__table__, found)

    def write_computed(self, rows: list[dict[str, Any]]) -> None:
        """Several people's computed values (``COMPUTED``, by id) in one statement."""
        update_by_id(self.session, Profile.__table__, rows)

    def _live(self, workspace_id: uuid.UUID) -> Select[Profile]:
        return select(Profile).where(
            Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None)
        )

    def search(
        self,
        workspace_id: uuid.UUID,
        query: str | None,
        *,
        limit: int,
        offset: int,
        country_code: int | None = None,
    ) -> list[Profile]:
        """Live people (matching ``query``: a name, an email or a phone's digits), the
        latest seen first to the minute (the newest person first within a minute: the
        console shows last seen to the minute), then those never seen; ``limit`` of them
        from ``offset``.

        The people seen are read along ``(workspace_id, seen_minute, id)`` backwards,
        sorting nothing, so a page costs the rows it shows whatever the workspace's size
        and however many people were seen in one minute (an import); the never seen (no
        event yet) follow, read only by a page that reaches past the seen ones. (One
        ``ORDER BY last_seen_at DESC NULLS LAST`` sorted every live person of the
        workspace for each page: the index's order puts NULLs at the other end.) The list
        is read this way whatever the statistics (``in_index_order``). A search is left to the
        planner: on PostgreSQL, trigram indexes of the name, email and phone find what
        few people match (migration 0037), and one that many match walks the list's
        index. Without statistics (``_few``) the planner guesses a workspace holds few
        people and reads them all: the trigram indexes are then asked first, and the
        list's index walked only when they find many."""
        stmt = self._live(workspace_id)
        # Read along the list's index whatever the statistics; a search's matches are
        # weighed by the planner against walking it.
        along_index = not query
        if query:
            q = query.strip().lower()
            matches = [
                Profile.search_name.startswith(q, autoescape=True),
                Profile.email.startswith(q, autoescape=True),
                Profile.search_name.contains(" " + q, autoescape=True),
            ]
            digits = re.sub(r"\D", "", q)
            if len(digits) >= 3 and re.fullmatch(r"[\d\s()+.\-]+", q):
                # Phones are stored in E.164: match the digits with or without a country code.
                matches.append(Profile.phone.startswith("+" + digits))
                if country_code:
                    matches.append(Profile.phone.startswith(f"+{country_code}{digits}"))
            stmt = stmt.where(or_(*matches))
            if len(q) >= TRIGRAM and never_analyzed(self.session, "profiles"):
                few = self._few(workspace_id, matches)
                if few is not None:  # all of them: the page is sorted among them alone
                    stmt = stmt.where(one_of(self.session, Profile.id, few))
                    return self._page(stmt, self._seen(stmt), limit, offset)
                along_index = True  # many: walked as the whole list is
        if not along_index:
            return self._page(stmt, self._seen(stmt), limit, offset)
        with in_index_order(self.session):
            return self._page(stmt, self._seen(stmt), limit, offset)

    @staticmethod
    def _seen(stmt: Select[Any]) -> Select[Any]:
        return stmt.where(Profile.seen_minute.is_not(None)).order_by(
            Profile.seen_minute.desc(), Profile.id.desc()
        )

    def _few(self, workspace_id: uuid.UUID, matches: list[Any]) -> list[uuid.UUID] | None:
        """The ids of the live people of the workspace a search matches, read from the
        trigram indexes alone (the table read through, or an index walked, are ruled
        out), when there are at most ``FEW``; None when there are more. The matches of
        every workspace are read, then kept to this one: the workspace's own index would
        read all its people."""
        found = select(Profile.id, Profile.workspace_id, Profile.merged_into_id).where(
            or_(*matches)
        )
        m = found.offset(0).subquery()  # kept apart: no condition of the outer query joins it
        stmt = (
            select(m.c.id)
            .where(m.c.workspace_id == workspace_id, m.c.merged_into_id.is_(None))
            .limit(FEW + 1)
        )
        with planner(self.session, enable_seqscan="off", enable_indexscan="off"):
            ids = list(self.session.scalars(stmt))
        return ids if len(ids) <= FEW else None

    def _page(self, stmt: Select[Any], seen: Select[Any], limit: int, offset: int) -> list[Profile]:
        found = list(self.session.scalars(seen.limit(limit).offset(offset)))
        if len(found) == limit:
            return found
        # Past the people seen. A page that ends them starts the never seen; a page
        # beyond them skips as many never seen as its offset goes past the seen ones
        # (the first page has nothing to skip: no count).
        skip = 0
        if not found and offset > 0:
            counted = seen.order_by(None).with_only_columns(Profile.id).subquery()
            skip = offset - int(self.session.scalar(select(func.count()).select_from(counted)) or 0)
        never = stmt.where(Profile.seen_minute.is_(None)).order_by(Profile.id)
        rest = self.session.scalars(never.limit(limit - len(found)).offset(max(skip, 0)))
        return found + list(rest)

    def count(self, workspace_id: uuid.UUID) -> int:
        stmt = (
            select(func.count())
            .select_from(Profile)
            .where(Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None))
        )
        return int(self.session.scalar(stmt) or 0)

    def all_live(self, workspace_id: uuid.UUID, *, batch: int = 1000) -> Iterator[Profile]:
        """Every live person of the workspace in one pass, streamed ``batch`` at a time
        (pages by id would each sort the workspace again wherever the planner has no
        statistics to prefer the primary key)."""
        stmt = self._live(workspace_id).order_by(Profile.id)
        yield from self.session.scalars(stmt.execution_options(yield_per=batch))


Contribution = tuple[dict[str, Any], str, datetime, str]
ChannelStat = tuple[str, int, datetime, datetime]


class ProfileEventRepository(Repository):
    def contributions(self, profile_id: uuid.UUID) -> list[Contribution]:
        return self.contributions_of([profile_id]).get(profile_id, [])

    def contributions_of(self, profile_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Contribution]]:
        """Each person's events that carry traits, oldest first."""
        out: dict[uuid.UUID, list[Contribution]] = {}
        for chunk in chunks(profile_ids):
            stmt = (
                select(
                    Event.profile_id, Event.traits, Event.source, Event.timestamp, Event.message_id
                )
                .where(one_of(self.session, Event.profile_id, chunk), Event.traits.is_not(None))
                .order_by(Event.profile_id, Event.timestamp, Event.message_id)
            )
            for pid, t, s, ts, m in self.session.execute(stmt):
                out.setdefault(pid, []).append((t or {}, s, ts, m))
        return out

    def channel_stats(self, profile_id: uuid.UUID) -> list[ChannelStat]:
        return self.channel_stats_of([profile_id]).get(profile_id, [])

    def channel_stats_of(self, profile_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[ChannelStat]]:
        """Per person and channel: events, the first and the last."""
        out: dict[uuid.UUID, list[ChannelStat]] = {}
        for chunk in chunks(profile_ids):
            stmt = (
                select(
                    Event.profile_id,
                    Event.channel,
                    func.count(),
                    func.min(Event.timestamp),
                    func.max(Event.timestamp),
                )
                .where(one_of(self.session, Event.profile_id, chunk))
                .group_by(Event.profile_id, Event.channel)
            )
            for pid, c, n, lo, hi in self.session.execute(stmt):
                if pid is not None:
                    out.setdefault(pid, []).append((c, int(n), lo, hi))
        return out

    def timeline(
        self,
        profile_id: uuid.UUID,
        *,
        limit: int,
        before: tuple[datetime, uuid.UUID] | None = None,
        types: list[str] | None = None,
        channels: list[str] | None = None,
        name: str | None = None,
    ) -> list[Event]:
        stmt = select(Event).where(Event.profile_id == profile_id)
        if before is not None:
            ts, eid = before
            stmt = stmt.where(or_(Event.timestamp < ts, (Event.timestamp == ts) & (Event.id < eid)))
        if types:
            stmt = stmt.where(Event.type.in_(types))
        if channels:
            stmt = stmt.where(Event.channel.in_(channels))
        if name:
            stmt = stmt.where(Event.name == name)
        stmt = stmt.order_by(Event.timestamp.desc(), Event.id.desc()).limit(limit)
        return list(self.session.scalars(stmt))


class OrderRepository(Repository):
    def get(self, workspace_id: uuid.UUID, order_id: str) -> Order | None:
        stmt = select(Order).where(Order.workspace_id == workspace_id, Order.order_id == order_id)
        return self.session.scalars(stmt).first()

    def add(self, order: Order) -> Order:
        self.session.add(order)
        self.session.flush()
        return order

    def move_of_events(self, event_ids: list[uuid.UUID], profile_id: uuid.UUID | None) -> None:
        """The orders these events placed now belong to ``profile_id``."""
        self.session.execute(
            update(Order).where(Order.event_id.in_(event_ids)).values(profile_id=profile_id)
        )

    def move_of_identifiers(
        self,
        identifier_ids: list[uuid.UUID],
        profile_id: uuid.UUID | None,
        held_by: list[uuid.UUID],
    ) -> None:
        """The orders of the events whose primary identifier is one of these now belong to
        ``profile_id``. ``held_by``: the people who held the identifiers until now, whose
        events they are (found through the index of events by person)."""
        event_ids = select(Event.id).where(
            EventRepository.from_session(self.session).of_primaries(identifier_ids, held_by)
        )
        self.session.execute(
            update(Order).where(Order.event_id.in_(event_ids)).values(profile_id=profile_id),
            execution_options={"synchronize_session": False},
        )

    def totals(self, profile_id: uuid.UUID) -> tuple[int, Decimal, datetime | None]:
        return self.totals_of([profile_id]).get(profile_id, (0, Decimal(0), None))

    def totals_of(
        self, profile_ids: list[uuid.UUID]
    ) -> dict[uuid.UUID, tuple[int, Decimal, datetime | None]]:
        """Per person with orders: how many (not cancelled), their net revenue, the last."""
        out: dict[uuid.UUID, tuple[int, Decimal, datetime | None]] = {}
        for chunk in chunks(profile_ids):
            stmt = (
                select(
                    Order.profile_id,
                    func.count(),
                    func.coalesce(func.sum(Order.total - Order.refunded), 0),
                    func.max(Order.placed_at),
                )
                .where(one_of(self.session, Order.profile_id, chunk), Order.status != "cancelled")
                .group_by(Order.profile_id)
            )
            for pid, n, revenue, last in self.session.execute(stmt):
                if pid is not None:
                    out[pid] = (int(n), Decimal(str(revenue or 0)), last)
        return out

    def of_profiles(self, profile_ids: list[uuid.UUID]) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(order id, person) of every order these people hold."""
        out: list[tuple[uuid.UUID, uuid.UUID]] = []
        for chunk in chunks(profile_ids):
            stmt = select(Order.id, Order.profile_id).where(
                one_of(self.session, Order.profile_id, chunk)
            )
            out.extend((oid, pid) for oid, pid in self.session.execute(stmt) if pid is not None)
        return out

    def assign_each(self, owners: dict[uuid.UUID, uuid.UUID]) -> None:
        """Give each order (key) its person (value)."""
        update_by_id(
            self.session, Order.__table__, [{"id": o, "profile_id": p} for o, p in owners.items()]
        )

    def recent(self, profile_id: uuid.UUID, limit: int = 10) -> list[Order]:
        stmt = (
            select(Order)
            .where(Order.profile_id == profile_id)
            .order_by(Order.placed_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))
