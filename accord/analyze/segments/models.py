from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class Segment(IdMixin, TimestampMixin, Base):
    """A named rule tree over people. ``topics`` are what its conditions depend on (only
    a change on one of them evaluates it again); ``calendar`` marks a tree with a
    condition on the calendar (evaluated again every quarter hour)."""

    __tablename__ = "segments"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    definition: Mapped[dict[str, Any]] = mapped_column(JSON)
    topics: Mapped[list[str]] = mapped_column(JSON, default=list)
    calendar: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active, archived
    size: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    built_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(200))


class SegmentMember(Base):
    """A person in a segment now, since when."""

    __tablename__ = "segment_members"
    __table_args__ = (Index(None, "profile_id"),)

    segment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    since: Mapped[datetime]


class SegmentChange(IdMixin, Base):
    """A person entered or exited a segment (``Audience Entered`` / ``Audience Exited``):
    when, why (``cause``: an event, time passing, a merge, consent, an edit, a build) and
    what decided it (``detail``: the conditions that held or failed, when known)."""

    __tablename__ = "segment_changes"
    __table_args__ = (
        Index(None, "segment_id", "at"),
        Index(None, "profile_id", "at"),
        Index(None, "workspace_id", "id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    segment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("segments.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # entered, exited
    at: Mapped[datetime]
    cause: Mapped[str] = mapped_column(String(200))
    detail: Mapped[str | None] = mapped_column(Text)


class SegmentTimer(Base):
    """When a person's membership of a segment may next change by time alone (a window
    closing); durable, so a restart loses none."""

    __tablename__ = "segment_timers"
    # By person too: a merged or erased person's timers go (an evaluation, the foreign
    # key's cascade) without reading every timer.
    __table_args__ = (Index(None, "workspace_id", "due_at"), Index(None, "profile_id"))

    segment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    due_at: Mapped[datetime]


class SegmentSize(Base):
    """A segment's size at the end of each day it changed (the chart on its page)."""

    __tablename__ = "segment_sizes"

    segment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("segments.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[str] = mapped_column(String(10), primary_key=True)
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    size: Mapped[int] = mapped_column(Integer)


class SegmentClock(Base):
    """The next time a sweep of due timers is scheduled for a workspace, so that writing
    timers schedules a job only when it is earlier than the one already waiting."""

    __tablename__ = "segment_clocks"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    next_at: Mapped[datetime | None]


class ComputedTrait(IdMixin, TimestampMixin, Base):
    """A value computed from a person's events: ``aggregate`` (count, sum, min, max,
    average, first, last, most_frequent) of ``property`` of the events named ``event``
    (with ``where``), over the last ``window_seconds`` or ever."""

    __tablename__ = "computed_traits"
    __table_args__ = (UniqueConstraint("workspace_id", "key"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(80))
    name: Mapped[str] = mapped_column(String(120))
    event: Mapped[str] = mapped_column(String(200))
    where: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    aggregate: Mapped[str] = mapped_column(String(16))
    property: Mapped[str | None] = mapped_column(String(200))
    window_seconds: Mapped[int | None]


class SegmentDirty(IdMixin, Base):
    """People a committed change touched, waiting to be evaluated: written in the
    transaction of the change, so none is lost; taken (and deleted) by the next
    evaluation job of the workspace, which takes every waiting row at once."""

    __tablename__ = "segment_dirty"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    profile_ids: Mapped[list[str]] = mapped_column(JSON)
    topics: Mapped[list[str]] = mapped_column(JSON)
    noted_at: Mapped[datetime]
