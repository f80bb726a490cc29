from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select

from accord.kit.dialect import insert_ignore, one_of
from accord.kit.repository import Repository, chunks
from accord.match.models import MatchCandidate, MatchRun
from accord.profile.models import Profile
from accord.resolve.models import Identifier


class MatchRunRepository(Repository):
    def add(self, run: MatchRun) -> MatchRun:
        self.session.add(run)
        self.session.flush()
        return run

    def get(self, workspace_id: uuid.UUID, run_id: uuid.UUID) -> MatchRun | None:
        stmt = select(MatchRun).where(MatchRun.workspace_id == workspace_id, MatchRun.id == run_id)
        return self.session.scalars(stmt).first()

    def recent(self, workspace_id: uuid.UUID, limit: int = 20) -> list[MatchRun]:
        stmt = (
            select(MatchRun)
            .where(MatchRun.workspace_id == workspace_id)
            .order_by(MatchRun.created_at.desc(), MatchRun.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def latest_model(self, workspace_id: uuid.UUID) -> MatchRun | None:
        """The last finished full run: its model scores new records."""
        stmt = (
            select(MatchRun)
            .where(
                MatchRun.workspace_id == workspace_id,
                MatchRun.kind == "full",
                MatchRun.status == "done",
                MatchRun.model.is_not(None),
            )
            .order_by(MatchRun.created_at.desc(), MatchRun.id.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def last_started(self, workspace_id: uuid.UUID, kind: str) -> datetime | None:
        stmt = select(func.max(MatchRun.started_at)).where(
            MatchRun.workspace_id == workspace_id, MatchRun.kind == kind
        )
        return self.session.scalar(stmt)

    def active(self, workspace_id: uuid.UUID) -> list[MatchRun]:
        """The workspace's full runs that are queued or running."""
        stmt = (
            select(MatchRun)
            .where(
                MatchRun.workspace_id == workspace_id,
                MatchRun.kind == "full",
                MatchRun.status.in_(("queued", "running")),
            )
            .order_by(MatchRun.created_at)
        )
        return list(self.session.scalars(stmt))

    def queued(self, limit: int = 10) -> list[MatchRun]:
        stmt = (
            select(MatchRun)
            .where(MatchRun.status == "queued")
            .order_by(MatchRun.created_at)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))


class CandidateRepository(Repository):
    def add(self, candidate: MatchCandidate) -> MatchCandidate:
        self.session.add(candidate)
        self.session.flush()
        return candidate

    def add_rows(self, rows: list[dict[str, Any]]) -> None:
        """New pairs as plain rows (every column named), written together."""
        insert_ignore(
            self.session,
            MatchCandidate.__table__,
            rows,
            ["workspace_id", "kind", "profile_a_id", "profile_b_id"],
        )

    def find_many(
        self, workspace_id: uuid.UUID, keys: Collection[tuple[str, uuid.UUID, uuid.UUID]]
    ) -> dict[tuple[str, uuid.UUID, uuid.UUID], MatchCandidate]:
        """The pairs already proposed or linked, by (kind, first person, second person)."""
        wanted = set(keys)
        out: dict[tuple[str, uuid.UUID, uuid.UUID], MatchCandidate] = {}
        for chunk in chunks(sorted({a for _, a, _ in wanted}, key=str)):
            stmt = select(MatchCandidate).where(
                MatchCandidate.workspace_id == workspace_id,
                one_of(self.session, MatchCandidate.profile_a_id, chunk),
            )
            for row in self.session.scalars(stmt):
                key = (row.kind, row.profile_a_id, row.profile_b_id)
                if key in wanted:
                    out[key] = row
        return out

    def get(self, workspace_id: uuid.UUID, candidate_id: uuid.UUID) -> MatchCandidate | None:
        stmt = select(MatchCandidate).where(
            MatchCandidate.workspace_id == workspace_id, MatchCandidate.id == candidate_id
        )
        return self.session.scalars(stmt).first()

    def find(
        self, workspace_id: uuid.UUID, kind: str, a: uuid.UUID, b: uuid.UUID
    ) -> MatchCandidate | None:
        stmt = select(MatchCandidate).where(
            MatchCandidate.workspace_id == workspace_id,
            MatchCandidate.kind == kind,
            MatchCandidate.profile_a_id == a,
            MatchCandidate.profile_b_id == b,
        )
        return self.session.scalars(stmt).first()

    def listing(
        self,
        workspace_id: uuid.UUID,
        kind: str,
        status: str | None,
        *,
        limit: int,
        offset: int = 0,
    ) -> list[MatchCandidate]:
        stmt = select(MatchCandidate).where(
            MatchCandidate.workspace_id == workspace_id, MatchCandidate.kind == kind
        )
        if status:
            stmt = stmt.where(MatchCandidate.status == status)
        stmt = (
            stmt.order_by(MatchCandidate.match_probability.desc(), MatchCandidate.id)
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(stmt))

    def count(self, workspace_id: uuid.UUID, kind: str, status: str) -> int:
        stmt = (
            select(func.count())
            .select_from(MatchCandidate)
            .where(
                MatchCandidate.workspace_id == workspace_id,
                MatchCandidate.kind == kind,
                MatchCandidate.status == status,
            )
        )
        return int(self.session.scalar(stmt) or 0)

    def of_profile(
        self, workspace_id: uuid.UUID, profile_id: uuid.UUID, kind: str
    ) -> list[MatchCandidate]:
        stmt = select(MatchCandidate).where(
            MatchCandidate.workspace_id == workspace_id,
            MatchCandidate.kind == kind,
            or_(
                MatchCandidate.profile_a_id == profile_id, MatchCandidate.profile_b_id == profile_id
            ),
        )
        return list(self.session.scalars(stmt))


class MatchInputRepository(Repository):
    """What matching reads: named people, their identifiers and separations."""

    def named_profiles(
        self, workspace_id: uuid.UUID, *, batch: int = 5000
    ) -> Iterator[tuple[uuid.UUID, dict[str, Any], str | None, str | None]]:
        """Every named, live person of the workspace, in one pass streamed ``batch`` rows
        at a time (pages by id would each sort the workspace's people again wherever the
        planner has no statistics to prefer the primary key)."""
        stmt = (
            select(Profile.id, Profile.traits, Profile.email, Profile.phone)
            .where(
                Profile.workspace_id == workspace_id,
                Profile.merged_into_id.is_(None),
                Profile.search_name.is_not(None),
            )
            .order_by(Profile.id)  # one order whatever the plan: the run is repeatable
        )
        result = self.session.execute(stmt.execution_options(yield_per=batch))
        for pid, traits, email, phone in result:
            yield pid, traits or {}, email, phone

    def changed_profiles(
        self, workspace_id: uuid.UUID, since: datetime | None, limit: int
    ) -> list[tuple[uuid.UUID, dict[str, Any], str | None, str | None, datetime | None]]:
        """Named, live people changed since ``since``, oldest change first."""
        stmt = (
            select(Profile.id, Profile.traits, Profile.email, Profile.phone, Profile.updated_at)
            .where(
                Profile.workspace_id == workspace_id,
                Profile.merged_into_id.is_(None),
                Profile.search_name.is_not(None),
            )
            .order_by(Profile.updated_at, Profile.id)
            .limit(limit)
        )
        if since is not None:
            stmt = stmt.where(Profile.updated_at >= since)
        return [(p, t or {}, e, ph, at) for p, t, e, ph, at in self.session.execute(stmt)]

    def similar_profiles(
        self,
        workspace_id: uuid.UUID,
        *,
        names: Collection[str],
        emails: Collection[str],
        phones: Collection[str],
        limit: int = 2000,
    ) -> list[tuple[uuid.UUID, dict[str, Any], str | None, str | None]]:
        """Live people sharing a full name (either order), an email or a phone: the
        indexed lookups behind matching one new record."""
        conditions = []
        if names:
            conditions.append(Profile.search_name.in_(sorted(names)))
        if emails:
            conditions.append(Profile.email.in_(sorted(emails)))
        if phones:
            conditions.append(Profile.phone.in_(sorted(phones)))
        if not conditions:
            return []
        stmt = (
            select(Profile.id, Profile.traits, Profile.email, Profile.phone)
            .where(
                Profile.workspace_id == workspace_id,
                Profile.merged_into_id.is_(None),
                or_(*conditions),
            )
            .limit(limit)
        )
        return [(p, t or {}, e, ph) for p, t, e, ph in self.session.execute(stmt)]

    def identifiers(self, profile_ids: Collection[uuid.UUID]) -> list[Identifier]:
        out: list[Identifier] = []
        for chunk in chunks(list(profile_ids)):
            stmt = select(Identifier).where(
                Identifier.profile_id.in_(chunk), Identifier.blocked.is_(False)
            )
            out.extend(self.session.scalars(stmt))
        return out
