from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Index, SmallInteger, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin


class Event(IdMixin, Base):
    """One touchpoint: a tracking call, an imported row, an order. Stored as received
    (normalized) before the API answers; resolution then sets its person."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint("workspace_id", "message_id"),
        # Only the events still to resolve: small, whatever the size of the table.
        Index(
            "ix_events_pending",
            "workspace_id",
            "id",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
        # Events resolution gave up on, for admins to see and retry: few, and never
        # written by accepting.
        Index(
            "ix_events_failed",
            "workspace_id",
            "id",
            postgresql_where=text("status = 'failed'"),
            sqlite_where=text("status = 'failed'"),
        ),
        # Events resolution left without a person (their identifiers were all blocked or
        # unusable): an erase finds an erased person's leftovers here.
        Index(
            "ix_events_unattributed",
            "workspace_id",
            "id",
            postgresql_where=text("status = 'unattributed'"),
            sqlite_where=text("status = 'unattributed'"),
        ),
        # Pending events are not attributed yet: only attributed ones are indexed, so
        # accepting an event writes neither index.
        Index(
            None,
            "profile_id",
            "timestamp",
            postgresql_where=text("profile_id IS NOT NULL"),
            sqlite_where=text("profile_id IS NOT NULL"),
        ),
        # Segments count a workspace's events by name over a window, set-based.
        Index(
            "ix_events_name_time",
            "workspace_id",
            "name",
            "timestamp",
            postgresql_where=text("profile_id IS NOT NULL"),
            sqlite_where=text("profile_id IS NOT NULL"),
        ),
        # Not indexed by primary identifier: an event belongs to whoever holds it, so the
        # events of an identifier are found among its holder's (moves, rehoming, erasure).
    )

    # Not a foreign key: an event is written only for the workspace its caller was
    # authenticated to, and workspaces are never deleted. Checking it locked the
    # workspace's row in share mode for every event accepted, one row that all of a
    # workspace's concurrent requests share.
    workspace_id: Mapped[uuid.UUID]
    message_id: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))  # identify, track, page, screen, group, alias
    name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(255))
    anonymous_id: Mapped[str | None] = mapped_column(String(255))
    channel: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(120))
    identifiers: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    traits: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    properties: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # The consent the call carried (Segment's context.consent.categoryPreferences, with
    # the IP and user agent as evidence), set apart from ``context`` so resolution, which
    # records it on the person, reads a small column that is empty for most events.
    consent: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    timestamp: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    received_at: Mapped[datetime]
    # How the event counts in the acquisition, weighed when it was accepted: the bits of
    # ``collect/touch.py`` (a touch, an attributed one, a tracked link's click); NULL for
    # events stored before events were weighed.
    touch: Mapped[int | None] = mapped_column(SmallInteger)
    # pending, resolved, unattributed, or failed: resolution failed on the event alone
    # (``error`` says why) and its workspace went on without it; an admin may retry it;
    # or quarantined: it carried a suppressed identifier and the workspace keeps such
    # calls aside (consent settings, ``suppressed_events``) instead of dropping them.
    status: Mapped[str] = mapped_column(String(12), default="pending")
    error: Mapped[str | None] = mapped_column(Text)
    # The person and the primary identifier are written only by resolution, which takes
    # them from rows it holds in the same transaction, and people and identifiers are
    # deleted only by an erase, which deletes the person's events with them (a merged
    # person stays, pointing at the survivor). So they are plain columns, not foreign
    # keys: checking one locks the person's row for every event written to it, which
    # cost resolution nearly half of its largest write.
    # ``tests/resolve`` checks after merges and splits that each one names a stored row.
    profile_id: Mapped[uuid.UUID | None]
    primary_identifier_id: Mapped[uuid.UUID | None]


class EventFacts(Protocol):
    """What resolution and the profile read of an event: a stored ``Event``, or a
    ``PendingEvent`` read as a plain row."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def workspace_id(self) -> uuid.UUID: ...
    @property
    def message_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def name(self) -> str | None: ...
    @property
    def channel(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def identifiers(self) -> list[list[str]]: ...
    @property
    def traits(self) -> dict[str, Any] | None: ...
    @property
    def properties(self) -> dict[str, Any] | None: ...
    @property
    def timestamp(self) -> datetime: ...
    @property
    def profile_id(self) -> uuid.UUID | None: ...


@dataclass(slots=True)
class PendingEvent:
    """A pending event as the resolver reads it: only the columns resolution uses, as a
    plain row (building thousands of mapped objects a batch costs more than resolving
    them). ``properties`` is read for track events only, the ones that may be orders."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    message_id: str
    type: str
    name: str | None
    channel: str
    source: str
    identifiers: list[list[str]]
    traits: dict[str, Any] | None
    properties: dict[str, Any] | None
    timestamp: datetime
    consent: dict[str, Any] | None = None
    touch: int | None = None
    profile_id: uuid.UUID | None = None
