"""The help center's community: members (customers signed in by an emailed link or by
the site's verified identity), their sign-in links and sessions (only hashes of the
tokens are kept), questions and answers (Markdown, with the rendered HTML), one vote per
member per post, and the reports readers make of a post."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class CommunityMember(IdMixin, TimestampMixin, Base):
    """A customer in the community. The email is their identity (verified by the link
    they opened, or vouched for by the site); ``trusted`` once a moderator approved a
    post of theirs, or when the workspace holds no first posts."""

    __tablename__ = "community_members"
    __table_args__ = (UniqueConstraint("workspace_id", "email"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str] = mapped_column(String(80))
    verified_at: Mapped[datetime]
    verified_by: Mapped[str] = mapped_column(String(10))  # "email" or "site"
    trusted: Mapped[bool] = mapped_column(Boolean, default=False)
    banned: Mapped[bool] = mapped_column(Boolean, default=False)
    banned_at: Mapped[datetime | None]
    questions: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    reputation: Mapped[int] = mapped_column(Integer, default=0)
    last_seen_at: Mapped[datetime | None]


class CommunityLink(IdMixin, TimestampMixin, Base):
    """An emailed sign-in link: only the SHA-256 of its token, single use, short-lived.
    Also what the per-email and per-address limits of link requests count."""

    __tablename__ = "community_links"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        Index(None, "workspace_id", "email", "created_at"),
        Index(None, "workspace_id", "ip", "created_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    email: Mapped[str] = mapped_column(String(320))
    name: Mapped[str | None] = mapped_column(String(80))
    ip: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))
    next_path: Mapped[str | None] = mapped_column(String(300))
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class CommunitySession(IdMixin, TimestampMixin, Base):
    """A signed-in member's browser: the cookie's token, hashed."""

    __tablename__ = "community_sessions"
    __table_args__ = (UniqueConstraint("token_hash"), Index(None, "member_id"))

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("community_members.id", ondelete="CASCADE")
    )
    token_hash: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime]


class CommunityQuestion(IdMixin, TimestampMixin, Base):
    """A question. ``status``: ``visible``, ``pending`` (waiting for a moderator, with
    the ``held`` reason), ``hidden`` or ``spam``. ``accepted_answer_id`` is the answer
    the asker or a moderator accepted; ``article_id`` the article made from it."""

    __tablename__ = "community_questions"
    __table_args__ = (
        Index(None, "workspace_id", "status", "last_activity_at"),
        Index(None, "member_id", "created_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("community_members.id", ondelete="CASCADE")
    )
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("help_categories.id", ondelete="SET NULL")
    )
    locale: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    held: Mapped[str | None] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer, default=0)
    answer_count: Mapped[int] = mapped_column(Integer, default=0)
    accepted_answer_id: Mapped[uuid.UUID | None]
    article_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("help_articles.id", ondelete="SET NULL")
    )
    edited_at: Mapped[datetime | None]
    last_activity_at: Mapped[datetime]


class CommunityAnswer(IdMixin, TimestampMixin, Base):
    """An answer to a question, with the same states as a question."""

    __tablename__ = "community_answers"
    __table_args__ = (
        Index(None, "question_id", "created_at"),
        Index(None, "workspace_id", "status"),
        Index(None, "member_id", "created_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    question_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("community_questions.id", ondelete="CASCADE")
    )
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("community_members.id", ondelete="CASCADE")
    )
    body: Mapped[str] = mapped_column(Text)
    html: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(10))
    held: Mapped[str | None] = mapped_column(String(20))
    score: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[bool] = mapped_column(Boolean, default=False)
    edited_at: Mapped[datetime | None]


class CommunityVote(IdMixin, Base):
    """A member's vote on a question or an answer: +1 or -1, one per member per post."""

    __tablename__ = "community_votes"
    __table_args__ = (
        UniqueConstraint("member_id", "question_id"),
        UniqueConstraint("member_id", "answer_id"),
        Index(None, "workspace_id"),
        Index(None, "question_id"),
        Index(None, "answer_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("community_members.id", ondelete="CASCADE")
    )
    question_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("community_questions.id", ondelete="CASCADE")
    )
    answer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("community_answers.id", ondelete="CASCADE")
    )
    value: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime]


class CommunityFlag(IdMixin, TimestampMixin, Base):
    """A member's report of a post (spam, rude, off topic...) for the moderators;
    ``resolved_at`` once a moderator acted on the post."""

    __tablename__ = "community_flags"
    __table_args__ = (
        UniqueConstraint("member_id", "question_id"),
        UniqueConstraint("member_id", "answer_id"),
        Index(None, "workspace_id", "resolved_at"),
        Index(None, "question_id"),
        Index(None, "answer_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    member_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("community_members.id", ondelete="CASCADE")
    )
    question_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("community_questions.id", ondelete="CASCADE")
    )
    answer_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("community_answers.id", ondelete="CASCADE")
    )
    reason: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(500))
    resolved_at: Mapped[datetime | None]
