from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class Journey(IdMixin, TimestampMixin, Base):
    """A journey and its definition being edited (``definition``: trigger, steps, goal,
    re-entry, holdout). Publishing makes the definition a version: people enter the
    latest published version and finish the one they entered. ``status``: draft,
    active, paused, archived."""

    __tablename__ = "journeys"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    version: Mapped[int] = mapped_column(Integer, default=0)  # the latest published
    template: Mapped[str | None] = mapped_column(String(40))
    # A segment trigger: the last of the segment's changes considered (ids are
    # time-ordered; publishing sets it to then, so only later entries count).
    cursor_id: Mapped[uuid.UUID | None]
    created_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None]


class JourneyVersion(Base):
    """A published definition, kept as long as someone may still be in it."""

    __tablename__ = "journey_versions"

    journey_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    published_at: Mapped[datetime]
    published_by: Mapped[str | None] = mapped_column(String(200))


class JourneyEntry(IdMixin, Base):
    """One person's way through one version of a journey.

    ``status``: waiting (until ``wake_at``, or for ``waiting_for`` until ``wake_at``; a
    worker taking the next step holds the row locked, in the step's transaction), done
    (the steps ran out), goal (the goal was reached), exited (left: archived journey,
    erased, removed), holdout (kept out on purpose, watched for the goal only). A waiting
    person costs a row and nothing else: the job engine wakes the journey at the earliest
    ``wake_at``."""

    __tablename__ = "journey_entries"
    __table_args__ = (
        Index(None, "journey_id", "profile_id"),
        Index(None, "profile_id"),
        Index(
            "ix_journey_entries_due",
            "workspace_id",
            "wake_at",
            postgresql_where=text("status = 'waiting'"),
            sqlite_where=text("status = 'waiting'"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    journey_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("journeys.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="waiting")
    step: Mapped[str | None] = mapped_column(String(40))
    wake_at: Mapped[datetime | None]
    waiting_for: Mapped[str | None] = mapped_column(String(200))
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    entered_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(String(500))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class JourneyStepLog(Base):
    """A step a person went through, and how it went (the journey's funnel and the
    person's history in it). Keyed by entry and step: a step runs once per person.

    The workspace and the journey are copied from the entry without keys of their own:
    the entry's key removes the log with it (and the entry goes with its journey and
    workspace), and a batch of steps checks one key a row instead of three."""

    __tablename__ = "journey_step_log"
    __table_args__ = (Index(None, "journey_id", "step"),)

    entry_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("journey_entries.id", ondelete="CASCADE"), primary_key=True
    )
    step: Mapped[str] = mapped_column(String(40), primary_key=True)
    workspace_id: Mapped[uuid.UUID]
    journey_id: Mapped[uuid.UUID]
    at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str | None] = mapped_column(String(500))


class JourneySignal(IdMixin, Base):
    """An event some active journey listens for (a trigger, a goal, a wait), kept in the
    transaction that resolved it, so that no event is lost between resolution and the
    job that acts on it."""

    __tablename__ = "journey_signals"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    event_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    properties: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime]
