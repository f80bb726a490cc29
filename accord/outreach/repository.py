"""The SQL of outreach: campaigns, and the send queue (planning, claiming a batch, the
outcome of each send, what the frequency caps and the report count)."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, select, update

from accord.analyze.segments.models import SegmentMember
from accord.collect.models import Event
from accord.inbox.models import Conversation
from accord.inbox.segment_facts import UNRESOLVED
from accord.kit.dialect import (
    each_of,
    hour_of_day,
    insert_ignore,
    one_of,
    plus_seconds,
    update_by_id,
)
from accord.kit.planning import planner
from accord.kit.repository import Repository
from accord.outreach.models import Campaign, Send
from accord.profile.models import Order, Profile


@dataclass(frozen=True, slots=True)
class Claimed:
    """A send taken by a claim, as its batch reads it."""

    id: uuid.UUID
    profile_id: uuid.UUID
    channel: str
    address: str | None
    attempts: int


CLAIM_PLANNER = {"enable_bitmapscan": "off", "enable_sort": "off"}

# A send in one of these is finished: nothing more will happen to it.
DONE = ("sent", "refused", "holdout", "bounced", "complained", "failed", "unknown")
WAITING = ("queued", "sending", "held")


class CampaignRepository(Repository):
    def get(self, workspace_id: uuid.UUID, campaign_id: uuid.UUID) -> Campaign | None:
        found = self.session.get(Campaign, campaign_id)
        return found if found is not None and found.workspace_id == workspace_id else None

    def by_name(self, workspace_id: uuid.UUID, name: str) -> Campaign | None:
        return self.session.scalars(
            select(Campaign).where(Campaign.workspace_id == workspace_id, Campaign.name == name)
        ).first()

    def all(self, workspace_id: uuid.UUID, status: str | None = None) -> list[Campaign]:
        stmt = select(Campaign).where(Campaign.workspace_id == workspace_id)
        if status:
            stmt = stmt.where(Campaign.status == status)
        return list(self.session.scalars(stmt.order_by(Campaign.created_at.desc())))

    def due(self, now: datetime) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """Scheduled campaigns whose time has come, and campaigns still sending."""
        rows = self.session.execute(
            select(Campaign.workspace_id, Campaign.id).where(
                or_(
                    and_(Campaign.status == "scheduled", Campaign.scheduled_at <= now),
                    Campaign.status == "sending",
                )
            )
        )
        return [(w, c) for w, c in rows]


class SendRepository(Repository):
    # --- planning ----------------------------------------------------------------------

    def audience(self, workspace_id: uuid.UUID, segment_id: uuid.UUID) -> list[tuple[Any, ...]]:
        """The live members of a segment with their addresses."""
        return [
            tuple(r)
            for r in self.session.execute(
                select(Profile.id, Profile.email, Profile.phone)
                .join(SegmentMember, SegmentMember.profile_id == Profile.id)
                .where(
                    SegmentMember.segment_id == segment_id,
                    SegmentMember.workspace_id == workspace_id,
                    Profile.merged_into_id.is_(None),
                )
            )
        ]

    def add_many(self, rows: Sequence[dict[str, Any]]) -> int:
        return insert_ignore(self.session, Send.__table__, rows, ["source_key", "profile_id"])

    # --- the queue ---------------------------------------------------------------------

    def claim(
        self,
        scope: Sequence[ColumnElement[bool]],
        claim_id: uuid.UUID,
        limit: int,
        now: datetime,
        after: uuid.UUID | None = None,
    ) -> list[Claimed]:
        """Up to ``limit`` due sends (of a campaign, or a journey's step: ``scope``) in
        the order of their people, from the person after ``after`` on, marked as taken by
        this claim in one statement (two workers never take the same send: PostgreSQL
        skips rows another claim holds; SQLite has one writer at a time). A worker passes
        the last person it claimed, so each walks the campaign once. Returned as plain
        rows: a batch reads them and writes them back by id, never through the ORM.

        The sends are read along the index of their campaign's (or journey's) people, in
        its order, so that the read stops at ``limit`` whatever the statistics say
        (``CLAIM_PLANNER``: on a table never analyzed, as a campaign's just planned sends
        are, the planner expects a few and gathered and sorted every send still due for
        each batch: 20 ms a batch at 20,000 people, more the larger the campaign)."""
        pick = (
            select(Send.id)
            .where(
                *scope,
                Send.status.in_(("queued", "held")),
                or_(Send.next_attempt_at.is_(None), Send.next_attempt_at <= now),
            )
            .order_by(Send.profile_id)
            .limit(limit)
        )
        if after is not None:
            pick = pick.where(Send.profile_id > after)
        if self.session.get_bind().dialect.name == "postgresql":
            pick = pick.with_for_update(skip_locked=True)
        with planner(self.session, **CLAIM_PLANNER):
            rows = self.session.execute(
                update(Send)
                .where(Send.id.in_(pick.scalar_subquery()))
                .values(status="sending", claim_id=claim_id, claimed_at=now)
                .returning(Send.id, Send.profile_id, Send.channel, Send.address, Send.attempts)
                .execution_options(synchronize_session=False)
            ).all()
        return sorted((Claimed(*row) for row in rows), key=lambda c: c.profile_id)

    def campaign_sending(self, campaign_id: uuid.UUID) -> bool:
        """Whether a campaign is still to be sent (not paused, cancelled or finished)."""
        status = self.session.scalar(select(Campaign.status).where(Campaign.id == campaign_id))
        return status == "sending"

    def settle(self, outcomes: Iterable[dict[str, Any]]) -> None:
        """Each send's outcome (``id`` and the columns that change): the outcomes that
        set the same columns in one statement (``kit.dialect.update_by_id``)."""
        by_columns: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for values in outcomes:
            by_columns.setdefault(tuple(sorted(values)), []).append(values)
        for rows in by_columns.values():
            update_by_id(self.session, Send.__table__, rows)

    def cancel_waiting(self, campaign_id: uuid.UUID, reason: str) -> int:
        result = self.session.execute(
            update(Send)
            .where(Send.campaign_id == campaign_id, Send.status.in_(("queued", "held")))
            .values(status="refused", code="cancelled", reason=reason, next_attempt_at=None)
            .execution_options(synchronize_session=False)
        )
        return max(int(getattr(result, "rowcount", 0) or 0), 0)

    def stale_claims(
        self, scope: Sequence[ColumnElement[bool]], before: datetime
    ) -> list[uuid.UUID]:
        return list(
            self.session.scalars(
                select(Send.claim_id)
                .where(
                    *scope,
                    Send.status == "sending",
                    Send.claimed_at < before,
                )
                .group_by(Send.claim_id)
            )
        )

    def unfinished(self) -> list[uuid.UUID]:
        """Campaigns that may have sends claimed: sending, paused or cancelled while
        some were being sent."""
        return list(
            self.session.scalars(
                select(Campaign.id).where(Campaign.status.in_(("sending", "paused", "cancelled")))
            )
        )

    def of_claim(self, claim_id: uuid.UUID) -> list[Send]:
        return list(
            self.session.scalars(
                select(Send)
                .where(Send.claim_id == claim_id, Send.status == "sending")
                .order_by(Send.profile_id)
            )
        )

    def by_message_ids(self, workspace_id: uuid.UUID, message_ids: Collection[str]) -> list[Send]:
        if not message_ids:
            return []
        return list(
            self.session.scalars(
                select(Send).where(
                    Send.workspace_id == workspace_id, Send.message_id.in_(list(message_ids))
                )
            )
        )

    def counts(self, campaign_id: uuid.UUID) -> dict[str, int]:
        rows = self.session.execute(
            select(Send.status, func.count())
            .where(Send.campaign_id == campaign_id)
            .group_by(Send.status)
        )
        return {status: int(n) for status, n in rows}

    def waiting(self, campaign_id: uuid.UUID) -> int:
        return int(
            self.session.scalar(
                select(func.count()).where(
                    Send.campaign_id == campaign_id, Send.status.in_(WAITING)
                )
            )
            or 0
        )

    def next_due(self, campaign_id: uuid.UUID) -> datetime | None:
        return self.session.scalar(
            select(func.min(Send.next_attempt_at)).where(
                Send.campaign_id == campaign_id, Send.status.in_(("queued", "held"))
            )
        )

    def usual_hours(
        self, workspace_id: uuid.UUID, profile_ids: Collection[uuid.UUID], since: datetime
    ) -> dict[uuid.UUID, int]:
        """Each person's most frequent hour of the day (UTC) among their events since
        ``since``; people with none are left out."""
        if not profile_ids:
            return {}
        hour = hour_of_day(self.session, Event.timestamp)
        rows = self.session.execute(
            select(Event.profile_id, hour, func.count())
            .where(
                one_of(self.session, Event.profile_id, list(profile_ids)),
                Event.workspace_id == workspace_id,
                Event.timestamp >= since,
            )
            .group_by(Event.profile_id, hour)
        )
        best: dict[uuid.UUID, tuple[int, int]] = {}
        for pid, h, n in rows:
            if h is None:
                continue
            if pid not in best or (n, -h) > (best[pid][1], -best[pid][0]):
                best[pid] = (int(h), int(n))
        return {pid: h for pid, (h, _) in best.items()}

    # --- what the rules count ----------------------------------------------------------

    def promotions_since(
        self, profile_ids: Collection[uuid.UUID], since: datetime, channel: str | None
    ) -> dict[uuid.UUID, int]:
        """How many promotional messages each person was sent since ``since`` (on
        ``channel``, or on any)."""
        if not profile_ids:
            return {}

        def build(person: ColumnElement[bool]) -> Any:
            stmt = select(Send.profile_id, func.count().label("n")).where(
                person,
                Send.status == "sent",
                Send.promotional.is_(True),
                Send.sent_at >= since,
            )
            if channel is not None:
                stmt = stmt.where(Send.channel == channel)
            return stmt.group_by(Send.profile_id)

        # Each person through the index of people (``each_of``): with ``= ANY``, a table
        # never analyzed (a campaign's sends, just planned) was read whole for every batch.
        stmt = each_of(self.session, Send.profile_id, list(profile_ids), build)
        return {p: int(n) for p, n in self.session.execute(stmt)}

    def members_of(
        self, segment_id: uuid.UUID, profile_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        if not profile_ids:
            return set()
        return set(
            self.session.scalars(
                select(SegmentMember.profile_id).where(
                    SegmentMember.segment_id == segment_id,
                    one_of(self.session, SegmentMember.profile_id, list(profile_ids)),
                )
            )
        )

    def open_conversations(self, profile_ids: Collection[uuid.UUID]) -> set[uuid.UUID]:
        """Who of these people has a service conversation not yet resolved."""
        if not profile_ids:
            return set()
        return set(
            self.session.scalars(
                select(Conversation.profile_id).where(
                    one_of(self.session, Conversation.profile_id, list(profile_ids)),
                    Conversation.status.in_(UNRESOLVED),
                )
            )
        )

    def unhappy(
        self, profile_ids: Collection[uuid.UUID], at_most: int, since: datetime
    ) -> set[uuid.UUID]:
        """Who of these people rated a conversation ``at_most`` or less since ``since``."""
        if not profile_ids:
            return set()
        return set(
            self.session.scalars(
                select(Conversation.profile_id).where(
                    one_of(self.session, Conversation.profile_id, list(profile_ids)),
                    Conversation.csat_score <= at_most,
                    Conversation.csat_at >= since,
                )
            )
        )

    # --- the report ----------------------------------------------------------------------

    def outcomes(self, campaign: Campaign, goal_days: int) -> list[tuple[str, bool, float]]:
        """For each person sent the campaign or held out of it: their status, whether they
        reached the goal and their net order revenue within ``goal_days`` of the send (of
        the campaign's start, for the holdout)."""
        start = func.coalesce(Send.sent_at, campaign.started_at)
        seconds = goal_days * 86400.0
        end = plus_seconds(self.session, start, seconds)
        converted = (
            select(func.count(Event.id))
            .where(
                Event.profile_id == Send.profile_id,
                Event.workspace_id == campaign.workspace_id,
                Event.name == campaign.goal_event,
                Event.timestamp >= start,
                Event.timestamp < end,
            )
            .scalar_subquery()
        )
        revenue = (
            select(func.coalesce(func.sum(Order.total - Order.refunded), 0))
            .where(
                Order.profile_id == Send.profile_id,
                Order.placed_at >= start,
                Order.placed_at < end,
            )
            .scalar_subquery()
        )
        rows = self.session.execute(
            select(Send.status, converted, revenue).where(
                Send.campaign_id == campaign.id, Send.status.in_(("sent", "holdout"))
            )
        )
        return [(status, bool(n), float(r or 0)) for status, n, r in rows]

    def engagement(self, campaign_id: uuid.UUID) -> tuple[int, int]:
        opened, clicked = self.session.execute(
            select(
                func.count(Send.opened_at),
                func.count(Send.clicked_at),
            ).where(Send.campaign_id == campaign_id)
        ).one()
        return int(opened or 0), int(clicked or 0)

    def link_clicks(self, workspace_id: uuid.UUID, campaign_id: uuid.UUID) -> list[tuple[str, int]]:
        url = Event.properties["url"].as_string()
        rows = self.session.execute(
            select(url, func.count())
            .where(
                Event.workspace_id == workspace_id,
                Event.name == "Email Link Clicked",
                Event.properties["campaign_id"].as_string() == str(campaign_id),
            )
            .group_by(url)
            .order_by(func.count().desc())
            .limit(50)
        )
        return [(str(u), int(n)) for u, n in rows]

    # --- tracking ----------------------------------------------------------------------

    def count_open(self, send_id: uuid.UUID, at: datetime) -> None:
        self.session.execute(
            update(Send)
            .where(Send.id == send_id)
            .values(opens=Send.opens + 1, opened_at=func.coalesce(Send.opened_at, at))
            .execution_options(synchronize_session=False)
        )

    def count_click(self, send_id: uuid.UUID, at: datetime) -> None:
        self.session.execute(
            update(Send)
            .where(Send.id == send_id)
            .values(
                clicks=Send.clicks + 1,
                clicked_at=func.coalesce(Send.clicked_at, at),
                opened_at=func.coalesce(Send.opened_at, at),
            )
            .execution_options(synchronize_session=False)
        )
