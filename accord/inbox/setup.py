"""Setting the inbox up (shared by the API and the console): teams and members, agents'
availability, capacity and skills, SLA policies, canned responses, inbox rules."""

from __future__ import annotations

import uuid
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.access.repository import MembershipRepository
from accord.govern.audit import service as audit
from accord.govern.workspaces.service import get_workspace
from accord.inbox.hours import InvalidSchedule, Schedule
from accord.inbox.models import AgentState, CannedResponse, SlaPolicy, Team, TeamMember
from accord.inbox.repository import TeamRepository
from accord.inbox.rules import INBOX, InboxRules, InboxRulesIn, invalid_settings
from accord.inbox.service import can_take
from accord.kit.errors import conflict, invalid, not_found


def check_members(
    session: Session, workspace_id: uuid.UUID, users: list[uuid.UUID], field: str = "members"
) -> None:
    """Each user is a member who may take conversations (an admin or an agent)."""
    repo = MembershipRepository.from_session(session)
    for i, user_id in enumerate(users):
        membership = repo.get(workspace_id, user_id)
        if membership is None:
            raise invalid("Not a member of this workspace", field=f"{field}[{i}]")
        if not can_take(membership.role):
            raise invalid(
                "An analyst reads only and cannot take conversations",
                field=f"{field}[{i}]",
                code="cannot_take",
            )


def _schedule(business_hours: dict[str, Any]) -> None:
    try:
        Schedule.parse(business_hours)
    except InvalidSchedule as exc:
        raise invalid(str(exc), field="business_hours") from exc


def save_team(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    name: str,
    routing: str,
    business_hours: dict[str, Any],
    is_priority_queue: bool,
    members: list[uuid.UUID],
    actor: Principal,
    team_id: uuid.UUID | None = None,
) -> Team:
    """Create a team, or change one (its members become exactly ``members``)."""
    _schedule(business_hours)
    check_members(session, workspace_id, members)
    repo = TeamRepository.from_session(session)
    if team_id is None:
        team = Team(workspace_id=workspace_id)
    else:
        found = repo.get(workspace_id, team_id)
        if found is None:
            raise not_found("Team", field="team_id")
        team = found
    team.name, team.routing = name, routing
    team.business_hours, team.is_priority_queue = business_hours, is_priority_queue
    try:
        with session.begin_nested():
            session.add(team)
            session.flush()
    except IntegrityError:
        raise conflict("A team with this name exists", field="name", code="duplicate") from None
    current = {m.user_id: m for m in repo.members(team.id)}
    for user_id, member in current.items():
        if user_id not in members:
            session.delete(member)
    for user_id in dict.fromkeys(members):
        if user_id not in current:
            session.add(TeamMember(workspace_id=workspace_id, team_id=team.id, user_id=user_id))
    if team_id is None:
        audit.record(session, actor, "team.created", target=str(team.id), data={"name": team.name})
    else:
        audit.record(session, actor, "team.updated", target=str(team.id))
    session.flush()
    return team


def set_agent(
    session: Session,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    available: bool | None = None,
    capacity: int | None = None,
    skills: list[str] | None = None,
) -> AgentState:
    check_members(session, workspace_id, [user_id])
    state = TeamRepository.from_session(session).agent_state(workspace_id, user_id)
    if available is not None:
        state.available = available
    if capacity is not None:
        if capacity < 0:
            raise invalid("Capacity is 0 or more", field="capacity")
        state.capacity = capacity
    if skills is not None:
        state.skills = sorted({s.strip().lower() for s in skills if s.strip()})
    session.flush()
    return state


def add_policy(
    session: Session, workspace_id: uuid.UUID, *, actor: Principal, **fields: Any
) -> SlaPolicy:
    team_id = fields.get("team_id")
    if team_id and TeamRepository.from_session(session).get(workspace_id, team_id) is None:
        raise not_found("Team", field="team_id")
    targets = ("first_response_minutes", "next_response_minutes", "resolution_minutes")
    if not any(fields.get(t) for t in targets):
        raise invalid("Set at least one target", field="first_response_minutes")
    policy = SlaPolicy(workspace_id=workspace_id, **fields)
    session.add(policy)
    session.flush()
    audit.record(session, actor, "sla_policy.created", target=str(policy.id))
    return policy


def add_canned(
    session: Session, workspace_id: uuid.UUID, *, shortcut: str, title: str, body: str
) -> CannedResponse:
    row = CannedResponse(workspace_id=workspace_id, shortcut=shortcut, title=title, body=body)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise conflict("That shortcut is taken", field="shortcut", code="duplicate") from None
    return row


def inbox_settings(session: Session, workspace_id: uuid.UUID) -> tuple[InboxRules, int]:
    """The workspace's inbox rules and their version."""
    workspace = get_workspace(session, workspace_id)
    return INBOX.read(workspace), INBOX.version(workspace)


def save_inbox_settings(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[InboxRules, int]:
    """Replace the inbox rules (the API and the console both come here): validated, at
    ``expected_version`` when given, audited. Returns them with their new version."""
    try:
        value = InboxRulesIn.model_validate(raw)
    except ValidationError as exc:
        raise invalid_settings(exc) from None
    workspace = get_workspace(session, workspace_id)
    stored = INBOX.write(session, workspace, value, actor=actor, expected_version=expected_version)
    return stored, INBOX.version(workspace)
