from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin
from accord.kit.time import utcnow


class AuditEvent(IdMixin, TimestampMixin, Base):
    """Who did what to what, in a workspace. Append-only."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # The log's order, the newest first, whatever the table's statistics.
        Index(None, "workspace_id", "created_at", "id"),
        # Erasing a person removes the events that name them (``target`` is a profile's id).
        Index(None, "workspace_id", "target"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(200))  # "user:<email>", "token:<name>", "cli"
    action: Mapped[str] = mapped_column(String(80))  # "key.created", "user.role_changed"...
    target: Mapped[str | None] = mapped_column(String(200))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AccessLogEntry(IdMixin, Base):
    """Someone read a person's data: their Customer 360, their profile or timeline over
    the API, or a data-subject export. Written only by ``govern.audit.access.record``;
    erased with the person."""

    __tablename__ = "access_log"
    __table_args__ = (Index(None, "profile_id", "at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(200))  # the principal's label
    actor_kind: Mapped[str] = mapped_column(String(12))  # user, token, cli
    action: Mapped[str] = mapped_column(String(20))  # view, lookup, timeline, export
    via: Mapped[str] = mapped_column(String(12))  # console, api, cli
    at: Mapped[datetime] = mapped_column(default=utcnow)
