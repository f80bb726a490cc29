from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class Campaign(IdMixin, TimestampMixin, Base):
    """A one-off message to a segment: its templates (subject, HTML and text, or the
    text of an SMS), the consent purpose it is sent for, the share of the segment kept
    out as a holdout, and the goal whose conversions its report counts.

    ``status``: draft, scheduled, sending, paused, sent, cancelled. ``audience`` is how
    many people it was planned for (holdout included)."""

    __tablename__ = "outreach_campaigns"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    channel: Mapped[str] = mapped_column(String(8), default="email")
    purpose: Mapped[str] = mapped_column(String(16), default="marketing")
    segment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("segments.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(300), default="")
    html: Mapped[str] = mapped_column(Text, default="")
    text: Mapped[str] = mapped_column(Text, default="")
    from_name: Mapped[str | None] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(12), default="draft")
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0)
    goal_event: Mapped[str] = mapped_column(String(120), default="Order Completed")
    goal_days: Mapped[int] = mapped_column(Integer, default=7)
    respect_caps: Mapped[bool] = mapped_column(Boolean, default=True)
    # Each person's message waits for the hour of the day they are usually active at.
    usual_hour: Mapped[bool] = mapped_column(Boolean, default=False)
    audience: Mapped[int] = mapped_column(Integer, default=0)
    scheduled_at: Mapped[datetime | None]
    planned_at: Mapped[datetime | None]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None]


class Send(IdMixin, Base):
    """One message to one person, from a campaign or a journey step: the durable send
    queue and its record at once. ``source_key`` names what sent it (``campaign:<id>``,
    ``journey:<entry>:<step>``); with the person it is unique, so planning twice or a
    retry never makes a second message.

    ``status``: queued (waiting, ``next_attempt_at`` says from when), sending (claimed
    by a worker, ``claim_id``), sent, refused (with ``code`` and ``reason``), holdout
    (kept out on purpose), bounced, complained, failed (gave up after retries), unknown
    (the sending process stopped while handing it over; it is not sent again)."""

    __tablename__ = "outreach_sends"
    # No index names a column a send's progress changes (status, times, claim), so
    # claiming and recording a send update its row in place on PostgreSQL (a HOT
    # update, no index entry written), on pages left half empty for it.
    __table_args__ = (
        UniqueConstraint("source_key", "profile_id"),
        CheckConstraint("campaign_id IS NOT NULL OR journey_id IS NOT NULL", name="source"),
        Index(
            None,
            "campaign_id",
            "profile_id",
            postgresql_where=text("campaign_id IS NOT NULL"),
            sqlite_where=text("campaign_id IS NOT NULL"),
        ),
        Index(
            None,
            "journey_id",
            "profile_id",
            postgresql_where=text("journey_id IS NOT NULL"),
            sqlite_where=text("journey_id IS NOT NULL"),
        ),
        Index(None, "profile_id"),
        {"postgresql_with": {"fillfactor": 50}},
    )

    # One key checked a message: its campaign's or journey's, which goes with the
    # workspace. The person is named without a key (checking it locked, and so wrote
    # into, every person messaged); erasing the person finds the column by its ``info``.
    workspace_id: Mapped[uuid.UUID]
    source_key: Mapped[str] = mapped_column(String(120))
    campaign_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("outreach_campaigns.id", ondelete="CASCADE")
    )
    journey_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("journeys.id", ondelete="CASCADE")
    )
    version: Mapped[int | None] = mapped_column(Integer)  # the journey's version
    step: Mapped[str | None] = mapped_column(String(40))  # and its step
    profile_id: Mapped[uuid.UUID] = mapped_column(info={"names": "profiles"})
    channel: Mapped[str] = mapped_column(String(8))
    purpose: Mapped[str] = mapped_column(String(16))
    promotional: Mapped[bool] = mapped_column(Boolean, default=True)
    address: Mapped[str | None] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12), default="queued")
    code: Mapped[str | None] = mapped_column(String(32))
    reason: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claim_id: Mapped[uuid.UUID | None]
    claimed_at: Mapped[datetime | None]
    queued_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]  # a text the carrier reported delivered
    message_id: Mapped[str | None] = mapped_column(String(255))
    opens: Mapped[int] = mapped_column(Integer, default=0)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    opened_at: Mapped[datetime | None]
    clicked_at: Mapped[datetime | None]
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
