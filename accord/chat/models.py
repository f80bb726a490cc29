"""Live chat: the visitors on a workspace's site (what they browse now, their visits,
their cart, their chat) and the proactive triggers with what each one showed to whom."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin
from accord.kit.time import utcnow


class ChatVisitor(IdMixin, TimestampMixin, Base):
    """One browser on the site, known by the widget's anonymous id (and by the user id
    once the site identifies them). Its visitor token (an HMAC of its id) is the only way
    to read or write its chat."""

    __tablename__ = "chat_visitors"
    __table_args__ = (
        Index(None, "workspace_id", "last_seen_at"),
        Index(None, "workspace_id", "anonymous_id"),
        Index(None, "conversation_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    anonymous_id: Mapped[str] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(320))
    traits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    visits: Mapped[int] = mapped_column(Integer, default=1)
    visit_started_at: Mapped[datetime] = mapped_column(default=utcnow)
    visit_pages: Mapped[int] = mapped_column(Integer, default=0)
    page_views: Mapped[int] = mapped_column(Integer, default=0)
    current_url: Mapped[str | None] = mapped_column(String(2000))
    current_title: Mapped[str | None] = mapped_column(String(300))
    page_started_at: Mapped[datetime | None]
    pages: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    referrer: Mapped[str | None] = mapped_column(String(2000))
    utm: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    country: Mapped[str | None] = mapped_column(String(2))
    user_agent: Mapped[str | None] = mapped_column(String(300))
    cart_value: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    cart_currency: Mapped[str | None] = mapped_column(String(3))
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    conversation_since: Mapped[datetime | None]
    visitor_read_at: Mapped[datetime | None]
    agent_read_at: Mapped[datetime | None]
    # What the site's server vouched for (identity verification); user_id and email
    # above are what the visitor or page script said, a claim unless they match these.
    verified_at: Mapped[datetime | None]
    verified_user_id: Mapped[str | None] = mapped_column(String(255))
    verified_email: Mapped[str | None] = mapped_column(String(320))


class ChatTrigger(IdMixin, TimestampMixin, Base):
    """A proactive rule: when ``event`` happens and the conditions hold (``match`` all or
    any), do ``action`` (a message as an agent or team, an article, a notice to agents),
    at most ``max_per_visitor`` times in ``cap_hours``; ``holdout_percent`` of visitors
    are held out (recorded, never shown) so the report can measure lift."""

    __tablename__ = "chat_triggers"
    __table_args__ = (Index(None, "workspace_id", "position"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    event: Mapped[str] = mapped_column(String(20))
    event_value: Mapped[str] = mapped_column(String(120), default="")
    match: Mapped[str] = mapped_column(String(3), default="all")
    conditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    action: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    max_per_visitor: Mapped[int] = mapped_column(Integer, default=1)
    cap_hours: Mapped[int] = mapped_column(Integer, default=24)
    holdout_percent: Mapped[int] = mapped_column(Integer, default=0)
    convert_days: Mapped[int] = mapped_column(Integer, default=7)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChatTriggerShow(IdMixin, Base):
    """A trigger fired for a visitor: shown, or held out. ``accepted_at`` is when the
    visitor answered it; conversions are read from the visitor's orders."""

    __tablename__ = "chat_trigger_shows"
    __table_args__ = (
        Index(None, "trigger_id", "at"),
        Index(None, "visitor_id", "trigger_id"),
        # Deleting a conversation (an erase) clears the shows that led to it.
        Index(
            "ix_chat_trigger_shows_conversation_id",
            "conversation_id",
            postgresql_where=text("conversation_id IS NOT NULL"),
            sqlite_where=text("conversation_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    trigger_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_triggers.id", ondelete="CASCADE")
    )
    visitor_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("chat_visitors.id", ondelete="CASCADE")
    )
    at: Mapped[datetime] = mapped_column(default=utcnow)
    holdout: Mapped[bool] = mapped_column(Boolean, default=False)
    accepted_at: Mapped[datetime | None]
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    message: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
