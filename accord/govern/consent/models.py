from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class ConsentRecord(IdMixin, TimestampMixin, Base):
    """One statement of consent, kept for good: who said what about which channel and
    purpose, when, through what and on which evidence. ``profile_id`` is the person it
    belongs to now (it follows merges and splits); ``origin_profile_id`` the person it was
    recorded for. A record is never changed, except that one a merge derived is marked
    ``voided_at`` when that merge is split."""

    __tablename__ = "consent_records"
    __table_args__ = (Index(None, "profile_id", "recorded_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    origin_profile_id: Mapped[uuid.UUID]
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12))
    legal_basis: Mapped[str | None] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(24))
    recorded_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str | None] = mapped_column(Text)
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(400))
    notice_version: Mapped[str | None] = mapped_column(String(64))
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    merge_id: Mapped[uuid.UUID | None]
    voided_at: Mapped[datetime | None]


class ConsentState(IdMixin, Base):
    """The current state of one channel and purpose for one person, derived from the
    records (the latest that is not voided); what a send checks."""

    __tablename__ = "consent_states"
    __table_args__ = (UniqueConstraint("profile_id", "channel", "purpose"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(String(24))
    status: Mapped[str] = mapped_column(String(12))
    source: Mapped[str] = mapped_column(String(24))
    recorded_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    record_id: Mapped[uuid.UUID]


class Suppression(IdMixin, TimestampMixin, Base):
    """An identifier that must never create or reach a person again (an erased person's,
    or one added by hand), kept only as a salted hash of its type and value."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("workspace_id", "digest"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    digest: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(String(40))
    request_id: Mapped[uuid.UUID | None]
