"""Service metrics computed from the conversations' event logs: first response time,
resolution time, first-contact resolution, reopen rate and CSAT, in business hours when
asked, per agent, team or channel; and one CSV row per conversation. The same figures by
day or week, in SQL, with filters and costs, are :mod:`accord.inbox.metrics_trends`.

Per agent, each figure credits the agent who did the work, not whoever holds the
conversation now (a transfer moves the conversation, not the credit): the first
response goes to the agent who sent it, replies to their authors, and the resolution
with what follows from it (resolution time, first-contact resolution, a reopen, the
satisfaction answer) to the agent of the conversation's last resolution. An agent's
conversations are those they answered, replied in or resolved; a conversation no agent
touched is counted under "(none)"."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel
from sqlalchemy.orm import Session, sessionmaker

from accord.inbox.hours import Schedule
from accord.inbox.models import Conversation, ConversationEvent
from accord.inbox.repository import ConversationRepository, EventLogRepository, TeamRepository
from accord.kit import csvsafe
from accord.kit.db import read_only

CHUNK = 500


@dataclass
class Row:
    conversation: Conversation
    first_response_seconds: float | None
    resolution_seconds: float | None
    human_replies: int
    reopened: bool
    resolved: bool
    # Who did the work: the agent of the first response, of the last resolution, and
    # how many replies each agent wrote.
    first_responder: uuid.UUID | None = None
    resolver: uuid.UUID | None = None
    repliers: dict[uuid.UUID, int] = field(default_factory=dict)

    @property
    def fcr(self) -> bool:
        return self.resolved and not self.reopened and self.human_replies <= 1

    @property
    def agents(self) -> list[uuid.UUID]:
        """Every agent who worked on the conversation."""
        found = [self.first_responder, *self.repliers, self.resolver]
        return list(dict.fromkeys(a for a in found if a is not None))


@dataclass
class Credit:
    """What one group is credited with of one conversation: all of it for a team or a
    channel, an agent's own part for an agent."""

    row: Row
    first_response: bool = True
    resolution: bool = True
    replies: int = 0

    @classmethod
    def whole(cls, row: Row) -> Credit:
        return cls(row, replies=row.human_replies)

    @classmethod
    def of_agent(cls, row: Row, agent: uuid.UUID) -> Credit:
        return cls(
            row,
            first_response=row.first_responder == agent,
            resolution=row.resolver == agent,
            replies=row.repliers.get(agent, 0),
        )


def measure(
    conversation: Conversation,
    events: list[ConversationEvent],
    schedule: Schedule,
) -> Row:
    first_event = next((e for e in events if e.kind == "first_response"), None)
    first = first_event.at if first_event else None
    resolutions = [e for e in events if e.kind == "resolved"]
    resolved_at = [e.at for e in resolutions]
    repliers: dict[uuid.UUID, int] = defaultdict(int)
    for e in events:
        if e.kind == "message_out" and e.actor_id:
            repliers[e.actor_id] += 1
    return Row(
        conversation=conversation,
        first_response_seconds=schedule.between(conversation.created_at, first) if first else None,
        resolution_seconds=schedule.between(conversation.created_at, resolved_at[-1])
        if resolved_at and conversation.status == "resolved"
        else None,
        human_replies=sum(1 for e in events if e.kind == "message_out" and e.actor_id),
        reopened=any(e.kind == "reopened" for e in events),
        resolved=conversation.status == "resolved",
        first_responder=first_event.actor_id if first_event else None,
        resolver=resolutions[-1].actor_id if resolutions else None,
        repliers=dict(repliers),
    )


def _rows(
    session: Session,
    workspace_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
    business_hours: bool,
) -> Iterator[Row]:
    teams = {
        t.id: Schedule.parse(t.business_hours if business_hours else None)
        for t in TeamRepository.from_session(session).all(workspace_id)
    }
    always = Schedule.parse(None)
    conversations = ConversationRepository.from_session(session).for_export(
        workspace_id, since, until
    )
    batch: list[Conversation] = []
    logs = EventLogRepository.from_session(session)

    def flush(items: list[Conversation]) -> Iterator[Row]:
        by_conv: dict[uuid.UUID, list[ConversationEvent]] = defaultdict(list)
        for e in logs.of_many([c.id for c in items]):
            by_conv[e.conversation_id].append(e)
        for c in items:
            schedule = teams.get(c.team_id, always) if c.team_id else always
            yield measure(c, by_conv[c.id], schedule)

    for conversation in conversations:
        batch.append(conversation)
        if len(batch) >= CHUNK:
            yield from flush(batch)
            batch = []
    if batch:
        yield from flush(batch)


class Figures(BaseModel):
    key: str | None
    label: str
    conversations: int
    resolved: int
    replies: int = 0
    first_response_p50_seconds: float | None
    first_response_avg_seconds: float | None
    resolution_p50_seconds: float | None
    resolution_avg_seconds: float | None
    first_contact_resolution_rate: float | None
    reopen_rate: float | None
    csat_average: float | None
    csat_responses: int
    csat_satisfied_rate: float | None


class MetricsReport(BaseModel):
    group_by: str
    business_hours: bool
    since: datetime | None
    until: datetime | None
    groups: list[Figures]


def _figures(key: str | None, label: str, credits: list[Credit]) -> Figures:
    firsts = [
        c.row.first_response_seconds
        for c in credits
        if c.first_response and c.row.first_response_seconds is not None
    ]
    resolutions = [
        c.row.resolution_seconds
        for c in credits
        if c.resolution and c.row.resolution_seconds is not None
    ]
    mine = [c.row for c in credits if c.resolution]
    resolved = [r for r in mine if r.resolved]
    scores = [r.conversation.csat_score for r in mine if r.conversation.csat_score is not None]
    # A team's or channel's reopen rate is over all its conversations; an agent's over
    # the conversations they resolved (a reopen follows a resolution).
    base = [c.row for c in credits] if all(c.resolution for c in credits) else mine
    return Figures(
        key=key,
        label=label,
        conversations=len(credits),
        resolved=len(resolved),
        replies=sum(c.replies for c in credits),
        first_response_p50_seconds=statistics.median(firsts) if firsts else None,
        first_response_avg_seconds=statistics.fmean(firsts) if firsts else None,
        resolution_p50_seconds=statistics.median(resolutions) if resolutions else None,
        resolution_avg_seconds=statistics.fmean(resolutions) if resolutions else None,
        first_contact_resolution_rate=(sum(r.fcr for r in resolved) / len(resolved))
        if resolved
        else None,
        reopen_rate=(sum(r.reopened for r in base) / len(base)) if base else None,
        csat_average=statistics.fmean(scores) if scores else None,
        csat_responses=len(scores),
        csat_satisfied_rate=(sum(1 for s in scores if s >= 4) / len(scores)) if scores else None,
    )


def report(
    session: Session,
    workspace_id: uuid.UUID,
    group_by: str,
    since: datetime | None,
    until: datetime | None,
    *,
    business_hours: bool = True,
    team_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    channel: str | None = None,
    priority: str | None = None,
) -> MetricsReport:
    """The figures per ``group_by`` (agent, team, channel or all) of the conversations
    opened in the period, narrowed by team, channel and priority; with ``agent_id``,
    only that agent's part of the conversations they worked on."""
    groups: dict[str | None, list[Credit]] = defaultdict(list)
    for row in _rows(session, workspace_id, since, until, business_hours):
        c = row.conversation
        if (
            (team_id and c.team_id != team_id)
            or (channel and c.channel != channel)
            or (priority and c.priority != priority)
            or (agent_id and agent_id not in row.agents)
        ):
            continue
        if group_by == "agent":
            # Each agent who worked on it is credited with their part (module docstring).
            for agent in row.agents:
                if agent_id is None or agent == agent_id:
                    groups[str(agent)].append(Credit.of_agent(row, agent))
            if not row.agents:
                groups[None].append(Credit.whole(row))
            continue
        key = {
            "team": str(c.team_id) if c.team_id else None,
            "channel": c.channel,
            "all": "all",
        }[group_by]
        groups[key].append(Credit.of_agent(row, agent_id) if agent_id else Credit.whole(row))
    labels = _labels(session, workspace_id, group_by, groups)
    out = [
        _figures(key, labels.get(key or "", key or "(none)"), rows)
        for key, rows in sorted(groups.items(), key=lambda kv: -len(kv[1]))
    ]
    return MetricsReport(
        group_by=group_by, business_hours=business_hours, since=since, until=until, groups=out
    )


def _labels(
    session: Session, workspace_id: uuid.UUID, group_by: str, keys: Collection[str | None]
) -> dict[str, str]:
    teams = TeamRepository.from_session(session)
    if group_by == "agent":
        ids = [uuid.UUID(k) for k in keys if k]
        return {str(uid): name for uid, name in teams.user_names(ids).items()}
    if group_by == "team":
        return {str(t.id): t.name for t in teams.all(workspace_id)}
    return {"all": "All conversations"}


COLUMNS = [
    "number",
    "id",
    "created_at",
    "channel",
    "last_channel",
    "status",
    "priority",
    "tags",
    "team_id",
    "assignee_id",
    "profile_id",
    "messages",
    "first_response_seconds",
    "resolution_seconds",
    "resolved_at",
    "reopened",
    "first_contact_resolution",
    "csat_score",
    "csat_comment",
]


def export_csv(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    since: datetime | None,
    until: datetime | None,
) -> Iterator[str]:
    """One row per conversation, streamed."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    yield buffer.getvalue()
    with read_only(factory) as session:
        for row in _rows(session, workspace_id, since, until, business_hours=True):
            c = row.conversation
            buffer.seek(0)
            buffer.truncate()
            writer.writerow(
                csvsafe.row(
                    [
                        c.number,
                        c.id,
                        c.created_at.isoformat(),
                        c.channel,
                        c.last_channel,
                        c.status,
                        c.priority,
                        " ".join(c.tags),
                        c.team_id or "",
                        c.assignee_id or "",
                        c.profile_id or "",
                        c.message_count,
                        ""
                        if row.first_response_seconds is None
                        else round(row.first_response_seconds),
                        "" if row.resolution_seconds is None else round(row.resolution_seconds),
                        c.resolved_at.isoformat() if c.resolved_at else "",
                        int(row.reopened),
                        int(row.fcr),
                        c.csat_score or "",
                        c.csat_comment or "",
                    ]
                )
            )
            yield buffer.getvalue()
