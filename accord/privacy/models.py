"""Data-subject requests and retention runs, and the indexes erasing a person needs on
tables other packages own (declared here, with their reason, so the model and the
migration agree)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from accord.chat.models import ChatTriggerShow
from accord.collect.models import Event
from accord.inbox.models import Conversation
from accord.kit.db import Base, IdMixin, TimestampMixin
from accord.kit.time import utcnow
from accord.match.models import MatchCandidate
from accord.resolve.models import IdentityLink, Merge, Separation

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


# Events resolution left without a person carry only blocked identifiers (a shared
# device): an erase by such an identifier finds its events here, and only these are
# indexed, so accepting and resolving an attributed event writes nothing more.
UNATTRIBUTED = "status = 'unattributed'"
_events = Event.__table__.c
Index(
    "ix_events_unattributed",
    _events.workspace_id,
    _events.id,
    postgresql_where=text(UNATTRIBUTED),
    sqlite_where=text(UNATTRIBUTED),
)

# Deleting an identifier makes the database delete its identity links (the foreign keys
# cascade), looking them up by each end for every identifier deleted. The links' own
# indexes start with the workspace, so that look-up read every link of the table (0.2 s
# an identifier at 300,000 links, growing with the graph): each end gets an index of its
# own.
_links = IdentityLink.__table__.c
Index("ix_identity_links_a_id", _links.a_id)
Index("ix_identity_links_b_id", _links.b_id)

# Deleting a person, a merge or a conversation makes the database look up, for each row
# deleted, the rows whose foreign key names it (to delete them or set the key to null).
# Where no index leads with that key, each look-up reads the whole table or index; these
# give each key an index of its own (only the rows that name something, where most do
# not), so the cost of an erase follows the person's own rows, not the size of the
# tables. ``tests/privacy/test_schema.py`` holds every foreign key to a person's table to
# this.
NAMED = "{} IS NOT NULL"
Index("ix_conversations_profile_id", Conversation.__table__.c.profile_id)
Index("ix_merges_survivor_id", Merge.__table__.c.survivor_id)
Index("ix_match_candidates_profile_a_id", MatchCandidate.__table__.c.profile_a_id)
for _model, _column in (
    (MatchCandidate, "merge_id"),
    (Separation, "merge_id"),
    (ChatTriggerShow, "conversation_id"),
):
    Index(
        f"ix_{_model.__tablename__}_{_column}",
        _model.__table__.c[_column],
        postgresql_where=text(NAMED.format(_column)),
        sqlite_where=text(NAMED.format(_column)),
    )
