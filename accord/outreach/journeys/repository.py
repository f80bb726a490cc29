"""The SQL of journeys: definitions and versions, entries (claiming the due ones), the
step log, signals."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, literal_column, select, update
from sqlalchemy.orm import Session

from accord.analyze.segments.models import SegmentChange, SegmentMember
from accord.collect.models import Event
from accord.kit.db import written
from accord.kit.dialect import copy_rows, insert_ignore, one_of, update_by_id
from accord.kit.planning import planner
from accord.kit.repository import Repository
from accord.outreach.journeys.models import (
    Journey,
    JourneyEntry,
    JourneySignal,
    JourneyStepLog,
    JourneyVersion,
)
from accord.outreach.models import Send
from accord.profile.models import Profile

UNFINISHED = ("waiting",)
ALIKE = 20  # entries given the same values updated in one statement from this many


def append(session: Session, table: Any, rows: Sequence[dict[str, Any]]) -> int:
    """Rows (as dicts; a column left out is NULL) appended in the fastest way the
    database takes them (``kit.dialect.copy_rows``)."""
    if not rows:
        return 0
    names = [c.name for c in written(table)]
    return copy_rows(session, table, ([row.get(n) for n in names] for row in rows))


# How due steps are claimed: along the due index in its order, never gathered and sorted.
CLAIM_PLANNER = {"enable_bitmapscan": "off", "enable_sort": "off"}
# The due index's condition written as it is in the index, not as a parameter: a
# prepared statement's generic plan could not use a partial index on a parameter.
WAITING = JourneyEntry.status == literal_column("'waiting'")
# Whether an entry's person was merged into another, read by the profile's primary key.
_MERGED = (
    select(Profile.id)
    .where(Profile.id == JourneyEntry.profile_id, Profile.merged_into_id.is_not(None))
    .exists()
)


class JourneyRepository(Repository):
    def get(self, workspace_id: uuid.UUID, journey_id: uuid.UUID) -> Journey | None:
        found = self.session.get(Journey, journey_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    def by_name(self, workspace_id: uuid.UUID, name: str) -> Journey | None:
        return self.session.scalars(
            select(Journey).where(Journey.workspace_id == workspace_id, Journey.name == name)
        ).first()

    def all(self, workspace_id: uuid.UUID) -> list[Journey]:
        return list(
            self.session.scalars(
                select(Journey)
                .where(Journey.workspace_id == workspace_id)
                .order_by(Journey.created_at.desc())
            )
        )

    def active(self, workspace_id: uuid.UUID) -> list[Journey]:
        return list(
            self.session.scalars(
                select(Journey).where(
                    Journey.workspace_id == workspace_id, Journey.status == "active"
                )
            )
        )

    def version(self, journey_id: uuid.UUID, version: int) -> JourneyVersion | None:
        return self.session.get(JourneyVersion, (journey_id, version))

    def add_version(self, row: JourneyVersion) -> None:
        self.session.add(row)
        self.session.flush()

    # --- entries ---------------------------------------------------------------------

    def entries_of(self, journey_id: uuid.UUID, profile_id: uuid.UUID) -> list[JourneyEntry]:
        return list(
            self.session.scalars(
                select(JourneyEntry).where(
                    JourneyEntry.journey_id == journey_id, JourneyEntry.profile_id == profile_id
                )
            )
        )

    def add_entries(self, rows: Sequence[dict[str, Any]]) -> int:
        return insert_ignore(self.session, JourneyEntry.__table__, rows, ["id"])

    def claim_due(
        self,
        workspace_id: uuid.UUID,
        journey_ids: Sequence[uuid.UUID],
        now: datetime,
        limit: int,
    ) -> list[Any]:
        """Up to ``limit`` waiting people of these journeys (the workspace's active ones)
        whose time has come, the earliest first, locked for this transaction (PostgreSQL
        skips those another worker holds). Each as a short row: its id, journey, version
        and step, whether it is plain (it waits for no event and none has arrived: the
        steps ahead depend only on where it is) and whether the person is live (not
        merged away). What else steps read of an entry: ``due_rows``.

        The entries are read alone, along the due index (workspace, wake-up time), so
        that the scan stops at ``limit`` whatever the statistics say (``CLAIM_PLANNER``:
        on a table never analyzed the planner expects a few due rows, and would gather
        and sort every due person of the workspace for each batch)."""
        if not journey_ids:
            return []
        e = JourneyEntry
        stmt = (
            select(
                e.id,
                e.journey_id,
                e.version,
                e.step,
                and_(e.waiting_for.is_(None), e.context["event_arrived"].as_string().is_(None)),
                ~_MERGED,
            )
            .where(
                e.workspace_id == workspace_id,
                WAITING,
                e.wake_at <= now,
                one_of(self.session, e.journey_id, list(journey_ids)),
            )
            .order_by(e.wake_at)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        with planner(self.session, **CLAIM_PLANNER):
            return list(self.session.execute(stmt))

    def due_rows(self, ids: Sequence[uuid.UUID]) -> list[Any]:
        """Claimed entries read whole, as plain rows in the order of ``engine.Due``."""
        if not ids:
            return []
        e = JourneyEntry
        return list(
            self.session.execute(
                select(
                    e.id,
                    e.workspace_id,
                    e.journey_id,
                    e.version,
                    e.profile_id,
                    e.step,
                    e.waiting_for,
                    e.context,
                    e.entered_at,
                ).where(one_of(self.session, e.id, list(ids)))
            )
        )

    def next_wake(self, workspace_id: uuid.UUID) -> datetime | None:
        return self.session.scalar(
            select(func.min(JourneyEntry.wake_at)).where(
                WAITING, JourneyEntry.workspace_id == workspace_id
            )
        )

    def workspaces_due(self, now: datetime) -> list[uuid.UUID]:
        return list(
            self.session.scalars(
                select(JourneyEntry.workspace_id)
                .where(WAITING, JourneyEntry.wake_at <= now)
                .group_by(JourneyEntry.workspace_id)
            )
        )

    def waiting_for(
        self, workspace_id: uuid.UUID, profile_ids: Collection[uuid.UUID]
    ) -> list[JourneyEntry]:
        """Unfinished entries of these people (a signal may wake or end them)."""
        if not profile_ids:
            return []
        return list(
            self.session.scalars(
                select(JourneyEntry).where(
                    JourneyEntry.workspace_id == workspace_id,
                    one_of(self.session, JourneyEntry.profile_id, list(profile_ids)),
                    JourneyEntry.status.in_((*UNFINISHED, "holdout")),
                )
            )
        )

    def update_entries(self, rows: Sequence[dict[str, Any]]) -> None:
        """Each row's new values by its ``id``: entries given the same values (a batch
        of people who took the same steps at once) in one statement by their ids, the
        others a statement per set of columns."""
        alike: dict[str, tuple[dict[str, Any], list[uuid.UUID]]] = {}
        for row in rows:
            values = {k: v for k, v in row.items() if k != "id"}
            key = repr(sorted(values.items(), key=lambda kv: kv[0]))
            alike.setdefault(key, (values, []))[1].append(row["id"])
        scattered: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values, ids in alike.values():
            if len(ids) >= ALIKE:
                for part in range(0, len(ids), 10_000):
                    self.session.execute(
                        update(JourneyEntry)
                        .where(one_of(self.session, JourneyEntry.id, ids[part : part + 10_000]))
                        .values(**values)
                        .execution_options(synchronize_session=False)
                    )
            else:
                for entry_id in ids:
                    row = {"id": entry_id, **values}
                    scattered.setdefault(tuple(sorted(row)), []).append(row)
        for group in scattered.values():
            update_by_id(self.session, JourneyEntry.__table__, group)

    def log(self, rows: Sequence[dict[str, Any]]) -> int:
        """Append the step log of a batch (COPY on PostgreSQL): a batch takes each
        person's steps once, in the transaction that moves them on."""
        return append(self.session, JourneyStepLog.__table__, rows)

    # --- what branches ask -----------------------------------------------------------

    # Each asked once for all the people of a batch (``branches.Answers``).

    def latest_events(
        self,
        workspace_id: uuid.UUID,
        profile_ids: Collection[uuid.UUID],
        event: str,
        since: datetime,
    ) -> dict[uuid.UUID, datetime]:
        """Each person's latest ``event`` since ``since`` (people without one left out)."""
        rows = self.session.execute(
            select(Event.profile_id, func.max(Event.timestamp))
            .where(
                Event.workspace_id == workspace_id,
                one_of(self.session, Event.profile_id, list(profile_ids)),
                Event.name == event,
                Event.timestamp >= since,
            )
            .group_by(Event.profile_id)
        )
        return {pid: at for pid, at in rows if pid is not None}

    def engagement(self, source_keys: Collection[str]) -> dict[str, tuple[bool, bool]]:
        """Whether the message of each source key was opened, and clicked."""
        rows = self.session.execute(
            select(Send.source_key, Send.opened_at, Send.clicked_at).where(
                one_of(self.session, Send.source_key, list(source_keys))
            )
        )
        return {key: (opened is not None, clicked is not None) for key, opened, clicked in rows}

    def members(self, segment_id: uuid.UUID, profile_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        return set(
            self.session.scalars(
                select(SegmentMember.profile_id).where(
                    SegmentMember.segment_id == segment_id,
                    one_of(self.session, SegmentMember.profile_id, list(profile_ids)),
                )
            )
        )

    def segment_entries(
        self, segment_id: uuid.UUID, after: uuid.UUID | None, limit: int
    ) -> list[tuple[uuid.UUID, uuid.UUID, datetime]]:
        """Entries into a segment after the change ``after``, oldest first."""
        stmt = select(SegmentChange.id, SegmentChange.profile_id, SegmentChange.at).where(
            SegmentChange.segment_id == segment_id, SegmentChange.kind == "entered"
        )
        if after is not None:
            stmt = stmt.where(SegmentChange.id > after)
        rows = self.session.execute(stmt.order_by(SegmentChange.id).limit(limit))
        return [(change_id, profile_id, at) for change_id, profile_id, at in rows]

    def with_active(self) -> list[uuid.UUID]:
        """Workspaces with an active journey (their triggers are read from versions)."""
        return list(
            self.session.scalars(
                select(Journey.workspace_id)
                .where(Journey.status == "active")
                .group_by(Journey.workspace_id)
            )
        )

    # --- signals ---------------------------------------------------------------------

    def add_signals(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            insert_ignore(self.session, JourneySignal.__table__, rows, ["id"])

    def take_signals(self, workspace_id: uuid.UUID, limit: int = 5000) -> list[JourneySignal]:
        stmt = (
            select(JourneySignal)
            .where(JourneySignal.workspace_id == workspace_id)
            .order_by(JourneySignal.id)
            .limit(limit)
        )
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        rows = list(self.session.scalars(stmt))
        if rows:
            self.session.execute(
                delete(JourneySignal).where(
                    one_of(self.session, JourneySignal.id, [r.id for r in rows])
                )
            )
        return rows

    def workspaces_with_signals(self) -> list[uuid.UUID]:
        return list(
            self.session.scalars(
                select(JourneySignal.workspace_id).group_by(JourneySignal.workspace_id)
            )
        )

    def sending_groups(self, journey_id: uuid.UUID) -> list[tuple[int, str, datetime]]:
        """(version, step, first queued) of a journey's messages waiting to be sent."""
        rows = self.session.execute(
            select(Send.version, Send.step, func.min(Send.queued_at))
            .where(Send.journey_id == journey_id, Send.status.in_(("queued", "held")))
            .group_by(Send.version, Send.step)
        )
        return [(int(v), str(s), at) for v, s, at in rows if v is not None and s is not None]

    def journeys_sending(self) -> list[uuid.UUID]:
        return list(
            self.session.scalars(select(Journey.id).where(Journey.status.in_(("active", "paused"))))
        )

    def exit_unfinished(self, journey_id: uuid.UUID, reason: str, now: datetime) -> None:
        self.session.execute(
            update(JourneyEntry)
            .where(
                JourneyEntry.journey_id == journey_id,
                JourneyEntry.status.in_((*UNFINISHED, "holdout")),
            )
            .values(status="exited", reason=reason, finished_at=now, wake_at=None)
            .execution_options(synchronize_session=False)
        )

    def entries(
        self, journey_id: uuid.UUID, status: str | None, limit: int, after: uuid.UUID | None
    ) -> list[JourneyEntry]:
        stmt = select(JourneyEntry).where(JourneyEntry.journey_id == journey_id)
        if status:
            stmt = stmt.where(JourneyEntry.status == status)
        if after is not None:
            stmt = stmt.where(JourneyEntry.id > after)
        return list(self.session.scalars(stmt.order_by(JourneyEntry.id).limit(limit)))

    def of_person(self, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[JourneyEntry]:
        return list(
            self.session.scalars(
                select(JourneyEntry)
                .where(
                    JourneyEntry.workspace_id == workspace_id,
                    JourneyEntry.profile_id == profile_id,
                )
                .order_by(JourneyEntry.entered_at.desc())
                .limit(100)
            )
        )

    # --- the report ------------------------------------------------------------------

    def funnel(self, journey_id: uuid.UUID) -> dict[str, int]:
        rows = self.session.execute(
            select(JourneyStepLog.step, func.count())
            .where(JourneyStepLog.journey_id == journey_id)
            .group_by(JourneyStepLog.step)
        )
        return {step: int(n) for step, n in rows}

    def statuses(self, journey_id: uuid.UUID) -> dict[str, int]:
        rows = self.session.execute(
            select(JourneyEntry.status, func.count())
            .where(JourneyEntry.journey_id == journey_id)
            .group_by(JourneyEntry.status)
        )
        return {s: int(n) for s, n in rows}

    def goal_split(self, journey_id: uuid.UUID) -> tuple[int, int, int, int]:
        """(entered, reached the goal) for those in the journey and for the holdout."""
        rows = self.session.execute(
            select(JourneyEntry.holdout, JourneyEntry.status, func.count())
            .where(JourneyEntry.journey_id == journey_id)
            .group_by(JourneyEntry.holdout, JourneyEntry.status)
        )
        n_t = g_t = n_c = g_c = 0
        for holdout, status, n in rows:
            if holdout:
                n_c += n
                g_c += n if status == "goal" else 0
            else:
                n_t += n
                g_t += n if status == "goal" else 0
        return n_t, g_t, n_c, g_c
