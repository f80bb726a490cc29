"""SQL of acquisition: the touches picked from people's events (set-based, a chunk of
people a statement), the stored rows, campaigns and links, and the return report's
aggregates. The same statements run on SQLite and PostgreSQL; what differs is here."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cached_property
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    delete,
    distinct,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.orm import aliased

from accord.analyze.acquisition.channels import Raw, Touch, classify
from accord.analyze.acquisition.models import AcquisitionTouch, Campaign, Link, TouchBacklog
from accord.analyze.acquisition.weigh import TouchSql, weigh
from accord.collect.models import Event
from accord.collect.touch import LINK_CLICKED
from accord.kit.db import UTCDateTime
from accord.kit.dialect import (
    insert_ignore,
    lock_workspace,
    one_of,
    plus_seconds,
    update_by_id,
)
from accord.kit.repository import Repository
from accord.profile.models import Order, Profile


@dataclass(frozen=True)
class Picked:
    """The events chosen as one live person's touches, and their first order."""

    profile_id: uuid.UUID
    first_id: uuid.UUID | None
    last_id: uuid.UUID | None
    latest_id: uuid.UUID | None
    first_order_at: datetime | None
    link_only: bool


@dataclass(frozen=True)
class Stored:
    """What a person's stored row says of the events it chose: their ids and times,
    whether the last and latest were attributed, and the first order they were chosen
    against."""

    first_id: uuid.UUID | None
    last_id: uuid.UUID | None
    latest_id: uuid.UUID | None
    first_at: datetime | None
    last_at: datetime | None
    latest_at: datetime | None
    last_attributed: bool | None
    latest_attributed: bool | None
    first_order_at: datetime | None
    link_only: bool


@dataclass(frozen=True)
class Candidate:
    """One event weighed as a touch: when, whether it is a touch, an attributed one (a
    campaign, another site or a channel of its own) and a short link's click, and what
    it says (``raw``, for grouping)."""

    id: uuid.UUID
    profile_id: uuid.UUID
    timestamp: datetime
    touch: bool
    attributed: bool
    link: bool
    raw: Raw | None = None

    @cached_property
    def grouped(self) -> Touch | None:
        """The touch grouped (``channels.classify``), worked out once whichever of a
        person's touches it becomes; None when nothing was read to group it by."""
        return classify(self.raw) if self.raw is not None else None


@dataclass(frozen=True)
class Aggregate:
    """People acquired with one first-touch campaign, source and channel group (each
    person has one of each, so the counts add up along any of them)."""

    campaign: str | None
    source: str | None
    group: str | None
    acquired: int
    customers: int
    revenue: Decimal


class TouchRepository(Repository):
    def lock(self, workspace_id: uuid.UUID) -> None:
        """The workspace's touches are written by one transaction at a time; its
        statements over many people are planned for their values."""
        lock_workspace(self.session, workspace_id, "acquisition", plan_each_time=True)

    def _sql(self, event: Any) -> TouchSql:
        return TouchSql(self.session.get_bind().dialect.name, event)

    # --- the backlog ----------------------------------------------------------------------

    def keep(
        self,
        workspace_id: uuid.UUID,
        events: dict[uuid.UUID, set[uuid.UUID]],
        people: Collection[uuid.UUID],
        born: Collection[uuid.UUID],
        now: datetime,
        others: Collection[uuid.UUID] = (),
    ) -> None:
        """One waiting row: these people's new events to read back, the people to
        compute whole, those the change made, and those with new events weighed as no
        touch besides."""
        self.session.add(
            TouchBacklog(
                workspace_id=workspace_id,
                events={str(p): [str(e) for e in ids] for p, ids in events.items()},
                people=[str(p) for p in people],
                born=[str(p) for p in born],
                others=[str(p) for p in others],
                noted_at=now,
            )
        )

    def take(self, workspace_id: uuid.UUID, limit: int) -> list[TouchBacklog]:
        """The workspace's oldest waiting rows, deleted as they are taken (the caller
        holds the workspace's acquisition lock)."""
        return self.take_oldest(TouchBacklog, workspace_id, limit)

    def waiting_workspaces(self) -> list[uuid.UUID]:
        return list(self.session.scalars(select(TouchBacklog.workspace_id).distinct()))

    def pick(self, workspace_id: uuid.UUID, profile_ids: Collection[uuid.UUID]) -> list[Picked]:
        """For each live person of ``profile_ids``: the event of their first touch, of
        their latest one, and of the last one up to their first order (with no order:
        the latest), each read by the ``(profile_id, timestamp)`` index and stopping at
        the first that qualifies. For the last and latest, a visit from a campaign, a
        site or a channel wins over a later direct visit (a direct visit counts when
        there is nothing else)."""
        if not profile_ids:
            return []
        e = aliased(Event, name="e")
        sql = self._sql(e)
        attributed, touch = sql.parts()
        first_order = self._first_orders(profile_ids).subquery("fo")
        p = Profile

        def one(*where: ColumnElement[bool], latest: bool) -> Any:
            order = (e.timestamp.desc(), e.id.desc()) if latest else (e.timestamp, e.id)
            return (
                select(e.id)
                .where(e.profile_id == p.id, e.profile_id.is_not(None), touch, *where)
                .order_by(*order)
                .limit(1)
                .scalar_subquery()
            )

        latest = func.coalesce(one(attributed, latest=True), one(latest=True))
        before = e.timestamp <= first_order.c.at
        # With no order yet the last touch is the latest (filled in by the caller).
        last = case(
            (first_order.c.at.is_(None), None),
            else_=func.coalesce(one(attributed, before, latest=True), one(before, latest=True)),
        )
        other = exists().where(
            e.profile_id == p.id,
            e.profile_id.is_not(None),
            or_(e.name.is_(None), e.name != LINK_CLICKED),
        )
        stmt = (
            select(
                p.id,
                one(latest=False).label("first_id"),
                last.label("last_id"),
                latest.label("latest_id"),
                first_order.c.at,
                not_(other).label("link_only"),
            )
            .select_from(p)
            .outerjoin(first_order, first_order.c.profile_id == p.id)
            .where(
                p.workspace_id == workspace_id,
                p.merged_into_id.is_(None),
                one_of(self.session, p.id, profile_ids),
            )
        )
        return [
            Picked(r[0], r[1], r[2] if r[4] is not None else r[3], r[3], r[4], bool(r[5]))
            for r in self.session.execute(stmt)
        ]

    def stored(self, profile_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Stored]:
        """The stored rows of these people (those that have one)."""
        if not profile_ids:
            return {}
        t = AcquisitionTouch
        stmt = select(
            t.profile_id,
            t.first_event_id,
            t.last_event_id,
            t.latest_event_id,
            t.first_at,
            t.last_at,
            t.latest_at,
            t.last_attributed,
            t.latest_attributed,
            t.first_order_at,
            t.link_only,
        ).where(one_of(self.session, t.profile_id, profile_ids))
        return {r[0]: Stored(*r[1:10], bool(r[10])) for r in self.session.execute(stmt)}

    def candidates(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, Candidate]:
        """These events (by id, those with a person) weighed as touches by the rules
        ``pick`` applies (``weigh``: each context read once), with what grouping them
        reads."""
        if not ids:
            return {}
        e = Event
        stmt = select(e.id, e.profile_id, e.timestamp, e.type, e.name, e.channel, e.context).where(
            one_of(self.session, e.id, ids), e.profile_id.is_not(None)
        )
        out: dict[uuid.UUID, Candidate] = {}
        for row in self.session.execute(stmt):
            w = weigh(row[3], row[4], row[5], row[6])
            campaign = {("campaign" if k == "name" else k): v for k, v in w.campaign.items()}
            raw = Raw(
                type=row[3],
                name=row[4],
                channel=row[5],
                timestamp=row[2],
                campaign=campaign,
                referrer=w.referrer,
                url=w.url,
                search=w.search,
            )
            link = row[4] == LINK_CLICKED
            out[row[0]] = Candidate(row[0], row[1], row[2], w.touch, w.attributed, link, raw)
        return out

    def first_orders(self, profile_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, datetime]:
        """Each person's first order that was not cancelled (those with one)."""
        if not profile_ids:
            return {}
        rows = self.session.execute(self._first_orders(profile_ids))
        return {r[0]: r[1] for r in rows if r[0] is not None}

    def _first_orders(self, profile_ids: Collection[uuid.UUID]) -> Select[*tuple[Any, ...]]:
        return (
            select(Order.profile_id, func.min(Order.placed_at).label("at"))
            .where(one_of(self.session, Order.profile_id, profile_ids))
            .where(Order.status != "cancelled")
            .group_by(Order.profile_id)
        )

    def update(self, rows: Sequence[dict[str, Any]]) -> None:
        """Set columns of these people's rows (each row names its ``profile_id`` and the
        same columns)."""
        update_by_id(self.session, AcquisitionTouch.__table__, rows, key="profile_id")

    def replace(self, profile_ids: Collection[uuid.UUID], rows: Sequence[dict[str, Any]]) -> None:
        """The rows of ``profile_ids`` become ``rows`` (people without one have none)."""
        if profile_ids:
            self.session.execute(
                delete(AcquisitionTouch).where(
                    one_of(self.session, AcquisitionTouch.profile_id, profile_ids)
                ),
                execution_options={"synchronize_session": False},
            )
        if not rows:
            return
        table = AcquisitionTouch.__table__
        if self.session.get_bind().dialect.name == "postgresql":
            # One statement for the chunk (the rows travel as one JSON document); the
            # chunk's rows were just deleted, so nothing conflicts.
            insert_ignore(self.session, table, rows, ["profile_id"])
        else:
            self.session.execute(insert(AcquisitionTouch), list(rows))

    def get(self, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> AcquisitionTouch | None:
        row = self.session.get(AcquisitionTouch, profile_id, populate_existing=True)
        return row if row is not None and row.workspace_id == workspace_id else None

    def people_count(self, workspace_id: uuid.UUID) -> int:
        """The workspace's people, live or merged (what a rebuild walks)."""
        stmt = select(func.count()).select_from(Profile).where(Profile.workspace_id == workspace_id)
        return int(self.session.scalar(stmt) or 0)

    def profile_ids_after(
        self, workspace_id: uuid.UUID, after: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]:
        """The next ``limit`` people (live or merged) of the workspace by id."""
        stmt = select(Profile.id).where(Profile.workspace_id == workspace_id)
        if after is not None:
            stmt = stmt.where(Profile.id > after)
        return list(self.session.scalars(stmt.order_by(Profile.id).limit(limit)))

    # --- the return report -------------------------------------------------------------

    def aggregate(
        self,
        workspace_id: uuid.UUID,
        horizon_days: int,
        currency: str,
        since: datetime | None,
        until: datetime | None,
    ) -> list[Aggregate]:
        """People acquired (first touch) per campaign, source and channel group, how
        many of them ordered within ``horizon_days`` of it, and what those orders came to
        (total less refunds, not cancelled, in ``currency``). Clicks-only people are left
        out. One grouped statement."""
        t = AcquisitionTouch
        keys = (t.first_campaign, t.first_source, t.first_group)
        o = Order
        ends = plus_seconds(self.session, t.first_at, horizon_days * 86400)
        joined = and_(
            o.profile_id == t.profile_id,
            o.status != "cancelled",
            o.currency == currency,
            o.placed_at >= t.first_at,
            o.placed_at < ends,
        )
        stmt = (
            select(
                *keys,
                func.count(distinct(t.profile_id)),
                func.count(distinct(o.profile_id)),
                func.coalesce(func.sum(o.total - o.refunded), literal(0)),
            )
            .select_from(t)
            .outerjoin(o, joined)
            .where(t.workspace_id == workspace_id, t.first_at.is_not(None), t.link_only.is_(False))
            .group_by(*keys)
        )
        if since is not None:
            stmt = stmt.where(t.first_at >= since)
        if until is not None:
            stmt = stmt.where(t.first_at < until)
        return [
            Aggregate(r[0], r[1], r[2], int(r[3]), int(r[4]), Decimal(str(r[5] or 0)))
            for r in self.session.execute(stmt)
        ]

    def usual_currency(self, workspace_id: uuid.UUID) -> str | None:
        """A currency the workspace's orders are in (the report's default without
        campaigns)."""
        stmt = select(Order.currency).where(Order.workspace_id == workspace_id).limit(1)
        return self.session.scalars(stmt).first()


class CampaignRepository(Repository):
    def get(self, workspace_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign | None:
        row = self.session.get(Campaign, campaign_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def all(self, workspace_id: uuid.UUID) -> list[Campaign]:
        stmt = select(Campaign).where(Campaign.workspace_id == workspace_id)
        return list(self.session.scalars(stmt.order_by(Campaign.created_at.desc(), Campaign.id)))

    def by(self, workspace_id: uuid.UUID, **equal: str) -> Campaign | None:
        stmt = select(Campaign).where(Campaign.workspace_id == workspace_id)
        for column, value in equal.items():
            stmt = stmt.where(getattr(Campaign, column) == value)
        return self.session.scalars(stmt).first()

    def add(self, row: Campaign) -> Campaign:
        self.session.add(row)
        self.session.flush()
        return row

    def remove(self, row: Campaign) -> None:
        self.session.execute(
            delete(Link).where(Link.campaign_id == row.id),
            execution_options={"synchronize_session": False},
        )
        self.session.delete(row)
        self.session.flush()


class LinkRepository(Repository):
    def get(self, workspace_id: uuid.UUID, link_id: uuid.UUID) -> Link | None:
        row = self.session.get(Link, link_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def by_code(self, code: str) -> Link | None:
        return self.session.scalars(select(Link).where(Link.code == code)).first()

    def code_taken(self, code: str) -> bool:
        stmt = select(Link.id).where(func.lower(Link.code) == code.lower()).limit(1)
        return self.session.scalars(stmt).first() is not None

    def of_campaigns(self, campaign_ids: Collection[uuid.UUID]) -> list[Link]:
        if not campaign_ids:
            return []
        stmt = select(Link).where(one_of(self.session, Link.campaign_id, campaign_ids))
        return list(self.session.scalars(stmt.order_by(Link.created_at, Link.id)))

    def add(self, row: Link) -> Link:
        self.session.add(row)
        self.session.flush()
        return row

    def remove(self, row: Link) -> None:
        self.session.delete(row)
        self.session.flush()

    def count_click(self, link_id: uuid.UUID, at: datetime) -> None:
        """One more click, counted in the database (concurrent clicks all count)."""
        self.session.execute(
            update(Link)
            .where(Link.id == link_id)
            .values(
                clicks=Link.clicks + 1,
                last_clicked_at=case(
                    (
                        or_(Link.last_clicked_at.is_(None), Link.last_clicked_at < at),
                        literal(at, type_=UTCDateTime()),
                    ),
                    else_=Link.last_clicked_at,
                ),
            ),
            execution_options={"synchronize_session": "fetch"},
        )
