"""Service figures over time, by day or week, aggregated in SQL (SQLite and PostgreSQL):
volume and channel mix, first response, resolution, first-contact resolution, reopen
rate, satisfaction, chat abandonment and cost, filtered by team, agent, channel,
priority and period.

**When each figure counts.** A period holds what happened in it: conversations and
chats by when they were opened, first responses by when they were sent, resolutions
(time, first-contact resolution) by the last resolution of a conversation resolved now,
reopens by the resolution that was reopened, satisfaction by when it was answered, and
cost by the conversations opened in the period. Times are elapsed time (around the
clock), in UTC days and weeks starting on Monday; the tables of ``metrics.report`` count
business hours.

**Who gets the credit** (with an agent filter, and in ``metrics.report`` by agent): the
first response goes to the agent who sent it, replies to their authors, a resolution
(its time, first-contact resolution, a reopen after it and the satisfaction answer
that follows) to the agent who resolved it, whoever holds the conversation now or
held it before a transfer. An agent's conversations are those they replied in or
resolved; their cost is the time of their own replies. Chat abandonment belongs to no
agent (nobody answered) and reads empty with an agent filter.

**Chat abandonment.** A live chat (channel ``chat``, not a message left while no agent
was online) is abandoned when no agent answered within :data:`ABANDON_MINUTES` of its
start: a visitor on a web page has left by then. A chat still inside that wait counts
neither way yet.

**Medians** are computed in the database with window functions (``row_number`` and
``count`` over each period), which both SQLite and PostgreSQL have."""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    literal,
    or_,
    select,
)
from sqlalchemy.orm import Session, aliased

from accord.inbox.metrics_costs import ServiceCosts
from accord.inbox.metrics_costs import with_version as costs_of
from accord.inbox.models import Conversation, ConversationEvent
from accord.inbox.rules import CHANNELS, PRIORITIES
from accord.kit.dialect import plus_seconds
from accord.kit.errors import invalid
from accord.kit.time import utcnow

Bucket = Literal["day", "week"]
ABANDON_MINUTES = 5
WEEKLY_FROM_DAYS = 45  # a period longer than this is shown by week
MAX_DAYS = 731
# What an agent did in a conversation: the events that credit them with it.
WORK = ("message_out", "first_response", "resolved")
ALL = "all"


@dataclass(frozen=True)
class Filters:
    """The conversations a dashboard looks at, and the period it shows."""

    since: datetime
    until: datetime
    bucket: Bucket
    team_id: uuid.UUID | None = None
    agent_id: uuid.UUID | None = None
    channel: str | None = None
    priority: str | None = None

    @classmethod
    def of(
        cls,
        *,
        days: int | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        bucket: str | None = None,
        team_id: uuid.UUID | None = None,
        agent_id: uuid.UUID | None = None,
        channel: str | None = None,
        priority: str | None = None,
        now: datetime | None = None,
    ) -> Filters:
        """Checked filters: the period is ``since``..``until`` (default: the last
        ``days``, 30 unless given, up to now); the bucket is a day up to 45 days and a
        week beyond, unless asked."""
        now = now or utcnow()
        end = _aware(until) if until else now
        if since is not None:
            start = _aware(since)
        else:
            span = 30 if days is None else days
            if not 1 <= span <= MAX_DAYS:
                raise invalid(f"days must be 1 to {MAX_DAYS}", field="days")
            start = end - timedelta(days=span)
        if start >= end:
            raise invalid("since must be before until", field="since")
        if end - start > timedelta(days=MAX_DAYS):
            raise invalid(f"A period is at most {MAX_DAYS} days", field="since")
        if bucket not in (None, "", "day", "week"):
            raise invalid("bucket must be day or week", field="bucket")
        chosen: Bucket = (
            "week"
            if bucket == "week" or (not bucket and end - start > timedelta(days=WEEKLY_FROM_DAYS))
            else "day"
        )
        if channel and channel not in CHANNELS:
            raise invalid(f"channel must be one of {', '.join(CHANNELS)}", field="channel")
        if priority and priority not in PRIORITIES:
            raise invalid(f"priority must be one of {', '.join(PRIORITIES)}", field="priority")
        return cls(start, end, chosen, team_id, agent_id, channel or None, priority or None)

    def periods(self) -> list[date]:
        """The start of every day or week of the period, in order."""
        first = self.since.astimezone(UTC).date()
        last = (self.until - timedelta(microseconds=1)).astimezone(UTC).date()
        if self.bucket == "week":
            first -= timedelta(days=first.weekday())
        step = timedelta(days=7 if self.bucket == "week" else 1)
        out = []
        day = first
        while day <= last:
            out.append(day)
            day += step
        return out


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Point(BaseModel):
    """The figures of one period (or, as ``totals``, of the whole period)."""

    period: date
    conversations: int = 0
    channels: dict[str, int] = Field(default_factory=dict)
    first_responses: int = 0
    first_response_p50_seconds: float | None = None
    first_response_avg_seconds: float | None = None
    resolved: int = 0
    resolution_p50_seconds: float | None = None
    resolution_avg_seconds: float | None = None
    first_contact_resolution_rate: float | None = None
    resolutions: int = 0
    reopened: int = 0
    reopen_rate: float | None = None
    csat_responses: int = 0
    csat_average: float | None = None
    csat_satisfied_rate: float | None = None
    chats: int | None = None
    chats_abandoned: int | None = None
    chat_abandonment_rate: float | None = None
    agent_replies: int = 0
    agent_hours: float = 0.0
    cost: float = 0.0
    cost_by_channel: dict[str, float] = Field(default_factory=dict)
    cost_per_conversation: float | None = None


class Trends(BaseModel):
    bucket: Bucket
    since: datetime
    until: datetime
    team_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    channel: str | None
    priority: str | None
    currency: str
    costs_configured: bool
    chat_abandon_minutes: int = ABANDON_MINUTES
    points: list[Point]
    totals: Point


# --- SQL that differs between the two databases --------------------------------------


def _postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def period_of(session: Session, column: Any, bucket: str) -> ColumnElement[Any]:
    """The UTC day or week (its Monday) of a time, as ``YYYY-MM-DD`` text; ``all``: one
    period for everything."""
    if bucket == ALL:
        return literal(ALL, String)
    if _postgres(session):
        truncated = func.date_trunc(bucket, func.timezone("UTC", column))
        return func.to_char(truncated, "YYYY-MM-DD")
    if bucket == "week":
        # The next Sunday (or the day itself), six days back: the Monday of its week.
        return func.date(column, "weekday 0", "-6 days")
    return func.date(column)


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[float]:
    if _postgres(session):
        return cast(extract("epoch", later - earlier), Float)
    return (func.julianday(later) - func.julianday(earlier)) * 86400.0


# --- the queries ----------------------------------------------------------------------


C = Conversation
E = ConversationEvent


def _scope(filters: Filters, workspace_id: uuid.UUID) -> list[ColumnElement[bool]]:
    """The conversation filters every figure shares (the agent's are each figure's)."""
    out: list[ColumnElement[bool]] = [C.workspace_id == workspace_id]
    if filters.team_id:
        out.append(C.team_id == filters.team_id)
    if filters.channel:
        out.append(C.channel == filters.channel)
    if filters.priority:
        out.append(C.priority == filters.priority)
    return out


def _within(column: Any, filters: Filters) -> ColumnElement[bool]:
    return and_(column >= filters.since, column < filters.until)


def _last_resolver() -> Any:
    """The agent of a conversation's latest resolution (a correlated scalar query)."""
    last = aliased(ConversationEvent)
    return (
        select(last.actor_id)
        .where(last.conversation_id == C.id, last.kind == "resolved")
        .order_by(last.at.desc(), last.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _worked_on(agent_id: uuid.UUID) -> ColumnElement[bool]:
    work = aliased(ConversationEvent)
    return exists().where(
        work.conversation_id == C.id, work.actor_id == agent_id, work.kind.in_(WORK)
    )


def _key(value: Any) -> str:
    return value if isinstance(value, str) else str(value)[:10]


def _distribution(
    session: Session, rows: Select[Any]
) -> dict[str, tuple[int, float | None, float | None]]:
    """Per period of ``rows`` (columns ``period`` and ``seconds``): how many, the median
    and the average, in two queries, the median with window functions."""
    sub = rows.subquery()
    ranked = select(
        sub.c.period,
        sub.c.seconds,
        func.row_number().over(partition_by=sub.c.period, order_by=sub.c.seconds).label("rn"),
        func.count().over(partition_by=sub.c.period).label("n"),
    ).subquery()
    middle = or_(ranked.c.rn == (ranked.c.n + 1) // 2, ranked.c.rn == (ranked.c.n + 2) // 2)
    # Rounded to the hundredth of a second: SQLite's julian days carry float noise.
    medians = {
        _key(p): round(float(m), 2)
        for p, m in session.execute(
            select(ranked.c.period, func.avg(ranked.c.seconds))
            .where(middle)
            .group_by(ranked.c.period)
        )
    }
    out: dict[str, tuple[int, float | None, float | None]] = {}
    for period, count, average in session.execute(
        select(sub.c.period, func.count(), func.avg(sub.c.seconds)).group_by(sub.c.period)
    ):
        out[_key(period)] = (int(count), medians.get(_key(period)), round(float(average), 2))
    return out


def _volume(session: Session, ws: uuid.UUID, f: Filters, bucket: str) -> dict[str, dict[str, int]]:
    period = period_of(session, C.created_at, bucket).label("period")
    stmt = (
        select(period, C.channel, func.count())
        .where(*_scope(f, ws), _within(C.created_at, f))
        .group_by(period, C.channel)
    )
    if f.agent_id:
        stmt = stmt.where(_worked_on(f.agent_id))
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for p, channel, count in session.execute(stmt):
        out[_key(p)][channel] = int(count)
    return out


def _first_responses(
    session: Session, ws: uuid.UUID, f: Filters, bucket: str
) -> dict[str, tuple[int, float | None, float | None]]:
    stmt = (
        select(
            period_of(session, E.at, bucket).label("period"),
            seconds_between(session, E.at, C.created_at).label("seconds"),
        )
        .select_from(E)
        .join(C, C.id == E.conversation_id)
        .where(E.workspace_id == ws, E.kind == "first_response", _within(E.at, f), *_scope(f, ws))
    )
    if f.agent_id:
        stmt = stmt.where(E.actor_id == f.agent_id)
    return _distribution(session, stmt)


def _resolved_now(f: Filters, ws: uuid.UUID) -> list[ColumnElement[bool]]:
    where = [*_scope(f, ws), C.status == "resolved", _within(C.resolved_at, f)]
    if f.agent_id:
        where.append(_last_resolver() == f.agent_id)
    return where


def _resolutions(
    session: Session, ws: uuid.UUID, f: Filters, bucket: str
) -> dict[str, tuple[int, float | None, float | None]]:
    stmt = select(
        period_of(session, C.resolved_at, bucket).label("period"),
        seconds_between(session, C.resolved_at, C.created_at).label("seconds"),
    ).where(*_resolved_now(f, ws))
    return _distribution(session, stmt)


def _first_contact(session: Session, ws: uuid.UUID, f: Filters, bucket: str) -> dict[str, int]:
    """Per period, the conversations resolved on first contact: never reopened, with at
    most one reply from an agent."""
    reply = aliased(ConversationEvent)
    replies = (
        select(func.count())
        .where(
            reply.conversation_id == C.id,
            reply.kind == "message_out",
            reply.actor_id.is_not(None),
        )
        .scalar_subquery()
    )
    period = period_of(session, C.resolved_at, bucket).label("period")
    stmt = (
        select(period, func.count())
        .where(*_resolved_now(f, ws), C.reopen_count == 0, replies <= 1)
        .group_by(period)
    )
    return {_key(p): int(n) for p, n in session.execute(stmt)}


def _reopens(
    session: Session, ws: uuid.UUID, f: Filters, bucket: str
) -> dict[str, tuple[int, int]]:
    """Per period, the resolutions made and how many of them were reopened later."""
    later = aliased(ConversationEvent)
    reopened = exists().where(
        later.conversation_id == E.conversation_id, later.kind == "reopened", later.at > E.at
    )
    period = period_of(session, E.at, bucket).label("period")
    stmt = (
        select(period, func.count(), func.sum(case((reopened, 1), else_=0)))
        .select_from(E)
        .join(C, C.id == E.conversation_id)
        .where(E.workspace_id == ws, E.kind == "resolved", _within(E.at, f), *_scope(f, ws))
        .group_by(period)
    )
    if f.agent_id:
        stmt = stmt.where(E.actor_id == f.agent_id)
    return {_key(p): (int(n), int(r or 0)) for p, n, r in session.execute(stmt)}


def _csat(
    session: Session, ws: uuid.UUID, f: Filters, bucket: str
) -> dict[str, tuple[int, float, int]]:
    period = period_of(session, C.csat_at, bucket).label("period")
    stmt = (
        select(
            period,
            func.count(),
            func.avg(cast(C.csat_score, Float)),
            func.sum(case((C.csat_score >= 4, 1), else_=0)),
        )
        .where(*_scope(f, ws), C.csat_score.is_not(None), _within(C.csat_at, f))
        .group_by(period)
    )
    if f.agent_id:
        stmt = stmt.where(_last_resolver() == f.agent_id)
    return {_key(p): (int(n), float(a), int(s or 0)) for p, n, a, s in session.execute(stmt)}


def _abandonment(
    session: Session, ws: uuid.UUID, f: Filters, bucket: str, now: datetime
) -> dict[str, tuple[int, int]]:
    """Per period, the live chats opened and how many nobody answered in time."""
    wait = ABANDON_MINUTES * 60
    answered_in_time = and_(
        C.first_response_at.is_not(None),
        C.first_response_at <= plus_seconds(session, C.created_at, wait),
    )
    still_waiting = and_(
        C.first_response_at.is_(None), C.created_at > now - timedelta(seconds=wait)
    )
    offline = cast(C.tags, String).like('%"offline"%')
    period = period_of(session, C.created_at, bucket).label("period")
    stmt = (
        select(period, func.count(), func.sum(case((answered_in_time, 0), else_=1)))
        .where(
            *_scope(f, ws),
            C.channel == "chat",
            _within(C.created_at, f),
            ~offline,
            ~still_waiting,
        )
        .group_by(period)
    )
    return {_key(p): (int(n), int(a or 0)) for p, n, a in session.execute(stmt)}


def _replies(
    session: Session, ws: uuid.UUID, f: Filters, bucket: str
) -> dict[str, list[tuple[str, str, int]]]:
    """Per period of the conversations opened in it: agents' replies by the
    conversation's channel and the reply's own."""
    period = period_of(session, C.created_at, bucket).label("period")
    stmt = (
        select(period, C.channel, E.channel, func.count())
        .select_from(E)
        .join(C, C.id == E.conversation_id)
        .where(
            E.workspace_id == ws,
            E.kind == "message_out",
            E.actor_id.is_not(None),
            _within(C.created_at, f),
            *_scope(f, ws),
        )
        .group_by(period, C.channel, E.channel)
    )
    if f.agent_id:
        stmt = stmt.where(E.actor_id == f.agent_id)
    out: dict[str, list[tuple[str, str, int]]] = defaultdict(list)
    for p, opened_on, replied_on, n in session.execute(stmt):
        out[_key(p)].append((opened_on, replied_on or opened_on, int(n)))
    return out


# --- putting the figures together -----------------------------------------------------


def _figures(
    session: Session,
    ws: uuid.UUID,
    f: Filters,
    bucket: str,
    costs: ServiceCosts,
    now: datetime,
) -> dict[str, Point]:
    volume = _volume(session, ws, f, bucket)
    firsts = _first_responses(session, ws, f, bucket)
    resolutions = _resolutions(session, ws, f, bucket)
    first_contact = _first_contact(session, ws, f, bucket)
    reopens = _reopens(session, ws, f, bucket)
    csat = _csat(session, ws, f, bucket)
    chats = {} if f.agent_id else _abandonment(session, ws, f, bucket, now)
    replies = _replies(session, ws, f, bucket)
    keys = set(volume) | set(firsts) | set(resolutions) | set(reopens) | set(csat)
    keys |= set(chats) | set(replies)
    hourly = float(costs.agent_hourly)
    out: dict[str, Point] = {}
    for key in keys:
        point = Point(period=date.min if key == ALL else date.fromisoformat(key))
        channels = volume.get(key, {})
        point.channels = dict(sorted(channels.items()))
        point.conversations = sum(channels.values())
        if key in firsts:
            n, median, average = firsts[key]
            point.first_responses = n
            point.first_response_p50_seconds = median
            point.first_response_avg_seconds = average
        if key in resolutions:
            n, median, average = resolutions[key]
            point.resolved = n
            point.resolution_p50_seconds = median
            point.resolution_avg_seconds = average
            point.first_contact_resolution_rate = first_contact.get(key, 0) / n
        if key in reopens:
            made, reopened = reopens[key]
            point.resolutions, point.reopened = made, reopened
            point.reopen_rate = reopened / made if made else None
        if key in csat:
            n, average, satisfied = csat[key]
            point.csat_responses = n
            point.csat_average = average
            point.csat_satisfied_rate = satisfied / n
        if not f.agent_id:
            opened, abandoned = chats.get(key, (0, 0))
            point.chats, point.chats_abandoned = opened, abandoned
            point.chat_abandonment_rate = abandoned / opened if opened else None
        by_channel: dict[str, float] = defaultdict(float)
        if not f.agent_id:
            for channel, n in channels.items():
                by_channel[channel] += float(costs.fixed(channel)) * n
        minutes = 0.0
        for opened_on, replied_on, n in replies.get(key, []):
            point.agent_replies += n
            spent = costs.minutes(replied_on) * n
            minutes += spent
            by_channel[opened_on] += spent / 60 * hourly
        point.agent_hours = round(minutes / 60, 2)
        point.cost_by_channel = {k: round(v, 2) for k, v in sorted(by_channel.items())}
        point.cost = round(sum(by_channel.values()), 2)
        if point.conversations:
            point.cost_per_conversation = round(point.cost / point.conversations, 2)
        out[key] = point
    return out


def trends(
    session: Session, workspace_id: uuid.UUID, filters: Filters, *, now: datetime | None = None
) -> Trends:
    """Every figure per day or week of the period, and for the whole period."""
    now = now or utcnow()
    costs, _ = costs_of(session, workspace_id)
    by_period = _figures(session, workspace_id, filters, filters.bucket, costs, now)
    points = [by_period.get(p.isoformat()) or _blank(p, filters) for p in filters.periods()]
    whole = _figures(session, workspace_id, filters, ALL, costs, now).get(ALL)
    start = filters.since.astimezone(UTC).date()
    totals = _blank(start, filters) if whole is None else whole.model_copy(update={"period": start})
    return Trends(
        bucket=filters.bucket,
        since=filters.since,
        until=filters.until,
        team_id=filters.team_id,
        agent_id=filters.agent_id,
        channel=filters.channel,
        priority=filters.priority,
        currency=costs.currency,
        costs_configured=costs.configured,
        points=points,
        totals=totals,
    )


def _blank(period: date, filters: Filters) -> Point:
    point = Point(period=period)
    if not filters.agent_id:
        point.chats, point.chats_abandoned = 0, 0
    return point
