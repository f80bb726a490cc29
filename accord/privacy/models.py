"""Data-subject requests and retention runs, and the indexes erasing a person needs on
tables other packages own (declared here, with their reason, so the model and the
migration agree)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin
from accord.kit.time import utcnow

KINDS = ("export", "access", "erase")
STATUSES = ("received", "in_progress", "completed", "rejected")
OPEN = ("received", "in_progress")


class PrivacyRequest(IdMixin, TimestampMixin, Base):
    """A data subject's request, by one identifier of any type. The clear value is kept
    while the request is open; once an erase is completed only ``identifier_digest`` (the
    suppression list's salted hash) and ``identifier_hint`` (a masked form) remain."""

    __tablename__ = "privacy_requests"
    __table_args__ = (
        Index(None, "workspace_id", "created_at"),
        Index(None, "workspace_id", "status", "due_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # export, access, erase
    status: Mapped[str] = mapped_column(String(12), default="received")
    identifier_type: Mapped[str] = mapped_column(String(40))
    identifier_value: Mapped[str | None] = mapped_column(String(255))
    identifier_hint: Mapped[str] = mapped_column(String(80))
    identifier_digest: Mapped[str] = mapped_column(String(64))
    requested_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    completed_by: Mapped[str | None] = mapped_column(String(200))
    profile_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    receipt: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class RetentionRun(IdMixin, TimestampMixin, Base):
    """One pass of a workspace's retention policies (or its dry run): what each kind
    removed, or would remove."""

    __tablename__ = "retention_runs"
    __table_args__ = (Index(None, "workspace_id", "created_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    trigger: Mapped[str] = mapped_column(String(20))  # schedule, cli, api
    dry_run: Mapped[bool] = mapped_column(default=False)
    finished_at: Mapped[datetime | None]
    report: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
