from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class MatchRun(IdMixin, TimestampMixin, Base):
    """One probabilistic matching run over a workspace's profiles (or an incremental
    pass over new ones): the trained model, what was decided, and how long each phase
    took. The latest finished full run's model scores new records incrementally."""

    __tablename__ = "match_runs"
    __table_args__ = (Index(None, "workspace_id", "created_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16), default="full")  # full, incremental
    engine: Mapped[str] = mapped_column(String(16), default="duckdb")
    trigger: Mapped[str] = mapped_column(String(40))  # cli, api, schedule, new records
    status: Mapped[str] = mapped_column(String(16), default="queued")  # running, done, failed
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    records: Mapped[int] = mapped_column(Integer, default=0)
    pairs: Mapped[int] = mapped_column(Integer, default=0)
    merged: Mapped[int] = mapped_column(Integer, default=0)
    proposed: Mapped[int] = mapped_column(Integer, default=0)
    households: Mapped[int] = mapped_column(Integer, default=0)
    model: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(String(500))


class MatchCandidate(IdMixin, TimestampMixin, Base):
    """A pair of people the model scored: a possible duplicate waiting for an agent
    (then accepted, merged, or rejected and never proposed again), or two people of one
    household (linked, not merged)."""

    __tablename__ = "match_candidates"
    __table_args__ = (
        UniqueConstraint("workspace_id", "kind", "profile_a_id", "profile_b_id"),
        Index(None, "workspace_id", "kind", "status"),
        Index(None, "profile_b_id"),
        # Deleting a person or a merge (an erase) looks these keys up.
        Index("ix_match_candidates_profile_a_id", "profile_a_id"),
        Index(
            "ix_match_candidates_merge_id",
            "merge_id",
            postgresql_where=text("merge_id IS NOT NULL"),
            sqlite_where=text("merge_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    run_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("match_runs.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(16))  # duplicate, household
    status: Mapped[str] = mapped_column(String(16))  # pending, accepted, rejected, linked
    profile_a_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    profile_b_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    match_probability: Mapped[float] = mapped_column(Float)
    match_weight: Mapped[float] = mapped_column(Float)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    decided_at: Mapped[datetime | None]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    merge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("merges.id", ondelete="SET NULL"))
