from __future__ import annotations

import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.kit.db import Base, IdMixin

if TYPE_CHECKING:
    from accord.profile.models import Profile
    from accord.resolve.models import Identifier


class Event(IdMixin, Base):
    """One touchpoint: a tracking call, an imported row, an order. Stored as received
    (normalized) before the API answers; resolution then sets its person."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "message_id"),
        # Only the events still to resolve: small, whatever the size of the table.
        Index(
            "ix_events_pending",
            "workspace_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        Index(None, "profile_id", "timestamp"),
        Index(None, "primary_identifier_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    message_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))  # identify, track, page, screen, group, alias
    name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(255))
    anonymous_id: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(120))
    identifiers: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    traits: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    timestamp: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(12), default="pending")
    profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("profiles.id", ondelete="SET NULL")
    )
    primary_identifier_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("identifiers.id", ondelete="SET NULL")
    )
    # Never loaded through; they order the unit of work (people and identifiers first).
    profile: Mapped[Profile | None] = relationship(lazy="raise")
    primary_identifier: Mapped[Identifier | None] = relationship(lazy="raise")
