"""SQL of audiences: destinations, deliveries and their log, the segment changes a
destination has not yet considered, and a segment's members a page at a time for an
export."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, update

from accord.analyze.audiences.models import Delivery, Destination
from accord.analyze.segments.models import Segment, SegmentChange, SegmentMember
from accord.kit.dialect import one_of
from accord.kit.repository import Repository
from accord.profile.models import Profile

# What the delivery log shows and the retry sweep reads: deliveries still to be sent.
OPEN = ("pending", "sending", "retrying")
DONE = ("delivered", "failed")


class DestinationRepository(Repository):
    def get(self, workspace_id: uuid.UUID, destination_id: uuid.UUID) -> Destination | None:
        row = self.session.get(Destination, destination_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def by_name(self, workspace_id: uuid.UUID, name: str) -> Destination | None:
        stmt = select(Destination).where(
            Destination.workspace_id == workspace_id, Destination.name == name
        )
        return self.session.scalars(stmt).first()

    def all(self, workspace_id: uuid.UUID) -> list[Destination]:
        stmt = select(Destination).where(Destination.workspace_id == workspace_id)
        return list(self.session.scalars(stmt.order_by(Destination.name)))

    def active(self, workspace_id: uuid.UUID) -> list[Destination]:
        stmt = select(Destination).where(
            Destination.workspace_id == workspace_id, Destination.status == "active"
        )
        return list(self.session.scalars(stmt.order_by(Destination.id)))

    def workspaces_with_active(self) -> list[uuid.UUID]:
        stmt = select(Destination.workspace_id).where(Destination.status == "active").distinct()
        return list(self.session.scalars(stmt))

    def add(self, row: Destination) -> Destination:
        self.session.add(row)
        self.session.flush()
        return row

    def remove(self, row: Destination) -> None:
        self.session.delete(row)
        self.session.flush()

    # --- the changes to send ----------------------------------------------------------

    def changes(
        self,
        workspace_id: uuid.UUID,
        after: uuid.UUID,
        kinds: Collection[str],
        segment_ids: Collection[uuid.UUID] | None,
        limit: int,
    ) -> list[SegmentChange]:
        """The workspace's segment changes after ``after`` (by id, so in time order) of
        these kinds, of these segments (all when None)."""
        where: list[ColumnElement[bool]] = [
            SegmentChange.workspace_id == workspace_id,
            SegmentChange.id > after,
            SegmentChange.kind.in_(list(kinds)),
        ]
        if segment_ids is not None:
            where.append(one_of(self.session, SegmentChange.segment_id, list(segment_ids)))
        stmt = select(SegmentChange).where(*where).order_by(SegmentChange.id).limit(limit)
        return list(self.session.scalars(stmt))

    def segments(self, workspace_id: uuid.UUID) -> dict[uuid.UUID, Segment]:
        stmt = select(Segment).where(Segment.workspace_id == workspace_id)
        return {s.id: s for s in self.session.scalars(stmt)}

    def people(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Profile]:
        if not ids:
            return {}
        stmt = select(Profile).where(one_of(self.session, Profile.id, list(ids)))
        return {p.id: p for p in self.session.scalars(stmt)}

    def set_cursor(self, destination_id: uuid.UUID, cursor: uuid.UUID) -> None:
        self.session.execute(
            update(Destination)
            .where(Destination.id == destination_id, Destination.cursor_id < cursor)
            .values(cursor_id=cursor)
        )


class DeliveryRepository(Repository):
    def get(self, delivery_id: uuid.UUID) -> Delivery | None:
        return self.session.get(Delivery, delivery_id)

    def of_destination(self, destination: Destination, delivery_id: uuid.UUID) -> Delivery | None:
        row = self.session.get(Delivery, delivery_id)
        if row is None or row.destination_id != destination.id:
            return None
        return row if row.workspace_id == destination.workspace_id else None

    def add_many(self, rows: Sequence[Delivery]) -> None:
        self.session.add_all(rows)
        self.session.flush()

    def sent_changes(
        self, destination_id: uuid.UUID, change_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of these changes already have a delivery to this destination."""
        if not change_ids:
            return set()
        stmt = select(Delivery.change_id).where(
            Delivery.destination_id == destination_id,
            one_of(self.session, Delivery.change_id, list(change_ids)),
        )
        return {c for c in self.session.scalars(stmt) if c is not None}

    def log(
        self,
        destination_id: uuid.UUID,
        *,
        status: str | None,
        limit: int,
        before: uuid.UUID | None,
    ) -> list[Delivery]:
        """The destination's deliveries, newest first."""
        stmt = select(Delivery).where(Delivery.destination_id == destination_id)
        if status is not None:
            stmt = stmt.where(Delivery.status == status)
        if before is not None:
            stmt = stmt.where(Delivery.id < before)
        return list(self.session.scalars(stmt.order_by(Delivery.id.desc()).limit(limit)))

    def counts(self, destination_id: uuid.UUID) -> dict[str, int]:
        stmt = (
            select(Delivery.status, func.count())
            .where(Delivery.destination_id == destination_id)
            .group_by(Delivery.status)
        )
        return {status: int(n) for status, n in self.session.execute(stmt).all()}

    def waiting(self, destination_id: uuid.UUID) -> list[uuid.UUID]:
        """Deliveries of a destination that wait to be sent (it was paused)."""
        stmt = select(Delivery.id).where(
            Delivery.destination_id == destination_id, Delivery.status.in_(OPEN)
        )
        return list(self.session.scalars(stmt.order_by(Delivery.id)))

    def due(self, before: datetime, limit: int) -> list[uuid.UUID]:
        """Open deliveries whose next attempt is due by ``before`` (their job was lost, or
        an attempt under way died with its process)."""
        stmt = (
            select(Delivery.id)
            .where(Delivery.status.in_(OPEN), Delivery.next_attempt_at <= before)
            .order_by(Delivery.next_attempt_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def claim(self, delivery_id: uuid.UUID, now: datetime, lease_until: datetime) -> bool:
        """Take an open delivery whose attempt is due for an attempt now: only one sender
        at a time holds it, until ``lease_until``."""
        done = self.session.execute(
            update(Delivery)
            .where(
                Delivery.id == delivery_id,
                Delivery.status.in_(OPEN),
                (Delivery.next_attempt_at.is_(None)) | (Delivery.next_attempt_at <= now),
            )
            .values(status="sending", next_attempt_at=lease_until)
        )
        return bool(done.rowcount)  # type: ignore[attr-defined]

    def prune(self, before: uuid.UUID, cutoff: datetime) -> int:
        """Remove the finished deliveries made before the id ``before`` (ids are
        time-ordered) whose last attempt, if any, was before ``cutoff`` (a replay)."""
        done = self.session.execute(
            delete(Delivery).where(
                Delivery.id < before,
                Delivery.status.in_(DONE),
                Delivery.last_attempt_at.is_(None) | (Delivery.last_attempt_at < cutoff),
            ),
            execution_options={"synchronize_session": False},
        )
        return max(int(getattr(done, "rowcount", 0) or 0), 0)


class MemberRepository(Repository):
    def page(
        self,
        segment_id: uuid.UUID,
        after: uuid.UUID | None,
        limit: int,
        computed: Sequence[ColumnElement[Any]] = (),
    ) -> list[tuple[Any, ...]]:
        """A page of a segment's members along their ids: (member since, the person,
        then the value of each computed column)."""
        stmt = (
            select(SegmentMember.since, Profile, *computed)
            .join(Profile, Profile.id == SegmentMember.profile_id)
            .where(SegmentMember.segment_id == segment_id)
            .order_by(SegmentMember.profile_id)
            .limit(limit)
        )
        if after is not None:
            stmt = stmt.where(SegmentMember.profile_id > after)
        return [tuple(row) for row in self.session.execute(stmt)]
