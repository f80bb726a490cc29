"""SQL of the inbox."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, or_, select, update

from accord.govern.access.models import User
from accord.inbox.models import (
    AgentState,
    Attachment,
    CannedResponse,
    Conversation,
    ConversationEvent,
    Message,
    SlaPolicy,
    Team,
    TeamMember,
)
from accord.kit.repository import Repository
from accord.profile.models import Profile

ACTIVE = ("open", "pending", "snoozed")
COUNT_CAP = 1000


@dataclass
class InboxFilter:
    view: str = "all"  # mine | unassigned | team | all
    user_id: uuid.UUID | None = None
    team_ids: Collection[uuid.UUID] = ()
    status: str | None = "open"  # a status, "active" or None for any
    channel: str | None = None
    priority: str | None = None
    sla: str | None = None  # breached | due_soon
    profile_ids: Collection[uuid.UUID] = ()
    q: str | None = None


class ConversationRepository(Repository):
    def get(self, workspace_id: uuid.UUID, conversation_id: uuid.UUID) -> Conversation | None:
        row = self.session.get(Conversation, conversation_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def lock(self, conversation: Conversation) -> None:
        """Hold the conversation's row until commit (PostgreSQL; SQLite writes one at a
        time anyway), so two requests deciding on it take turns."""
        stmt = select(Conversation.id).where(Conversation.id == conversation.id).with_for_update()
        self.session.execute(stmt)

    def by_id(self, conversation_id: uuid.UUID) -> Conversation | None:
        """Any workspace's conversation: only for a caller that proved its right to it
        otherwise (a signed survey link)."""
        return self.session.get(Conversation, conversation_id)

    def by_number(self, workspace_id: uuid.UUID, number: int) -> Conversation | None:
        stmt = select(Conversation).where(
            Conversation.workspace_id == workspace_id, Conversation.number == number
        )
        return self.session.scalars(stmt).first()

    def next_number(self, workspace_id: uuid.UUID) -> int:
        stmt = select(func.max(Conversation.number)).where(
            Conversation.workspace_id == workspace_id
        )
        return int(self.session.scalar(stmt) or 0) + 1

    def person_ids(self, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[uuid.UUID]:
        """The person and every profile merged into them (tombstones point straight at
        the survivor)."""
        stmt = select(Profile.id).where(
            Profile.workspace_id == workspace_id, Profile.merged_into_id == profile_id
        )
        return [profile_id, *self.session.scalars(stmt)]

    def people(
        self, workspace_id: uuid.UUID, profile_ids: Collection[uuid.UUID]
    ) -> dict[uuid.UUID, Profile]:
        """The person each profile id is now: the profile, or the survivor its tombstone
        points at. One query."""
        wanted = list(set(profile_ids))
        if not wanted:
            return {}
        survivors = select(Profile.merged_into_id).where(
            Profile.workspace_id == workspace_id, Profile.id.in_(wanted)
        )
        stmt = select(Profile).where(
            Profile.workspace_id == workspace_id,
            or_(Profile.id.in_(wanted), Profile.id.in_(survivors.scalar_subquery())),
        )
        rows = {p.id: p for p in self.session.scalars(stmt)}
        out: dict[uuid.UUID, Profile] = {}
        for profile_id in wanted:
            found = rows.get(profile_id)
            if found is not None and found.merged_into_id is not None:
                found = rows.get(found.merged_into_id)
            if found is not None:
                out[profile_id] = found
        return out

    def of_person(
        self, workspace_id: uuid.UUID, profile_ids: Collection[uuid.UUID], limit: int = 50
    ) -> list[Conversation]:
        stmt = (
            select(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.profile_id.in_(list(profile_ids)),
            )
            .order_by(Conversation.last_message_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def _filtered(
        self, workspace_id: uuid.UUID, f: InboxFilter, status: str | None
    ) -> Select[Conversation]:
        stmt = select(Conversation).where(Conversation.workspace_id == workspace_id)
        if f.view == "mine":
            stmt = stmt.where(Conversation.assignee_id == f.user_id)
        elif f.view == "unassigned":
            stmt = stmt.where(Conversation.assignee_id.is_(None))
        elif f.view == "team":
            stmt = stmt.where(Conversation.team_id.in_(list(f.team_ids)))
        if status:
            stmt = stmt.where(Conversation.status == status)
        if f.channel:
            stmt = stmt.where(Conversation.last_channel == f.channel)
        if f.priority:
            stmt = stmt.where(Conversation.priority == f.priority)
        if f.profile_ids:
            stmt = stmt.where(Conversation.profile_id.in_(list(f.profile_ids)))
        if f.q:
            like = f"%{f.q.strip().lower()}%"
            stmt = stmt.where(
                or_(
                    func.lower(Conversation.subject).like(like),
                    func.lower(Conversation.contact_name).like(like),
                    func.lower(Conversation.preview).like(like),
                )
            )
        return stmt

    def inbox(
        self,
        workspace_id: uuid.UUID,
        f: InboxFilter,
        *,
        now: datetime,
        soon: datetime,
        limit: int,
        before: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[Conversation]:
        # One ordered index scan per status (an IN list would sort every match), the
        # pages merged here.
        statuses: list[str | None] = list(ACTIVE) if f.status == "active" else [f.status]
        if f.sla and f.status in (None, "active"):
            statuses = list(ACTIVE)
        rows: list[Conversation] = []
        for status in statuses:
            stmt = self._filtered(workspace_id, f, status)
            if f.sla == "breached":
                stmt = stmt.where(_due_before(now))
            elif f.sla == "due_soon":
                stmt = stmt.where(_due_before(soon), ~_due_before(now))
            if before is not None:
                at, cid = before
                stmt = stmt.where(
                    or_(
                        Conversation.last_message_at < at,
                        (Conversation.last_message_at == at) & (Conversation.id < cid),
                    )
                )
            stmt = stmt.order_by(Conversation.last_message_at.desc(), Conversation.id.desc())
            rows.extend(self.session.scalars(stmt.limit(limit)))
        rows.sort(key=lambda c: (c.last_message_at, c.id), reverse=True)
        return rows[:limit]

    def counts(self, workspace_id: uuid.UUID, user_id: uuid.UUID | None) -> dict[str, int]:
        base = select(func.count()).select_from(Conversation)
        active = base.where(
            Conversation.workspace_id == workspace_id, Conversation.status == "open"
        )
        return {
            "mine": int(
                self.session.scalar(active.where(Conversation.assignee_id == user_id)) or 0
            ),
            "unassigned": int(
                self.session.scalar(active.where(Conversation.assignee_id.is_(None))) or 0
            ),
            "all": int(self.session.scalar(active) or 0),
        }

    def open_load(
        self, workspace_id: uuid.UUID, user_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, int]:
        if not user_ids:
            return {}
        stmt = (
            select(Conversation.assignee_id, func.count())
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.assignee_id.in_(list(user_ids)),
                Conversation.status.in_(("open", "pending")),
            )
            .group_by(Conversation.assignee_id)
        )
        return {uid: int(n) for uid, n in self.session.execute(stmt) if uid is not None}

    def open_in_team(self, workspace_id: uuid.UUID, team_id: uuid.UUID) -> int:
        """How many conversations not yet resolved are with the team."""
        stmt = select(func.count()).where(
            Conversation.workspace_id == workspace_id,
            Conversation.team_id == team_id,
            Conversation.status.in_(ACTIVE),
        )
        return int(self.session.scalar(stmt) or 0)

    def move_team(
        self, workspace_id: uuid.UUID, team_id: uuid.UUID, to: uuid.UUID | None, now: datetime
    ) -> int:
        """Every conversation of the team (resolved ones too) to another team; how many."""
        result = self.session.execute(
            update(Conversation)
            .where(Conversation.workspace_id == workspace_id, Conversation.team_id == team_id)
            .values(team_id=to, updated_at=now),
            execution_options={"synchronize_session": "fetch"},
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def due_snoozes(self, now: datetime, limit: int = 200) -> list[Conversation]:
        stmt = (
            select(Conversation)
            .where(Conversation.status == "snoozed", Conversation.snoozed_until <= now)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def for_export(
        self, workspace_id: uuid.UUID, since: datetime | None, until: datetime | None
    ) -> Iterator[Conversation]:
        """The workspace's conversations created in the span, oldest first, as read."""
        stmt = select(Conversation).where(Conversation.workspace_id == workspace_id)
        if since is not None:
            stmt = stmt.where(Conversation.created_at >= since)
        if until is not None:
            stmt = stmt.where(Conversation.created_at < until)
        return iter(self.session.scalars(stmt.order_by(Conversation.created_at, Conversation.id)))


def _due_before(moment: datetime):  # type: ignore[no-untyped-def]
    """An unmet SLA target due before ``moment``."""
    waiting_first = Conversation.first_response_at.is_(None) & (
        Conversation.first_response_due_at < moment
    )
    waiting_next = Conversation.waiting_since.is_not(None) & (
        Conversation.next_response_due_at < moment
    )
    unresolved = Conversation.status.in_(ACTIVE) & (Conversation.resolution_due_at < moment)
    return Conversation.status.in_(ACTIVE) & or_(waiting_first, waiting_next, unresolved)


class MessageRepository(Repository):
    def thread(self, conversation_id: uuid.UUID, limit: int = 500) -> list[Message]:
        stmt = (
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.created_at, Message.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def by_external_ids(
        self, workspace_id: uuid.UUID, external_ids: Collection[str]
    ) -> list[Message]:
        if not external_ids:
            return []
        stmt = select(Message).where(
            Message.workspace_id == workspace_id, Message.external_id.in_(list(external_ids))
        )
        return list(self.session.scalars(stmt))

    def inbound_senders(
        self, conversation_ids: list[uuid.UUID]
    ) -> list[tuple[uuid.UUID, str | None, dict[str, Any]]]:
        """Who wrote in to these conversations: conversation, address and meta."""
        if not conversation_ids:
            return []
        stmt = select(Message.conversation_id, Message.address, Message.meta).where(
            Message.conversation_id.in_(conversation_ids), Message.direction == "in"
        )
        return [(r[0], r[1], r[2] or {}) for r in self.session.execute(stmt)]

    def last_inbound(
        self, conversation_id: uuid.UUID, channel: str | None = None
    ) -> Message | None:
        stmt = select(Message).where(
            Message.conversation_id == conversation_id, Message.direction == "in"
        )
        if channel:
            stmt = stmt.where(Message.channel == channel)
        return self.session.scalars(stmt.order_by(Message.created_at.desc()).limit(1)).first()

    def last_inbound_each(self, conversation_id: uuid.UUID) -> dict[str, Message]:
        """The latest inbound message on each channel of the conversation, in one query."""
        rank = (
            func.row_number()
            .over(
                partition_by=Message.channel,
                order_by=(Message.created_at.desc(), Message.id.desc()),
            )
            .label("rank")
        )
        latest = (
            select(Message.id, rank)
            .where(Message.conversation_id == conversation_id, Message.direction == "in")
            .subquery()
        )
        stmt = select(Message).join(latest, latest.c.id == Message.id).where(latest.c.rank == 1)
        return {m.channel: m for m in self.session.scalars(stmt)}

    def queued(self, limit: int = 50, *, after: uuid.UUID | None = None) -> list[Message]:
        """Queued messages, oldest first (by id, which grows with time), after ``after``."""
        stmt = select(Message).where(Message.delivery == "queued")
        if after is not None:
            stmt = stmt.where(Message.id > after)
        return list(self.session.scalars(stmt.order_by(Message.id).limit(limit)))

    def claim(self, message_id: uuid.UUID, now: datetime) -> bool:
        """Take a queued message for sending; only one sender wins."""
        result = self.session.execute(
            update(Message)
            .where(Message.id == message_id, Message.delivery == "queued")
            .values(delivery="sending", claimed_at=now)
        )
        return bool(getattr(result, "rowcount", 0))

    def release_stale_claims(self, before: datetime) -> int:
        """Put back in the queue the messages claimed before ``before`` and never marked:
        their sender died between the claim and the send."""
        result = self.session.execute(
            update(Message)
            .where(
                Message.delivery == "sending",
                or_(Message.claimed_at.is_(None), Message.claimed_at < before),
            )
            .values(delivery="queued", claimed_at=None)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    def attachments(self, message_ids: Collection[uuid.UUID]) -> list[Attachment]:
        if not message_ids:
            return []
        stmt = select(Attachment).where(Attachment.message_id.in_(list(message_ids)))
        return list(self.session.scalars(stmt.order_by(Attachment.created_at)))

    def attachment(self, workspace_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment | None:
        row = self.session.get(Attachment, attachment_id)
        return row if row is not None and row.workspace_id == workspace_id else None


class EventLogRepository(Repository):
    def of(self, conversation_id: uuid.UUID) -> list[ConversationEvent]:
        stmt = (
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id)
            .order_by(ConversationEvent.at, ConversationEvent.id)
        )
        return list(self.session.scalars(stmt))

    def of_many(self, conversation_ids: Collection[uuid.UUID]) -> list[ConversationEvent]:
        if not conversation_ids:
            return []
        stmt = (
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id.in_(list(conversation_ids)))
            .order_by(ConversationEvent.at, ConversationEvent.id)
        )
        return list(self.session.scalars(stmt))


class TeamRepository(Repository):
    def all(self, workspace_id: uuid.UUID) -> list[Team]:
        stmt = select(Team).where(Team.workspace_id == workspace_id).order_by(Team.name)
        return list(self.session.scalars(stmt))

    def get(self, workspace_id: uuid.UUID, team_id: uuid.UUID) -> Team | None:
        row = self.session.get(Team, team_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def members(self, team_id: uuid.UUID) -> list[TeamMember]:
        stmt = select(TeamMember).where(TeamMember.team_id == team_id)
        return list(self.session.scalars(stmt.order_by(TeamMember.created_at)))

    def teams_of(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> list[uuid.UUID]:
        stmt = select(TeamMember.team_id).where(
            TeamMember.workspace_id == workspace_id, TeamMember.user_id == user_id
        )
        return list(self.session.scalars(stmt))

    def member(self, team_id: uuid.UUID, user_id: uuid.UUID) -> TeamMember | None:
        stmt = select(TeamMember).where(
            TeamMember.team_id == team_id, TeamMember.user_id == user_id
        )
        return self.session.scalars(stmt).first()

    def agent_states(self, workspace_id: uuid.UUID) -> dict[uuid.UUID, AgentState]:
        stmt = select(AgentState).where(AgentState.workspace_id == workspace_id)
        return {a.user_id: a for a in self.session.scalars(stmt)}

    def agent_state(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> AgentState:
        stmt = select(AgentState).where(
            AgentState.workspace_id == workspace_id, AgentState.user_id == user_id
        )
        state = self.session.scalars(stmt).first()
        if state is None:
            state = AgentState(workspace_id=workspace_id, user_id=user_id, skills=[])
            self.session.add(state)
        return state

    def policies(self, workspace_id: uuid.UUID) -> list[SlaPolicy]:
        stmt = select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id)
        return list(self.session.scalars(stmt.order_by(SlaPolicy.created_at)))

    def policy(self, workspace_id: uuid.UUID, policy_id: uuid.UUID) -> SlaPolicy | None:
        row = self.session.get(SlaPolicy, policy_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def policies_of_team(self, team_id: uuid.UUID) -> list[SlaPolicy]:
        stmt = select(SlaPolicy).where(SlaPolicy.team_id == team_id)
        return list(self.session.scalars(stmt.order_by(SlaPolicy.created_at)))

    def user_names(self, user_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, str]:
        """How agents are shown: their name, else their email."""
        if not user_ids:
            return {}
        stmt = select(User).where(User.id.in_(list(user_ids)))
        return {u.id: u.name or u.email for u in self.session.scalars(stmt)}


class CannedRepository(Repository):
    def all(self, workspace_id: uuid.UUID) -> list[CannedResponse]:
        stmt = select(CannedResponse).where(CannedResponse.workspace_id == workspace_id)
        return list(self.session.scalars(stmt.order_by(CannedResponse.shortcut)))

    def get(self, workspace_id: uuid.UUID, canned_id: uuid.UUID) -> CannedResponse | None:
        row = self.session.get(CannedResponse, canned_id)
        return row if row is not None and row.workspace_id == workspace_id else None
