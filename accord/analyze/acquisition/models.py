from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin, TimestampMixin


class Campaign(IdMixin, TimestampMixin, Base):
    """A marketing campaign of a workspace, online or offline (print, a store, an event,
    the radio): what it cost, and the ``utm_campaign`` value that attributes people to it
    (its links carry it; any other tagged visit with that value counts too)."""

    __tablename__ = "acquisition_campaigns"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        UniqueConstraint("workspace_id", "utm_campaign"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(120))
    utm_campaign: Mapped[str] = mapped_column(String(200))  # lower-cased, as touches store it
    channel: Mapped[str] = mapped_column(String(32))  # print, radio, paid_search... (schemas)
    source: Mapped[str] = mapped_column(String(120))
    medium: Mapped[str] = mapped_column(String(120))
    cost: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    starts_on: Mapped[date | None]
    ends_on: Mapped[date | None]
    notes: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None]


class Link(IdMixin, TimestampMixin, Base):
    """A short link of a campaign (``/l/<code>`` on Accord's own domain, printed as a QR
    code or read out on the radio): a click is recorded as a ``Link Clicked`` event and
    answered with a redirect to ``destination``, the campaign's UTM parameters appended
    (the link's own source, medium, term and content where given)."""

    __tablename__ = "acquisition_links"
    __table_args__ = (
        UniqueConstraint("code"),
        Index(None, "campaign_id"),
        Index(None, "workspace_id", "created_at"),
    )

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    campaign_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("acquisition_campaigns.id", ondelete="CASCADE")
    )
    code: Mapped[str] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(String(120))
    destination: Mapped[str] = mapped_column(String(2000))
    utm_source: Mapped[str | None] = mapped_column(String(120))
    utm_medium: Mapped[str | None] = mapped_column(String(120))
    utm_term: Mapped[str | None] = mapped_column(String(200))
    utm_content: Mapped[str | None] = mapped_column(String(200))
    append_utm: Mapped[bool] = mapped_column(Boolean, default=True)
    clicks: Mapped[int] = mapped_column(Integer, default=0)
    last_clicked_at: Mapped[datetime | None]
    created_by: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime | None]


class AcquisitionTouch(Base):
    """Where one live person came from, derived from their events (``touches.py``): the
    first touch, the last touch before their first order (before now while they have
    none) and the latest touch, each with its channel group, UTM values, referring
    domain, the event's channel and time. Kept up to date as resolution changes people;
    a merged person's row goes (the survivor's is computed again) and an erase deletes it
    with the person.

    Neither the person nor the workspace is a foreign key: a row is written only by
    the touches of people resolution holds, in their workspace, and goes with its person
    (the erase finds it by the column, ``info``). Each check locked the person's row and
    the workspace's for every row made."""

    __tablename__ = "acquisition_touches"
    __table_args__ = (
        Index(None, "workspace_id", "first_campaign"),
        Index(None, "workspace_id", "first_source"),
        Index(None, "workspace_id", "first_group"),
        Index(None, "workspace_id", "first_at"),
    )

    profile_id: Mapped[uuid.UUID] = mapped_column(primary_key=True, info={"names": "profiles"})
    workspace_id: Mapped[uuid.UUID]
    first_at: Mapped[datetime | None]
    first_group: Mapped[str | None] = mapped_column(String(32))
    first_source: Mapped[str | None] = mapped_column(String(120))
    first_medium: Mapped[str | None] = mapped_column(String(120))
    first_campaign: Mapped[str | None] = mapped_column(String(200))
    first_term: Mapped[str | None] = mapped_column(String(200))
    first_content: Mapped[str | None] = mapped_column(String(200))
    first_referrer: Mapped[str | None] = mapped_column(String(255))
    first_channel: Mapped[str | None] = mapped_column(String(32))
    last_at: Mapped[datetime | None]
    last_group: Mapped[str | None] = mapped_column(String(32))
    last_source: Mapped[str | None] = mapped_column(String(120))
    last_medium: Mapped[str | None] = mapped_column(String(120))
    last_campaign: Mapped[str | None] = mapped_column(String(200))
    last_term: Mapped[str | None] = mapped_column(String(200))
    last_content: Mapped[str | None] = mapped_column(String(200))
    last_referrer: Mapped[str | None] = mapped_column(String(255))
    last_channel: Mapped[str | None] = mapped_column(String(32))
    latest_at: Mapped[datetime | None]
    latest_group: Mapped[str | None] = mapped_column(String(32))
    latest_source: Mapped[str | None] = mapped_column(String(120))
    latest_medium: Mapped[str | None] = mapped_column(String(120))
    latest_campaign: Mapped[str | None] = mapped_column(String(200))
    latest_term: Mapped[str | None] = mapped_column(String(200))
    latest_content: Mapped[str | None] = mapped_column(String(200))
    latest_referrer: Mapped[str | None] = mapped_column(String(255))
    latest_channel: Mapped[str | None] = mapped_column(String(32))
    first_order_at: Mapped[datetime | None]
    # Known only from clicks on short links (a QR code scanned, the site never visited
    # with that browser): counted as clicks, not as people acquired.
    link_only: Mapped[bool] = mapped_column(Boolean, default=False)
    # The events chosen, and whether the last and latest were attributed (a campaign,
    # another site or a channel of its own, which wins over a later direct visit). With
    # them a person's new events are weighed against the three chosen instead of their
    # history. No foreign key: events are deleted only with their person (an erase),
    # whose row goes with them.
    first_event_id: Mapped[uuid.UUID | None]
    last_event_id: Mapped[uuid.UUID | None]
    latest_event_id: Mapped[uuid.UUID | None]
    last_attributed: Mapped[bool | None]
    latest_attributed: Mapped[bool | None]
    computed_at: Mapped[datetime]


class TouchBacklog(IdMixin, Base):
    """What a committed resolution changed about people, waiting for their touches to
    follow (``acquisition/tasks.py``): written in the change's own transaction, so none
    is lost, and taken (and deleted) by the next job of the workspace, which advances
    every waiting row at once. ``events`` holds each person's new events to read back
    (person id: event ids; those weighed as a touch when accepted, or not weighed),
    ``others`` the people with new events weighed as no touch besides, ``people`` those
    to compute in full (a merge, a split, an import), and ``born`` the people the change
    made, whose new events are all they have."""

    __tablename__ = "acquisition_backlog"
    __table_args__ = (Index(None, "workspace_id", "id"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    events: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    people: Mapped[list[str]] = mapped_column(JSON)
    born: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    others: Mapped[list[str]] = mapped_column(JSON, server_default=text("'[]'"))
    noted_at: Mapped[datetime]
