from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Boolean,
    Computed,
    DateTime,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    column,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from accord.kit.db import Base, IdMixin, TimestampMixin
from accord.kit.dialect import minute_of

if TYPE_CHECKING:
    from accord.collect.models import Event


class Profile(IdMixin, TimestampMixin, Base):
    """One person. ``traits`` is the golden record with the provenance of each value;
    ``stats`` the computed values. Both are derived from the person's events, so a merge
    loses nothing and a split recomputes each side exactly."""

    __tablename__ = "profiles"
    __table_args__ = (
        # Only people with a value: a look-up, a search and the list of named people
        # each ask for one, and most people (visitors known by a device) have none
        # (migration 0043; so are the trigram indexes of the three, PostgreSQL's alone).
        *(
            Index(
                None,
                "workspace_id",
                name,
                postgresql_where=text(f"{name} IS NOT NULL"),
                sqlite_where=text(f"{name} IS NOT NULL"),
            )
            for name in ("email", "phone", "search_name")
        ),
        # When people were last seen, to the minute, then who: the people list reads it
        # backwards, sorting nothing. Not ``last_seen_at`` itself, which every event
        # moves: an index of it made each update of a person's counts write every index
        # of the table again (no heap-only update on PostgreSQL); the minute moves at
        # most once a minute.
        Index(None, "workspace_id", "seen_minute", "id"),
        # Only tombstones: the people merged into each person (what an erase or an export
        # walks).
        Index(
            None,
            "merged_into_id",
            postgresql_where=text("merged_into_id IS NOT NULL"),
            sqlite_where=text("merged_into_id IS NOT NULL"),
        ),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    # A profile named without a foreign key: a key from the table to itself made SQLite
    # rewrite every index of a profile to mark it merged, and PostgreSQL check the
    # survivor for each. Profiles go only with everyone merged into them (an erase).
    merged_into_id: Mapped[uuid.UUID | None] = mapped_column(info={"names": "profiles"})
    contested: Mapped[bool] = mapped_column(Boolean, default=False)
    traits: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    stats: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    display_name: Mapped[str | None] = mapped_column(String(200))
    search_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(255))
    phone: Mapped[str | None] = mapped_column(String(32))
    first_seen_at: Mapped[datetime | None]
    last_seen_at: Mapped[datetime | None]
    # ``last_seen_at``'s minute (UTC), kept by the database; never loaded.
    seen_minute: Mapped[datetime | None] = mapped_column(
        DateTime(), Computed(minute_of(column("last_seen_at")), persisted=True), deferred=True
    )
    order_count: Mapped[int] = mapped_column(default=0)
    revenue: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    updated_at: Mapped[datetime | None]


class Order(IdMixin, TimestampMixin, Base):
    """An order with its line items; refunds and returns reduce ``refunded``."""

    __tablename__ = "orders"
    __table_args__ = (
        UniqueConstraint("workspace_id", "order_id"),
        Index(None, "profile_id", "placed_at"),
        Index(None, "event_id"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    order_id: Mapped[str] = mapped_column(String(120))
    event_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))
    profile_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("profiles.id", ondelete="SET NULL")
    )
    placed_at: Mapped[datetime]
    channel: Mapped[str] = mapped_column(String(32))
    store: Mapped[str | None] = mapped_column(String(120))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    refunded: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    status: Mapped[str] = mapped_column(String(20), default="placed")
    items: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Never loaded through; they order the unit of work (the person and event first).
    profile: Mapped[Profile | None] = relationship(lazy="raise")
    event: Mapped[Event] = relationship(lazy="raise")
