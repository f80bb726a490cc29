"""Service metrics computed from the conversations' event logs: first response time,
resolution time, first-contact resolution, reopen rate and CSAT, in business hours when
asked, per agent, team or channel; and one CSV row per conversation."""

from __future__ import annotations

import csv
import io
import statistics
import uuid
from collections import defaultdict
from collections.abc import Collection, Iterator
from dataclasses import dataclass
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

    @property
    def fcr(self) -> bool:
        return self.resolved and not self.reopened and self.human_replies <= 1


def measure(
    conversation: Conversation,
    events: list[ConversationEvent],
    schedule: Schedule,
) -> Row:
    first = next((e.at for e in events if e.kind == "first_response"), None)
    resolved_at = [e.at for e in events if e.kind == "resolved"]
    return Row(
        conversation=conversation,
        first_response_seconds=schedule.between(conversation.created_at, first) if first else None,
        resolution_seconds=schedule.between(conversation.created_at, resolved_at[-1])
        if resolved_at and conversation.status == "resolved"
        else None,
        human_replies=sum(1 for e in events if e.kind == "message_out" and e.actor_id),
        reopened=any(e.kind == "reopened" for e in events),
        resolved=conversation.status == "resolved",
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


def _figures(key: str | None, label: str, rows: list[Row]) -> Figures:
    firsts = [r.first_response_seconds for r in rows if r.first_response_seconds is not None]
    resolutions = [r.resolution_seconds for r in rows if r.resolution_seconds is not None]
    resolved = [r for r in rows if r.resolved]
    scores = [r.conversation.csat_score for r in rows if r.conversation.csat_score is not None]
    return Figures(
        key=key,
        label=label,
        conversations=len(rows),
        resolved=len(resolved),
        first_response_p50_seconds=statistics.median(firsts) if firsts else None,
        first_response_avg_seconds=statistics.fmean(firsts) if firsts else None,
        resolution_p50_seconds=statistics.median(resolutions) if resolutions else None,
        resolution_avg_seconds=statistics.fmean(resolutions) if resolutions else None,
        first_contact_resolution_rate=(sum(r.fcr for r in resolved) / len(resolved))
        if resolved
        else None,
        reopen_rate=(sum(r.reopened for r in rows) / len(rows)) if rows else None,
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
) -> MetricsReport:
    groups: dict[str | None, list[Row]] = defaultdict(list)
    for row in _rows(session, workspace_id, since, until, business_hours):
        c = row.conversation
        key = {
            "agent": str(c.assignee_id) if c.assignee_id else None,
            "team": str(c.team_id) if c.team_id else None,
            "channel": c.channel,
            "all": "all",
        }[group_by]
        groups[key].append(row)
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
