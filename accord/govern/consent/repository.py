"""The SQL of the consent registry and the suppression list."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    CompoundSelect,
    Uuid,
    bindparam,
    cast,
    delete,
    literal,
    null,
    select,
    union_all,
    update,
)

from accord.govern.consent.models import ConsentRecord, ConsentState, Suppression
from accord.kit.db import UTCDateTime
from accord.kit.dialect import each_of, each_of_text, insert_ignore, one_of, pg_array_literal
from accord.kit.ids import new_id
from accord.kit.repository import Repository, chunks
from accord.kit.time import utcnow


@dataclass(frozen=True, slots=True)
class StateRow:
    """A current state as a send reads it."""

    channel: str
    purpose: str
    status: str
    source: str
    recorded_at: datetime
    expires_at: datetime | None


# Every decision runs this one statement, built once: a person's states for the
# channels and purposes asked (and "all"), and which addresses are suppressed.
_DECISION: CompoundSelect[Any] = union_all(
    select(
        literal("s").label("k"),
        ConsentState.channel.label("a"),
        ConsentState.purpose.label("b"),
        ConsentState.status.label("c"),
        ConsentState.source.label("d"),
        ConsentState.recorded_at.label("e"),
        ConsentState.expires_at.label("f"),
    ).where(
        ConsentState.profile_id == bindparam("profile_id", type_=Uuid()),
        ConsentState.channel.in_(bindparam("channels", expanding=True)),
        ConsentState.purpose.in_(bindparam("purposes", expanding=True)),
    ),
    select(
        literal("x").label("k"),
        Suppression.digest.label("a"),
        literal("").label("b"),
        literal("").label("c"),
        literal("").label("d"),
        cast(null(), UTCDateTime()).label("e"),
        cast(null(), UTCDateTime()).label("f"),
    ).where(
        Suppression.workspace_id == bindparam("workspace_id", type_=Uuid()),
        Suppression.digest.in_(bindparam("digests", expanding=True)),
    ),
)


class ConsentRepository(Repository):
    def add(self, record: ConsentRecord) -> ConsentRecord:
        self.session.add(record)
        self.session.flush()
        return record

    def holders(self, profile_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of these people have any consent record."""
        out: set[uuid.UUID] = set()
        for chunk in chunks(profile_ids):
            stmt = (
                select(ConsentRecord.profile_id)
                .where(one_of(self.session, ConsentRecord.profile_id, chunk))
                .distinct()
            )
            out.update(p for p in self.session.scalars(stmt) if p is not None)
        return out

    def records_of(self, profile_ids: Sequence[uuid.UUID]) -> list[ConsentRecord]:
        """Every record of these people, oldest first (voided ones included)."""
        if not profile_ids:
            return []
        stmt = (
            select(ConsentRecord)
            .where(ConsentRecord.profile_id.in_(profile_ids))
            .order_by(ConsentRecord.recorded_at, ConsentRecord.created_at, ConsentRecord.id)
            .execution_options(populate_existing=True)
        )
        return list(self.session.scalars(stmt))

    def states_of(self, profile_id: uuid.UUID) -> list[ConsentState]:
        stmt = select(ConsentState).where(ConsentState.profile_id == profile_id)
        return list(self.session.scalars(stmt))

    def for_decision(
        self,
        workspace_id: uuid.UUID,
        profile_id: uuid.UUID | None,
        channels: Sequence[str],
        purposes: Sequence[str],
        digests: Sequence[str],
    ) -> tuple[list[StateRow], set[str]]:
        """What a decision reads, in one round trip: the person's states for these
        channels and purposes, and which of these identifier digests are suppressed."""
        if profile_id is None and not digests:
            return [], set()
        rows = self.session.execute(
            _DECISION,
            {
                "profile_id": profile_id,
                "channels": list(channels),
                "purposes": list(purposes),
                "workspace_id": workspace_id,
                "digests": list(digests),
            },
        )
        states: list[StateRow] = []
        suppressed: set[str] = set()
        for kind, a, b, c, d, e, f in rows:
            if kind == "x":
                suppressed.add(a)
            else:
                states.append(StateRow(a, b, c, d, e, f))
        return states, suppressed

    def for_decisions(
        self,
        workspace_id: uuid.UUID,
        profile_ids: Sequence[uuid.UUID],
        channels: Sequence[str],
        purposes: Sequence[str],
        digests: Sequence[str],
    ) -> tuple[dict[uuid.UUID, list[StateRow]], set[str]]:
        """``for_decision`` for many people at once (a campaign's batch): their states by
        person, and which of the digests are suppressed; two statements whatever the
        number of people."""
        states: dict[uuid.UUID, list[StateRow]] = {}
        if profile_ids:
            rows = self.session.execute(
                select(
                    ConsentState.profile_id,
                    ConsentState.channel,
                    ConsentState.purpose,
                    ConsentState.status,
                    ConsentState.source,
                    ConsentState.recorded_at,
                    ConsentState.expires_at,
                ).where(
                    one_of(self.session, ConsentState.profile_id, profile_ids),
                    ConsentState.channel.in_(list(channels)),
                    ConsentState.purpose.in_(list(purposes)),
                )
            )
            for pid, a, b, c, d, e, f in rows:
                states.setdefault(pid, []).append(StateRow(a, b, c, d, e, f))
        suppressed: set[str] = set()
        if digests:
            suppressed = set(
                self.session.scalars(
                    select(Suppression.digest).where(
                        Suppression.workspace_id == workspace_id,
                        one_of(self.session, Suppression.digest, digests),
                    )
                )
            )
        return states, suppressed

    def replace_states(
        self, workspace_id: uuid.UUID, profile_id: uuid.UUID, states: Iterable[ConsentRecord]
    ) -> None:
        self.session.execute(delete(ConsentState).where(ConsentState.profile_id == profile_id))
        for r in states:
            self.session.add(
                ConsentState(
                    id=new_id(),
                    workspace_id=workspace_id,
                    profile_id=profile_id,
                    channel=r.channel,
                    purpose=r.purpose,
                    status=r.status,
                    source=r.source,
                    recorded_at=r.recorded_at,
                    expires_at=r.expires_at,
                    record_id=r.id,
                )
            )
        self.session.flush()

    def move(self, record_ids: Sequence[uuid.UUID], profile_id: uuid.UUID) -> None:
        if record_ids:
            self.session.execute(
                update(ConsentRecord)
                .where(ConsentRecord.id.in_(record_ids))
                .values(profile_id=profile_id)
                .execution_options(synchronize_session=False)
            )

    def void_of_merge(self, merge_id: uuid.UUID) -> None:
        self.session.execute(
            update(ConsentRecord)
            .where(ConsentRecord.merge_id == merge_id, ConsentRecord.voided_at.is_(None))
            .values(voided_at=utcnow())
            .execution_options(synchronize_session=False)
        )

    def drop_states(self, profile_id: uuid.UUID) -> None:
        self.session.execute(delete(ConsentState).where(ConsentState.profile_id == profile_id))


class SuppressionRepository(Repository):
    def add_many(
        self,
        workspace_id: uuid.UUID,
        rows: dict[str, str],
        *,
        reason: str,
        request_id: uuid.UUID | None,
    ) -> int:
        if not rows:
            return 0
        now = utcnow()
        return insert_ignore(
            self.session,
            Suppression.__table__,
            [
                {
                    "id": new_id(),
                    "workspace_id": workspace_id,
                    "digest": d,
                    "kind": kind,
                    "reason": reason,
                    "request_id": request_id,
                    "created_at": now,
                }
                for d, kind in rows.items()
            ],
            ["workspace_id", "digest"],
        )

    def present(self, workspace_id: uuid.UUID, digests: Sequence[str]) -> set[str]:
        """Which of these digests are on the workspace's list. Every accepted batch of
        tracking calls asks this: one statement text whatever the number of digests
        (``each_of``), each found through the whole unique index. On PostgreSQL the
        statement is built and compiled once (``each_of_text``): for a hundred calls'
        digests, building it cost more than the look-ups."""
        if not digests:
            return set()
        sql = each_of_text(
            self.session,
            "suppressions.present",
            Suppression.digest,
            lambda digest_is: select(Suppression.digest).where(
                Suppression.workspace_id == bindparam("workspace_id", type_=Uuid), digest_is
            ),
        )
        if sql is not None:
            rows = self.session.connection().exec_driver_sql(
                sql, {"values": pg_array_literal(digests), "workspace_id": workspace_id}
            )
            return {row[0] for row in rows}
        stmt = each_of(
            self.session,
            Suppression.digest,
            digests,
            lambda digest_is: select(Suppression.digest).where(
                Suppression.workspace_id == workspace_id, digest_is
            ),
        )
        return set(self.session.scalars(stmt))
