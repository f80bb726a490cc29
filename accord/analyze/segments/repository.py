"""SQL of segments: definitions, members, their history, timers and sizes."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, String, cast, delete, exists, func, insert, or_, select, update

from accord.analyze.segments.models import (
    ComputedTrait,
    Segment,
    SegmentChange,
    SegmentClock,
    SegmentDirty,
    SegmentMember,
    SegmentSize,
    SegmentTimer,
)
from accord.kit.dialect import full_join, insert_ignore, one_of
from accord.kit.ids import new_id
from accord.kit.planning import in_index_order
from accord.kit.repository import Repository
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository

CHUNK = 5000


def _chunks(values: Collection[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    items = list(values)
    for i in range(0, len(items), size):
        yield items[i : i + size]


class SegmentRepository(Repository):
    def get(self, workspace_id: uuid.UUID, segment_id: uuid.UUID) -> Segment | None:
        row = self.session.get(Segment, segment_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def by_name(self, workspace_id: uuid.UUID, name: str) -> Segment | None:
        stmt = select(Segment).where(Segment.workspace_id == workspace_id, Segment.name == name)
        return self.session.scalars(stmt).first()

    def all(self, workspace_id: uuid.UUID, *, archived: bool = False) -> list[Segment]:
        stmt = select(Segment).where(Segment.workspace_id == workspace_id)
        if not archived:
            stmt = stmt.where(Segment.status == "active")
        return list(self.session.scalars(stmt.order_by(Segment.name)))

    def topics_in_use(self, workspace_id: uuid.UUID) -> set[str]:
        """What the workspace's active segments depend on, together."""
        stmt = select(Segment.topics).where(
            Segment.workspace_id == workspace_id, Segment.status == "active"
        )
        return {t for topics in self.session.scalars(stmt) for t in topics or ()}

    def calendar(self) -> list[Segment]:
        stmt = select(Segment).where(Segment.status == "active", Segment.calendar.is_(True))
        return list(self.session.scalars(stmt))

    def add(self, segment: Segment) -> Segment:
        self.session.add(segment)
        self.session.flush()
        return segment

    # --- members ------------------------------------------------------------------------

    def member_ids(
        self, segment_id: uuid.UUID, scope: Collection[uuid.UUID] | None = None
    ) -> set[uuid.UUID]:
        stmt = select(SegmentMember.profile_id).where(SegmentMember.segment_id == segment_id)
        if scope is None:
            return set(self.session.scalars(stmt))
        out: set[uuid.UUID] = set()
        for part in _chunks(scope):
            out.update(
                self.session.scalars(
                    stmt.where(one_of(self.session, SegmentMember.profile_id, part))
                )
            )
        return out

    def membership_diff(
        self, segment_id: uuid.UUID, members: Select[Any]
    ) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
        """Who ``members`` (a select of profile ids) holds and the segment does not
        (entering), and who the segment holds and ``members`` does not (leaving), found
        in the database: only the differences travel, not the two whole lists. One
        evaluation of ``members`` where the database has a full join, else two."""
        found = members.subquery("found")
        held = (
            select(SegmentMember.profile_id.label("pid"))
            .where(SegmentMember.segment_id == segment_id)
            .subquery("held")
        )
        entering: set[uuid.UUID] = set()
        leaving: set[uuid.UUID] = set()
        if full_join(self.session):
            stmt = (
                select(found.c.id, held.c.pid)
                .select_from(found.join(held, held.c.pid == found.c.id, full=True))
                .where(or_(found.c.id.is_(None), held.c.pid.is_(None)))
            )
            for new, old in self.session.execute(stmt):
                if new is not None:
                    entering.add(new)
                else:
                    leaving.add(old)
            return entering, leaving
        entering.update(
            self.session.scalars(
                select(found.c.id).where(~exists().where(held.c.pid == found.c.id))
            )
        )
        leaving.update(self.session.scalars(select(held.c.pid).where(held.c.pid.not_in(members))))
        return entering, leaving

    def add_members(self, segment: Segment, ids: Collection[uuid.UUID], since: datetime) -> None:
        rows = [
            {
                "segment_id": segment.id,
                "profile_id": pid,
                "workspace_id": segment.workspace_id,
                "since": since,
            }
            for pid in ids
        ]
        self._insert(SegmentMember, rows, ["segment_id", "profile_id"])

    def _insert(self, model: Any, rows: list[dict[str, Any]], key: list[str]) -> None:
        """Many rows at once: on PostgreSQL one statement a chunk (the rows as one JSON
        parameter), elsewhere one prepared statement run over them."""
        postgres = self.session.get_bind().dialect.name == "postgresql"
        for part in _chunks(rows):
            if postgres:
                insert_ignore(self.session, model.__table__, part, key)
            else:
                self.session.execute(insert(model), part)

    def remove_members(self, segment_id: uuid.UUID, ids: Collection[uuid.UUID]) -> None:
        for part in _chunks(ids):
            self.session.execute(
                delete(SegmentMember).where(
                    SegmentMember.segment_id == segment_id,
                    one_of(self.session, SegmentMember.profile_id, part),
                )
            )

    def memberships_of(self, profile_ids: Collection[uuid.UUID]) -> list[SegmentMember]:
        out: list[SegmentMember] = []
        for part in _chunks(profile_ids):
            stmt = select(SegmentMember).where(one_of(self.session, SegmentMember.profile_id, part))
            out.extend(self.session.scalars(stmt))
        return out

    def members_page(
        self, segment_id: uuid.UUID, limit: int, after: uuid.UUID | None = None
    ) -> list[tuple[SegmentMember, Profile]]:
        # The page's members first, then their people by key. Joined in one statement,
        # PostgreSQL may merge or hash the members with every person of the workspace
        # (its generic plan cannot know how few rows the limit leaves).
        page = select(SegmentMember).where(SegmentMember.segment_id == segment_id)
        if after is not None:
            page = page.where(SegmentMember.profile_id > after)
        with in_index_order(self.session):  # along the key, never every member sorted
            members = list(
                self.session.scalars(page.order_by(SegmentMember.profile_id).limit(limit))
            )
        people = ProfileRepository.from_session(self.session).by_ids(
            [m.profile_id for m in members]
        )
        return [(m, people[m.profile_id]) for m in members if m.profile_id in people]

    def segments_of(
        self, workspace_id: uuid.UUID, profile_id: uuid.UUID
    ) -> list[tuple[Segment, datetime]]:
        stmt = (
            select(Segment, SegmentMember.since)
            .join(SegmentMember, SegmentMember.segment_id == Segment.id)
            .where(SegmentMember.profile_id == profile_id, Segment.workspace_id == workspace_id)
            .order_by(Segment.name)
        )
        return [(s, since) for s, since in self.session.execute(stmt)]

    # --- history ------------------------------------------------------------------------

    def add_changes(self, rows: list[dict[str, Any]]) -> None:
        self._insert(SegmentChange, [{"id": new_id(), **r} for r in rows], ["id"])

    def changes_of_profile(
        self, workspace_id: uuid.UUID, profile_id: uuid.UUID, limit: int = 100
    ) -> list[tuple[SegmentChange, str]]:
        stmt = (
            select(SegmentChange, Segment.name)
            .join(Segment, Segment.id == SegmentChange.segment_id)
            .where(
                SegmentChange.workspace_id == workspace_id, SegmentChange.profile_id == profile_id
            )
            .order_by(SegmentChange.at.desc(), SegmentChange.id.desc())
            .limit(limit)
        )
        return [(c, n) for c, n in self.session.execute(stmt)]

    def changes_of_segment(self, segment_id: uuid.UUID, limit: int = 50) -> list[SegmentChange]:
        stmt = (
            select(SegmentChange)
            .where(SegmentChange.segment_id == segment_id)
            .order_by(SegmentChange.at.desc(), SegmentChange.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def changes_after(
        self, workspace_id: uuid.UUID, after: uuid.UUID | None, limit: int
    ) -> list[SegmentChange]:
        stmt = select(SegmentChange).where(SegmentChange.workspace_id == workspace_id)
        if after is not None:
            stmt = stmt.where(SegmentChange.id > after)
        return list(self.session.scalars(stmt.order_by(SegmentChange.id).limit(limit)))

    # --- sizes --------------------------------------------------------------------------

    def record_size(self, segment: Segment, day: str) -> None:
        done = self.session.execute(
            update(SegmentSize)
            .where(SegmentSize.segment_id == segment.id, SegmentSize.day == day)
            .values(size=segment.size)
        )
        if not done.rowcount:  # type: ignore[attr-defined]
            self.session.execute(
                insert(SegmentSize).values(
                    segment_id=segment.id,
                    day=day,
                    size=segment.size,
                    workspace_id=segment.workspace_id,
                )
            )

    def sizes(self, segment_id: uuid.UUID, since_day: str) -> list[tuple[str, int]]:
        stmt = (
            select(SegmentSize.day, SegmentSize.size)
            .where(SegmentSize.segment_id == segment_id, SegmentSize.day >= since_day)
            .order_by(SegmentSize.day)
        )
        return [(d, s) for d, s in self.session.execute(stmt)]

    def size_before(self, segment_id: uuid.UUID, day: str) -> int | None:
        stmt = (
            select(SegmentSize.size)
            .where(SegmentSize.segment_id == segment_id, SegmentSize.day < day)
            .order_by(SegmentSize.day.desc())
            .limit(1)
        )
        return self.session.scalar(stmt)

    # --- timers -------------------------------------------------------------------------

    def replace_timers(
        self,
        segment: Segment,
        scope: Collection[uuid.UUID] | None,
        due: dict[uuid.UUID, datetime],
    ) -> None:
        """Make the segment's timers for ``scope`` (everyone: None) those of ``due``,
        writing only what differs from the timers already there."""
        held = self.timers(segment.id, scope)
        stale = [pid for pid, at in held.items() if due.get(pid) != at]
        for part in _chunks(stale):
            self.session.execute(
                delete(SegmentTimer).where(
                    SegmentTimer.segment_id == segment.id,
                    one_of(self.session, SegmentTimer.profile_id, part),
                )
            )
        rows = [
            {
                "segment_id": segment.id,
                "profile_id": pid,
                "workspace_id": segment.workspace_id,
                "due_at": at,
            }
            for pid, at in due.items()
            if held.get(pid) != at
        ]
        self._insert(SegmentTimer, rows, ["segment_id", "profile_id"])

    def timers(
        self, segment_id: uuid.UUID, scope: Collection[uuid.UUID] | None
    ) -> dict[uuid.UUID, datetime]:
        stmt = select(SegmentTimer.profile_id, SegmentTimer.due_at).where(
            SegmentTimer.segment_id == segment_id
        )
        if scope is None:
            return {pid: at for pid, at in self.session.execute(stmt)}
        out: dict[uuid.UUID, datetime] = {}
        for part in _chunks(scope):
            rows = self.session.execute(
                stmt.where(one_of(self.session, SegmentTimer.profile_id, part))
            )
            out.update({pid: at for pid, at in rows})
        return out

    def due(
        self, workspace_id: uuid.UUID, now: datetime, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
        stmt = (
            select(SegmentTimer.segment_id, SegmentTimer.profile_id, SegmentTimer.due_at)
            .where(SegmentTimer.workspace_id == workspace_id, SegmentTimer.due_at <= now)
            .order_by(SegmentTimer.due_at)
            .limit(limit)
        )
        return [(s, p, d) for s, p, d in self.session.execute(stmt)]

    def next_due(self, workspace_id: uuid.UUID) -> datetime | None:
        stmt = select(func.min(SegmentTimer.due_at)).where(
            SegmentTimer.workspace_id == workspace_id
        )
        return self.session.scalar(stmt)

    def drop_timers(self, pairs: Collection[tuple[uuid.UUID, uuid.UUID]]) -> None:
        """Delete these timers: one statement per segment (and chunk), not one a timer."""
        by_segment: dict[uuid.UUID, list[uuid.UUID]] = {}
        for segment_id, profile_id in pairs:
            by_segment.setdefault(segment_id, []).append(profile_id)
        for segment_id, people in by_segment.items():
            for part in _chunks(people):
                self.session.execute(
                    delete(SegmentTimer).where(
                        SegmentTimer.segment_id == segment_id,
                        one_of(self.session, SegmentTimer.profile_id, part),
                    )
                )

    def drop_timers_of(self, profile_ids: Collection[uuid.UUID]) -> None:
        for part in _chunks(profile_ids):
            self.session.execute(
                delete(SegmentTimer).where(one_of(self.session, SegmentTimer.profile_id, part))
            )

    def workspaces_due(self, now: datetime) -> list[uuid.UUID]:
        stmt = select(SegmentTimer.workspace_id).where(SegmentTimer.due_at <= now).distinct()
        return list(self.session.scalars(stmt))

    def claim_sweep(self, workspace_id: uuid.UUID, at: datetime, now: datetime) -> bool:
        """Whether a sweep at ``at`` should be scheduled: none is waiting, or the one
        waiting is later (or already past, so it ran or was lost)."""
        row = self.session.get(SegmentClock, workspace_id)
        if row is None:
            self.session.add(SegmentClock(workspace_id=workspace_id, next_at=at))
            self.session.flush()
            return True
        done = self.session.execute(
            update(SegmentClock)
            .where(
                SegmentClock.workspace_id == workspace_id,
                or_(
                    SegmentClock.next_at.is_(None),
                    SegmentClock.next_at > at,
                    SegmentClock.next_at <= now,
                ),
            )
            .values(next_at=at)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    # --- the people waiting to be evaluated -----------------------------------------------

    def add_dirty(
        self,
        workspace_id: uuid.UUID,
        profile_ids: Collection[uuid.UUID],
        topics: Collection[str],
        at: datetime,
    ) -> None:
        self.session.add(
            SegmentDirty(
                id=new_id(),
                workspace_id=workspace_id,
                profile_ids=sorted(str(p) for p in profile_ids),
                topics=sorted(topics),
                noted_at=at,
            )
        )

    def take_dirty(self, workspace_id: uuid.UUID, limit: int) -> list[SegmentDirty]:
        """The oldest waiting rows of the workspace, deleted as they are taken (the caller
        holds the workspace's segments lock)."""
        return self.take_oldest(SegmentDirty, workspace_id, limit)

    def dirty_workspaces(self) -> list[uuid.UUID]:
        return list(self.session.scalars(select(SegmentDirty.workspace_id).distinct()))

    # --- people ---------------------------------------------------------------------------

    def liveness(
        self, workspace_id: uuid.UUID, ids: Collection[uuid.UUID]
    ) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
        """Which of ``ids`` are live people of the workspace, and which are not (merged
        away or gone)."""
        live: set[uuid.UUID] = set()
        for part in _chunks(ids):
            stmt = select(Profile.id).where(
                Profile.workspace_id == workspace_id,
                Profile.merged_into_id.is_(None),
                one_of(self.session, Profile.id, part),
            )
            live.update(self.session.scalars(stmt))
        return live, set(ids) - live

    def live_count(self, workspace_id: uuid.UUID) -> int:
        stmt = (
            select(func.count())
            .select_from(Profile)
            .where(Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None))
        )
        return int(self.session.scalar(stmt) or 0)

    def live_sample(self, workspace_id: uuid.UUID, parts: int) -> list[uuid.UUID]:
        """A random ``parts``/256 of the workspace's live people: those whose id hashes
        to a byte below ``parts`` (a hash rather than the id's own digits, which follow
        the order and the batches people were made in). PostgreSQL hashes in SQL
        (``hashtext``, a third of the time of ``md5`` on a million ids); elsewhere the
        ids are hashed as they are read (``sample_part``)."""
        stmt = select(Profile.id).where(
            Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None)
        )
        if parts >= 256:
            return list(self.session.scalars(stmt))
        if self.session.get_bind().dialect.name == "postgresql":
            part = func.hashtext(cast(Profile.id, String)).op("&")(255)
            return list(self.session.scalars(stmt.where(part < parts)))
        rows = self.session.scalars(stmt.execution_options(yield_per=10_000))
        return [p for p in rows if sample_part(p) < parts]

    def last_seen(self, profile_ids: Sequence[uuid.UUID], limit: int) -> list[Profile]:
        """Of these people, the ``limit`` seen last."""
        stmt = (
            select(Profile)
            .where(one_of(self.session, Profile.id, profile_ids))
            .order_by(Profile.seen_minute.desc(), Profile.last_seen_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))


def sample_part(profile_id: uuid.UUID) -> int:
    """Which of 256 parts a person falls in for sampling, where the database does not
    hash: a one-byte BLAKE2 digest of the id."""
    return hashlib.blake2b(profile_id.bytes, digest_size=1).digest()[0]


class ComputedTraitRepository(Repository):
    def all(self, workspace_id: uuid.UUID) -> list[ComputedTrait]:
        stmt = select(ComputedTrait).where(ComputedTrait.workspace_id == workspace_id)
        return list(self.session.scalars(stmt.order_by(ComputedTrait.key)))

    def get(self, workspace_id: uuid.UUID, key: str) -> ComputedTrait | None:
        stmt = select(ComputedTrait).where(
            ComputedTrait.workspace_id == workspace_id, ComputedTrait.key == key
        )
        return self.session.scalars(stmt).first()

    def add(self, row: ComputedTrait) -> ComputedTrait:
        self.session.add(row)
        self.session.flush()
        return row
