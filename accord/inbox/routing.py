"""Routing: which team a new conversation goes to, which available agent takes it
(round-robin or least-loaded, within each agent's capacity, preferring the skills it
needs), and which SLA policy's clocks it runs on."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from accord.inbox.hours import Schedule
from accord.inbox.models import Conversation, SlaPolicy, Team
from accord.inbox.repository import ConversationRepository, TeamRepository
from accord.inbox.rules import InboxSettings, priority_rank
from accord.profile.models import Profile

DUE_SOON = timedelta(minutes=30)


def choose_team(
    session: Session,
    settings: InboxSettings,
    conversation: Conversation,
    profile: Profile | None,
) -> Team | None:
    teams = TeamRepository.from_session(session).all(conversation.workspace_id)
    if not teams:
        return None
    by_name = {t.name.lower(): t for t in teams}
    if settings.is_vip(profile):
        if priority_rank(conversation.priority) < priority_rank("high"):
            conversation.priority = "high"
        if "vip" not in conversation.tags:
            conversation.tags = [*conversation.tags, "vip"]
        queue = next((t for t in teams if t.is_priority_queue), None)
        if queue is not None:
            return queue
    wanted = settings.channel_teams.get(conversation.channel) or settings.default_team
    if wanted and wanted.lower() in by_name:
        return by_name[wanted.lower()]
    regular = [t for t in teams if not t.is_priority_queue]
    return (regular or teams)[0]


def choose_agent(
    session: Session,
    team: Team,
    now: datetime,
    skills: Sequence[str] = (),
    exclude: Sequence[uuid.UUID] = (),
) -> uuid.UUID | None:
    """An available member below capacity: the one waiting longest for work
    (round-robin) or carrying the fewest open conversations (least-loaded). Members with
    every skill asked for come first."""
    if team.routing == "manual":
        return None
    repo = TeamRepository.from_session(session)
    members = [m for m in repo.members(team.id) if m.user_id not in exclude]
    states = repo.agent_states(team.workspace_id)
    load = ConversationRepository.from_session(session).open_load(
        team.workspace_id, [m.user_id for m in members]
    )
    candidates = []
    for m in members:
        state = states.get(m.user_id)
        available = state.available if state is not None else True
        capacity = state.capacity if state is not None else 20
        if not available or load.get(m.user_id, 0) >= capacity:
            continue
        has = set(state.skills if state is not None else [])
        candidates.append((m, load.get(m.user_id, 0), set(skills) <= has))
    if not candidates:
        return None
    if skills and any(fit for _, _, fit in candidates):
        candidates = [c for c in candidates if c[2]]
    epoch = datetime.min.replace(tzinfo=now.tzinfo)

    def waited(member_load: tuple[object, int, bool]) -> datetime:
        member = member_load[0]
        assert hasattr(member, "last_assigned_at")
        return member.last_assigned_at or epoch

    if team.routing == "least_loaded":
        candidates.sort(key=lambda c: (c[1], waited(c)))
    else:
        candidates.sort(key=waited)
    chosen = candidates[0][0]
    chosen.last_assigned_at = now
    user_id: uuid.UUID = chosen.user_id
    return user_id


def policy_for(session: Session, conversation: Conversation) -> SlaPolicy | None:
    """The most specific policy: team and priority, then team, then priority, then any."""
    best: tuple[int, SlaPolicy] | None = None
    for policy in TeamRepository.from_session(session).policies(conversation.workspace_id):
        if policy.team_id is not None and policy.team_id != conversation.team_id:
            continue
        if policy.priority is not None and policy.priority != conversation.priority:
            continue
        score = (2 if policy.team_id else 0) + (1 if policy.priority else 0)
        if best is None or score > best[0]:
            best = (score, policy)
    return best[1] if best else None


def schedule_of(session: Session, conversation: Conversation) -> Schedule:
    if conversation.team_id is None:
        return Schedule.parse(None)
    team = session.get(Team, conversation.team_id)
    return Schedule.parse(team.business_hours if team else None)


def apply_sla(session: Session, conversation: Conversation, created: datetime) -> None:
    """(Re)start the SLA clocks from the conversation's policy."""
    policy = policy_for(session, conversation)
    conversation.sla_policy_id = policy.id if policy else None
    if policy is None:
        conversation.first_response_due_at = None
        conversation.next_response_due_at = None
        conversation.resolution_due_at = None
        return
    clock = schedule_of(session, conversation) if policy.business_hours else Schedule.parse(None)
    if conversation.first_response_at is None and policy.first_response_minutes:
        conversation.first_response_due_at = clock.add(created, policy.first_response_minutes)
    if policy.resolution_minutes:
        conversation.resolution_due_at = clock.add(created, policy.resolution_minutes)
    restart_next_response(session, conversation)


def restart_next_response(session: Session, conversation: Conversation) -> None:
    """The customer is waiting again (or no longer): the next-response clock follows."""
    if conversation.waiting_since is None or conversation.first_response_at is None:
        conversation.next_response_due_at = None
        return
    policy = (
        session.get(SlaPolicy, conversation.sla_policy_id) if conversation.sla_policy_id else None
    )
    if policy is None or not policy.next_response_minutes:
        conversation.next_response_due_at = None
        return
    clock = schedule_of(session, conversation) if policy.business_hours else Schedule.parse(None)
    conversation.next_response_due_at = clock.add(
        conversation.waiting_since, policy.next_response_minutes
    )


def sla_state(conversation: Conversation, now: datetime) -> tuple[str, datetime | None]:
    """``breached``, ``due_soon``, ``ok`` or ``none``, and the next due moment."""
    if conversation.status == "resolved":
        return "none", None
    dues = []
    if conversation.first_response_at is None and conversation.first_response_due_at:
        dues.append(conversation.first_response_due_at)
    if conversation.waiting_since is not None and conversation.next_response_due_at:
        dues.append(conversation.next_response_due_at)
    if conversation.resolution_due_at:
        dues.append(conversation.resolution_due_at)
    if not dues:
        return "none", None
    due = min(dues)
    if due <= now:
        return "breached", due
    if due - now <= DUE_SOON:
        return "due_soon", due
    return "ok", due
