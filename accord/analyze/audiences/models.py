from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class Destination(IdMixin, TimestampMixin, Base):
    """An outgoing webhook of a workspace: where membership changes of its segments
    (``segment_ids``, or every segment when empty) are sent, signed with ``secret``
    (kept encrypted: the signature needs it again). ``cursor_id`` is the id of the last
    segment change it has considered (ids are time-ordered); ``since_id`` bounds the
    changes it may send from below (those made before it existed are not)."""

    __tablename__ = "audience_destinations"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    url: Mapped[str] = mapped_column(String(2000))
    secret_encrypted: Mapped[str] = mapped_column(Text)
    segment_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    events: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(12), default="active")  # active, paused
    since_id: Mapped[uuid.UUID]
    cursor_id: Mapped[uuid.UUID]
    created_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None]


class Delivery(IdMixin, TimestampMixin, Base):
    """One event sent (or to send) to a destination: its signed body, kept as sent so a
    retry or a replay sends the same bytes, and the log of its attempts. The id is the
    idempotency key the receiver sees. Erased with the person (``profile_id``)."""

    __tablename__ = "audience_deliveries"
    __table_args__ = (
        UniqueConstraint("destination_id", "change_id"),
        Index(None, "destination_id", "id"),
        Index(None, "status", "next_attempt_at"),
        Index(None, "profile_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    destination_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("audience_destinations.id", ondelete="CASCADE")
    )
    change_id: Mapped[uuid.UUID | None]
    segment_id: Mapped[uuid.UUID | None]
    profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE")
    )
    event: Mapped[str] = mapped_column(String(40))
    body: Mapped[str] = mapped_column(Text)
    # pending, sending, retrying, delivered, failed
    status: Mapped[str] = mapped_column(String(12), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    replays: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]
    next_attempt_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
