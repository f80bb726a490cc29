"""The knowledge base and its help center: categories, articles with one translation per
language, every saved version of a translation, the search documents, and what readers
did (searches, reading, votes, help-center visits)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin

# PostgreSQL keeps a weighted tsvector per document; SQLite has an FTS5 table beside it
# (``help_fts``, made by the migration) and leaves this column empty.
SearchVector = Text().with_variant(postgresql.TSVECTOR(), "postgresql")


class HelpCategory(IdMixin, TimestampMixin, Base):
    """A section of the help center. ``names`` and ``descriptions`` are per language
    (``{"en": "Returns"}``); the workspace's default language is the fallback."""

    __tablename__ = "help_categories"
    __table_args__ = (UniqueConstraint("workspace_id", "slug"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    icon: Mapped[str | None] = mapped_column(String(40))
    names: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    descriptions: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class HelpArticle(IdMixin, TimestampMixin, Base):
    """One answer, in one or more languages. ``visibility``: ``public`` (the help
    center) or ``internal`` (agents only). Its state is each translation's."""

    __tablename__ = "help_articles"
    __table_args__ = (
        UniqueConstraint("workspace_id", "slug"),
        Index(None, "workspace_id", "category_id", "position"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    category_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("help_categories.id", ondelete="SET NULL")
    )
    slug: Mapped[str] = mapped_column(String(160))
    position: Mapped[int] = mapped_column(Integer, default=0)
    visibility: Mapped[str] = mapped_column(String(10), default="public")
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    review_by: Mapped[date | None] = mapped_column(Date)
    updated_at: Mapped[datetime]
    helpful: Mapped[int] = mapped_column(Integer, default=0)
    unhelpful: Mapped[int] = mapped_column(Integer, default=0)
    views: Mapped[int] = mapped_column(Integer, default=0)


class HelpTranslation(IdMixin, Base):
    """An article in one language: the text being edited (``title``, ``body``) and
    the text readers see (``published_*``, from the version published last). ``status``:
    ``draft``, ``review`` (waiting for a reviewer), ``published``, ``archived``. A
    version published for a later time (``publish_at``) goes live then."""

    __tablename__ = "help_translations"
    __table_args__ = (UniqueConstraint("article_id", "locale"), Index(None, "workspace_id"))

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_articles.id", ondelete="CASCADE")
    )
    locale: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default="draft")
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    published_version: Mapped[int | None] = mapped_column(Integer)
    published_title: Mapped[str | None] = mapped_column(String(300))
    published_summary: Mapped[str | None] = mapped_column(String(500))
    published_html: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None]
    publish_at: Mapped[datetime | None]
    updated_at: Mapped[datetime]
    updated_by: Mapped[str | None] = mapped_column(String(200))


class HelpRevision(IdMixin, Base):
    """A saved version of a translation, kept for history and restore."""

    __tablename__ = "help_revisions"
    __table_args__ = (UniqueConstraint("translation_id", "number"), Index(None, "workspace_id"))

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    translation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_translations.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(300))
    summary: Mapped[str | None] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(String(300))
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]


class HelpDocument(Base):
    """What search reads: one row per published translation (its id), with the text
    readers see. Written only by the knowledge base's service on publish and removal."""

    __tablename__ = "help_documents"
    __table_args__ = (
        Index(None, "workspace_id", "locale"),
        Index(None, "article_id"),
        Index("ix_help_documents_search", "search", postgresql_using="gin"),
    )

    id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_translations.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_articles.id", ondelete="CASCADE")
    )
    locale: Mapped[str] = mapped_column(String(16))
    internal: Mapped[bool] = mapped_column(Boolean, default=False)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    search: Mapped[str | None] = mapped_column(SearchVector)


class HelpAsset(IdMixin, TimestampMixin, Base):
    """An image or a file of an article, kept in the database (every server of a
    deployment serves it) and shown where the article's Markdown links to it."""

    __tablename__ = "help_assets"
    __table_args__ = (Index(None, "article_id"), Index(None, "workspace_id"))

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_articles.id", ondelete="CASCADE")
    )
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str | None] = mapped_column(String(200))


class HelpReplyLink(IdMixin, Base):
    """An article an agent's reply linked to (the help center's link in the text)."""

    __tablename__ = "help_reply_links"
    __table_args__ = (
        UniqueConstraint("message_id", "article_id"),
        Index(None, "workspace_id", "at"),
        Index(None, "article_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_articles.id", ondelete="CASCADE")
    )
    conversation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("conversations.id", ondelete="CASCADE")
    )
    message_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("messages.id", ondelete="CASCADE"))
    at: Mapped[datetime]


class HelpTerm(Base):
    """The words of a workspace's published articles (after folding), for correcting
    typed-wrong search words to a word the articles use."""

    __tablename__ = "help_terms"

    workspace_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True
    )
    term: Mapped[str] = mapped_column(String(60), primary_key=True)
    documents: Mapped[int] = mapped_column(Integer, default=0)


class HelpSearch(IdMixin, Base):
    """One search a reader or an agent ran: what was asked, how many answers it found,
    and what came of it (an article opened, a contact started)."""

    __tablename__ = "help_searches"
    __table_args__ = (
        Index(None, "workspace_id", "at"),
        Index(None, "workspace_id", "normalized"),
        Index(None, "visit_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    visit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("help_visits.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(12))  # center, widget, form, console
    query: Mapped[str] = mapped_column(String(300))
    normalized: Mapped[str] = mapped_column(String(300))
    locale: Mapped[str] = mapped_column(String(16))
    results: Mapped[int] = mapped_column(Integer)
    top: Mapped[list[str]] = mapped_column(JSON, default=list)
    clicked_article_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("help_articles.id", ondelete="SET NULL")
    )
    contacted: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime]


class HelpVisit(IdMixin, Base):
    """A reader's visit to the help center (or to the suggestions of the widget or the
    form): it is deflected when the reader said an answer helped, or when it ended
    without a conversation; ``contacted`` when a conversation followed."""

    __tablename__ = "help_visits"
    __table_args__ = (
        Index(None, "workspace_id", "started_at"),
        Index(None, "profile_id"),
        Index(None, "workspace_id", "reader", "last_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    reader: Mapped[str] = mapped_column(String(64))  # the browser's anonymous id
    profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("profiles.id", ondelete="SET NULL")
    )
    source: Mapped[str] = mapped_column(String(12))
    started_at: Mapped[datetime]
    last_at: Mapped[datetime]
    articles: Mapped[int] = mapped_column(Integer, default=0)
    searches: Mapped[int] = mapped_column(Integer, default=0)
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    contacted: Mapped[bool] = mapped_column(Boolean, default=False)
    conversation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("conversations.id", ondelete="SET NULL")
    )


class HelpRead(IdMixin, Base):
    """An article read: by which visit, in which language, for how long."""

    __tablename__ = "help_reads"
    __table_args__ = (Index(None, "workspace_id", "at"), Index(None, "article_id", "at"))

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_articles.id", ondelete="CASCADE")
    )
    visit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("help_visits.id", ondelete="SET NULL")
    )
    locale: Mapped[str] = mapped_column(String(16))
    seconds: Mapped[int] = mapped_column(Integer, default=0)
    at: Mapped[datetime]


class HelpVote(IdMixin, Base):
    """ "Was this helpful?": yes or no, with an optional comment."""

    __tablename__ = "help_votes"
    __table_args__ = (Index(None, "article_id", "at"), Index(None, "workspace_id", "at"))

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    article_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("help_articles.id", ondelete="CASCADE")
    )
    visit_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("help_visits.id", ondelete="SET NULL")
    )
    locale: Mapped[str] = mapped_column(String(16))
    helpful: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime]
