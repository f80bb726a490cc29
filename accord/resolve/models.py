from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class Identifier(IdMixin, TimestampMixin, Base):
    """A typed, normalized value that points at a person. Unique per workspace: two
    requests introducing the same new value can never create two of it."""

    __tablename__ = "identifiers"
    __table_args__ = (
        UniqueConstraint("workspace_id", "type", "value"),
        Index(None, "profile_id"),
    )

    # Neither the workspace nor the person is a foreign key: identifiers are written only
    # by resolution, for the workspace it serves and the people it holds in the same
    # transaction, and go only with their person (an erase, which deletes both). Each
    # check locked the row it named for every identifier made or given to someone: the
    # workspace's, which all of a workspace's writers share, and the person's.
    # ``tests/resolve`` checks after merges and splits that each names a stored row.
    workspace_id: Mapped[uuid.UUID]
    type: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(255))
    profile_id: Mapped[uuid.UUID | None] = mapped_column(info={"names": "profiles"})
    blocked: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(120))
    first_event_id: Mapped[uuid.UUID | None]
    last_seen_at: Mapped[datetime]


@dataclass(slots=True)
class KnownIdentifier:
    """An identifier as a plain row: what settling an event by known identifiers reads."""

    id: uuid.UUID
    type: str
    value: str
    profile_id: uuid.UUID | None
    blocked: bool
    last_seen_at: datetime


class IdentityLink(IdMixin, TimestampMixin, Base):
    """Two identifiers seen together in one event: an edge of the identity graph."""

    __tablename__ = "identity_links"
    __table_args__ = (
        UniqueConstraint("workspace_id", "a_id", "b_id"),
        # The other end too, so the links of an identifier by its second end are read
        # from this index alone: with ``b_id`` only, the unique key (read alone for the
        # first end) looked cheaper to the planner on small tables, and was walked
        # through every link of the workspace for each identifier.
        Index(None, "workspace_id", "b_id", "a_id"),
        # Deleting an identifier (an erase) deletes its links by each end: each end
        # leads an index of its own, or the look-up reads every link of the table.
        Index("ix_identity_links_a_id", "a_id"),
        Index("ix_identity_links_b_id", "b_id"),
    )

    # Not foreign keys, as for identifiers: links are written only by resolution, between
    # identifiers it holds, and an erase deletes an identifier's links with it.
    workspace_id: Mapped[uuid.UUID]
    a_id: Mapped[uuid.UUID] = mapped_column(info={"names": "identifiers"})
    b_id: Mapped[uuid.UUID] = mapped_column(info={"names": "identifiers"})
    event_id: Mapped[uuid.UUID | None]
    message_id: Mapped[str | None] = mapped_column(String(200))


class Merge(IdMixin, TimestampMixin, Base):
    """One profile absorbed into another, with its evidence; undone by a split."""

    __tablename__ = "merges"
    __table_args__ = (
        Index(None, "workspace_id", "survivor_id"),
        Index(None, "absorbed_id"),
        # Deleting a person (an erase) deletes the merges naming them by this key.
        Index("ix_merges_survivor_id", "survivor_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    survivor_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    absorbed_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("profiles.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(40))  # shared_identifier, conflict_reassignment...
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    survivor_identifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    absorbed_identifiers: Mapped[list[str]] = mapped_column(JSON, default=list)
    undone_at: Mapped[datetime | None]
    undone_by: Mapped[str | None] = mapped_column(String(200))


class Separation(IdMixin, TimestampMixin, Base):
    """Two sets of identifiers that must not be one person (a merge someone undid)."""

    __tablename__ = "separations"
    # Deleting a merge (an erase) clears the separations naming it: only those that do
    # are indexed.
    __table_args__ = (
        Index(
            "ix_separations_merge_id",
            "merge_id",
            postgresql_where=text("merge_id IS NOT NULL"),
            sqlite_where=text("merge_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    merge_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("merges.id", ondelete="SET NULL"))
    reason: Mapped[str] = mapped_column(String(200))


class SeparationMember(IdMixin, Base):
    __tablename__ = "separation_members"
    __table_args__ = (Index(None, "identifier_id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    separation_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("separations.id", ondelete="CASCADE"), index=True
    )
    identifier_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("identifiers.id", ondelete="CASCADE")
    )
    side: Mapped[str] = mapped_column(String(1))  # "a" or "b"
