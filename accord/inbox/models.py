"""The inbox: conversations (one customer issue each, whatever the channel), their
messages, the log of everything that happened to them, and the teams, agents, SLA
policies and canned responses that route and answer them."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
from accord.kit.time import utcnow

OUTBOX = "delivery IN ('queued', 'sending')"


class Team(IdMixin, TimestampMixin, Base):
    """A department that answers conversations. ``business_hours`` is
    ``{"timezone": "Europe/Lisbon", "days": {"mon": ["09:00", "17:00"], ...}}``; an empty
    value means around the clock."""

    __tablename__ = "teams"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    routing: Mapped[str] = mapped_column(String(20), default="round_robin")
    business_hours: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    is_priority_queue: Mapped[bool] = mapped_column(Boolean, default=False)


class TeamMember(IdMixin, TimestampMixin, Base):
    __tablename__ = "team_members"
    __table_args__ = (
        UniqueConstraint("team_id", "user_id"),
        Index(None, "workspace_id", "user_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    team_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    last_assigned_at: Mapped[datetime | None]


class AgentState(IdMixin, Base):
    """An agent's availability, capacity (open conversations at once) and skills in one
    workspace."""

    __tablename__ = "agent_states"
    __table_args__ = (UniqueConstraint("workspace_id", "user_id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    capacity: Mapped[int] = mapped_column(Integer, default=20)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class SlaPolicy(IdMixin, TimestampMixin, Base):
    """Targets in minutes for a team (or every team when ``team_id`` is empty) and a
    priority (or every priority); counted in the team's business hours when asked."""

    __tablename__ = "sla_policies"
    __table_args__ = (Index(None, "workspace_id", "team_id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="CASCADE"))
    priority: Mapped[str | None] = mapped_column(String(10))
    first_response_minutes: Mapped[int | None]
    next_response_minutes: Mapped[int | None]
    resolution_minutes: Mapped[int | None]
    business_hours: Mapped[bool] = mapped_column(Boolean, default=True)


class Conversation(IdMixin, TimestampMixin, Base):
    """One customer issue. ``profile_id`` is the person it was opened for; reads follow
    a merged profile to its survivor, so a merge or a split moves conversations with the
    person."""

    __tablename__ = "conversations"
    __table_args__ = (
        UniqueConstraint("workspace_id", "number"),
        # Deleting a person (an erase) looks their conversations up by this key.
        Index("ix_conversations_profile_id", "profile_id"),
        # Each ends with (last_message_at, id): the inbox's order, so a page is read off
        # the index without sorting.
        Index("ix_conversations_status_order", "workspace_id", "status", "last_message_at", "id"),
        Index(
            "ix_conversations_assignee_order",
            "workspace_id",
            "assignee_id",
            "status",
            "last_message_at",
            "id",
        ),
        Index(
            "ix_conversations_team_order",
            "workspace_id",
            "team_id",
            "status",
            "last_message_at",
            "id",
        ),
        Index(None, "workspace_id", "profile_id", "last_message_at"),
        Index("ix_conversations_order", "workspace_id", "last_message_at", "id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("profiles.id", ondelete="SET NULL")
    )
    subject: Mapped[str] = mapped_column(String(300), default="")
    status: Mapped[str] = mapped_column(String(12), default="open")
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL")
    )
    team_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("teams.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(20))
    last_channel: Mapped[str] = mapped_column(String(20))
    contact_name: Mapped[str | None] = mapped_column(String(200))
    preview: Mapped[str] = mapped_column(String(200), default="")
    message_count: Mapped[int] = mapped_column(Integer, default=0)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    waiting_since: Mapped[datetime | None]
    first_response_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    snoozed_until: Mapped[datetime | None]
    sla_policy_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sla_policies.id", ondelete="SET NULL")
    )
    first_response_due_at: Mapped[datetime | None]
    next_response_due_at: Mapped[datetime | None]
    resolution_due_at: Mapped[datetime | None]
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    csat_score: Mapped[int | None]
    csat_comment: Mapped[str | None] = mapped_column(Text)
    csat_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Message(IdMixin, TimestampMixin, Base):
    """One message of a conversation: inbound, outbound or an internal note, on one
    channel. ``external_id`` is the channel's own id (an email's Message-ID, a call id),
    unique per workspace so a retried delivery is stored once."""

    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("workspace_id", "external_id"),
        Index(None, "conversation_id", "created_at"),
        # The outbox's queue (queued, and claimed while being sent): small, whatever the
        # size of the table, so each look at it costs the same.
        Index(
            "ix_messages_outbox",
            "delivery",
            "id",
            postgresql_where=text(OUTBOX),
            sqlite_where=text(OUTBOX),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    direction: Mapped[str] = mapped_column(String(4))  # in | out | note
    channel: Mapped[str] = mapped_column(String(20))
    author_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    author_name: Mapped[str | None] = mapped_column(String(200))
    address: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str | None] = mapped_column(Text)
    quoted: Mapped[str | None] = mapped_column(Text)
    external_id: Mapped[str | None] = mapped_column(String(300))
    in_reply_to: Mapped[str | None] = mapped_column(String(300))
    delivery: Mapped[str | None] = mapped_column(String(12))  # sent | failed | bounced
    delivery_error: Mapped[str | None] = mapped_column(String(500))
    # When a sender took the message to send it (delivery "sending"): a claim much older
    # than any send can take was left by a process that died, and is taken again.
    claimed_at: Mapped[datetime | None]
    event_id: Mapped[uuid.UUID | None]
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Attachment(IdMixin, TimestampMixin, Base):
    """A file that came with a message, stored under the data directory by its hash and
    served only to the workspace's console users."""

    __tablename__ = "attachments"
    # By hash: a file on disk is removed (erase, retention) only when no row names it.
    __table_args__ = (Index(None, "message_id"), Index(None, "sha256"))

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class ConversationEvent(IdMixin, Base):
    """Everything that happens to a conversation; metrics are computed from this log."""

    __tablename__ = "conversation_events"
    __table_args__ = (
        Index(None, "conversation_id", "at"),
        Index(None, "workspace_id", "kind", "at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(30))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    channel: Mapped[str | None] = mapped_column(String(20))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedResponse(IdMixin, TimestampMixin, Base):
    """A saved reply; ``{{first_name}}``, ``{{last_order}}`` and friends are filled from
    the customer's profile when it is inserted."""

    __tablename__ = "canned_responses"
    __table_args__ = (UniqueConstraint("workspace_id", "shortcut"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    shortcut: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
