"""The listening store: the sources a workspace listens on and the mentions they heard."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class SocialSource(IdMixin, TimestampMixin, Base):
    """One place a workspace listens: a Bluesky account or the Jetstream, a Mastodon
    instance, Reddit, a feed, a webhook or the imports. ``cursor`` is the connector's
    position, saved in the same transaction as the mentions it heard, so a restart
    resumes where it stopped. ``credentials_encrypted`` is never returned or audited.

    ``status``: ok, backing_off (a rate limit or a transient failure: ``next_fetch_at``
    says when it tries again), failing (a permanent error, such as bad credentials,
    waiting for a person), paused."""

    __tablename__ = "social_sources"
    __table_args__ = (UniqueConstraint("workspace_id", "name"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(120))
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # per kind
    credentials_encrypted: Mapped[str | None] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    cursor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default="ok")
    last_error: Mapped[str | None] = mapped_column(String(500))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    next_fetch_at: Mapped[datetime | None]
    last_fetched_at: Mapped[datetime | None]
    heard: Mapped[int] = mapped_column(Integer, default=0)  # mentions stored from it
    # A source that streams is held by one process at a time: its lease says which and
    # until when (renewed while it streams; the scheduled fetch waits while it holds).
    streamed_by: Mapped[str | None] = mapped_column(String(120))
    stream_lease_until: Mapped[datetime | None]
    updated_at: Mapped[datetime | None]


class Mention(IdMixin, Base):
    """One post that matched the workspace's listening rules, as understood and triaged.

    ``about`` is what it mentions: ``brand`` or a competitor's name (share of voice).
    ``decision`` is respond, wait or dismiss, ``reason`` the words that say why and
    ``rule`` the triage rule that decided; ``respond_by`` is the deadline of a mention to
    respond to. ``state``: new (decided, nobody has acted), open (a conversation in the
    inbox), answered (a reply was delivered), dismissed, waiting. A wait is looked at
    again when the author posts again or the post's engagement grows."""

    __tablename__ = "social_mentions"
    __table_args__ = (
        UniqueConstraint("workspace_id", "network", "external_id"),
        # The listing's order, the newest first, whatever the table's statistics.
        Index(None, "workspace_id", "posted_at", "id"),
        Index(None, "workspace_id", "network", "author_handle"),
        Index(None, "workspace_id", "fingerprint"),
        Index(None, "workspace_id", "state", "respond_by"),
        Index(None, "profile_id"),
        Index(None, "conversation_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("social_sources.id", ondelete="SET NULL")
    )
    network: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(400))
    url: Mapped[str | None] = mapped_column(String(1000))
    text: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(32))  # ``listen.fingerprint`` of text
    title: Mapped[str | None] = mapped_column(String(500))
    lang: Mapped[str | None] = mapped_column(String(16))
    posted_at: Mapped[datetime]
    received_at: Mapped[datetime]
    author_handle: Mapped[str] = mapped_column(String(255))
    author_name: Mapped[str | None] = mapped_column(String(255))
    author_id: Mapped[str | None] = mapped_column(String(255))
    author_url: Mapped[str | None] = mapped_column(String(1000))
    followers: Mapped[int | None] = mapped_column(Integer)
    likes: Mapped[int] = mapped_column(Integer, default=0)
    reposts: Mapped[int] = mapped_column(Integer, default=0)
    replies: Mapped[int] = mapped_column(Integer, default=0)
    reply_to: Mapped[str | None] = mapped_column(String(400))
    thread_root: Mapped[str | None] = mapped_column(String(400))
    reply_ref: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Understanding.
    about: Mapped[str] = mapped_column(String(120), default="brand")
    matched: Mapped[list[str]] = mapped_column(JSON, default=list)
    sentiment: Mapped[str] = mapped_column(String(8), default="neutral")
    sentiment_score: Mapped[float] = mapped_column(Float, default=0.0)
    intents: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    intent: Mapped[str | None] = mapped_column(String(20))  # the strongest, for lists
    influence: Mapped[float] = mapped_column(Float, default=0.0)  # 0 to 100
    # Who wrote it, when the identity graph knows them, and their value at triage.
    profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("profiles.id", ondelete="SET NULL")
    )
    customer_value: Mapped[float | None] = mapped_column(Float)
    # Triage.
    decision: Mapped[str] = mapped_column(String(8), default="wait")
    reason: Mapped[str] = mapped_column(String(500), default="")
    rule: Mapped[str | None] = mapped_column(String(80))
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    respond_by: Mapped[datetime | None]
    decided_at: Mapped[datetime]
    state: Mapped[str] = mapped_column(String(10), default="new")
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    first_response_at: Mapped[datetime | None]
    reply_external_id: Mapped[str | None] = mapped_column(String(400))


class SocialAlert(IdMixin, Base):
    """A brewing crisis the team was told of: a spike of mentions or of negative ones
    (``kind`` volume or negative), with the figures that raised it, the inbox
    conversation it was posted to and when it was emailed. One alert per kind while the
    spike lasts: ``ended_at`` is set once the window is quiet again."""

    __tablename__ = "social_alerts"
    __table_args__ = (Index(None, "workspace_id", "kind", "started_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))
    message: Mapped[str] = mapped_column(String(500))
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    usual: Mapped[float] = mapped_column(Float, default=0.0)
    negative_share: Mapped[float] = mapped_column(Float, default=0.0)
    started_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )
    emailed: Mapped[int] = mapped_column(Integer, default=0)  # addresses it was sent to
