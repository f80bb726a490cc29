"""Setting the inbox up (shared by the API and the console): teams and members, agents'
availability, capacity and skills, SLA policies, canned responses, inbox rules. Each is
added, changed and deleted here, and each change is audited here."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.access.repository import MembershipRepository
from accord.govern.audit import service as audit
from accord.govern.workspaces.service import get_workspace
from accord.inbox.hours import InvalidSchedule, Schedule
from accord.inbox.models import AgentState, CannedResponse, SlaPolicy, Team, TeamMember
from accord.inbox.repository import CannedRepository, ConversationRepository, TeamRepository
from accord.inbox.rules import INBOX, InboxRules, InboxRulesIn
from accord.inbox.schemas import MAX_SLA_MINUTES
from accord.inbox.service import can_take
from accord.kit.errors import conflict, invalid, not_found
from accord.kit.time import utcnow


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
    renamed_from = team.name if team_id is not None and team.name != name else None
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
    if renamed_from is not None:
        _rules_follow(session, workspace_id, renamed_from, team.name, actor)
    if team_id is None:
        audit.record(session, actor, "team.created", target=str(team.id), data={"name": team.name})
    else:
        data = {"name": team.name, **({"renamed_from": renamed_from} if renamed_from else {})}
        audit.record(session, actor, "team.updated", target=str(team.id), data=data)
    session.flush()
    return team


def delete_team(
    session: Session,
    workspace_id: uuid.UUID,
    team_id: uuid.UUID,
    *,
    actor: Principal,
    move_to: uuid.UUID | None = None,
) -> None:
    """Delete a team. Its conversations go to the team ``move_to``; with open ones and no
    such team it is refused with 409 ``team_has_conversations``, so none is left without
    a team unnoticed. Its SLA policies go with it, and inbox rules that named it name
    ``move_to`` instead (or nothing)."""
    teams = TeamRepository.from_session(session)
    team = teams.get(workspace_id, team_id)
    if team is None:
        raise not_found("Team", field="team_id")
    target: Team | None = None
    if move_to is not None:
        if move_to == team.id:
            raise invalid("Move the conversations to another team", field="move_to")
        target = teams.get(workspace_id, move_to)
        if target is None:
            raise not_found("Team", field="move_to")
    conversations = ConversationRepository.from_session(session)
    still_open = conversations.open_in_team(workspace_id, team.id)
    if still_open and target is None:
        raise conflict(
            f"{still_open} open conversation{'s are' if still_open > 1 else ' is'} with "
            f"{team.name}: choose the team they move to, then delete it",
            field="move_to",
            code="team_has_conversations",
        )
    moved = conversations.move_team(workspace_id, team.id, target.id if target else None, utcnow())
    policies = teams.policies_of_team(team.id)
    for row in [*policies, *teams.members(team.id)]:
        session.delete(row)
    _rules_follow(session, workspace_id, team.name, target.name if target else None, actor)
    name = team.name
    session.delete(team)
    session.flush()
    audit.record(
        session,
        actor,
        "team.deleted",
        target=str(team_id),
        data={
            "name": name,
            "moved_to": str(target.id) if target else None,
            "conversations_moved": moved,
            "sla_policies_deleted": [str(p.id) for p in policies],
        },
    )


def _rules_follow(
    session: Session, workspace_id: uuid.UUID, old: str, new: str | None, actor: Principal
) -> None:
    """The inbox rules name teams (the default team, the team of each channel): where
    they named ``old`` they name ``new`` now, or nothing when it is gone."""
    workspace = get_workspace(session, workspace_id)
    rules = INBOX.read(workspace)
    same = old.lower()
    default = rules.default_team
    if default is not None and default.lower() == same:
        default = new
    channels = {
        channel: (new if name.lower() == same else name)
        for channel, name in rules.channel_teams.items()
    }
    kept = {channel: name for channel, name in channels.items() if name}
    if default == rules.default_team and kept == dict(rules.channel_teams):
        return
    changed = rules.model_copy(update={"default_team": default, "channel_teams": kept})
    INBOX.write(session, workspace, changed, actor=actor)


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


POLICY_TARGETS = ("first_response_minutes", "next_response_minutes", "resolution_minutes")


def _check_policy(session: Session, workspace_id: uuid.UUID, fields: dict[str, Any]) -> None:
    team_id = fields.get("team_id")
    if team_id and TeamRepository.from_session(session).get(workspace_id, team_id) is None:
        raise not_found("Team", field="team_id")
    if not any(fields.get(t) for t in POLICY_TARGETS):
        raise invalid("Set at least one target", field="first_response_minutes")
    for target in POLICY_TARGETS:
        minutes = fields.get(target)
        if minutes is not None and not 0 < minutes <= MAX_SLA_MINUTES:
            raise invalid(f"{target} is between 1 and {MAX_SLA_MINUTES:,} (a year)", field=target)


def add_policy(
    session: Session, workspace_id: uuid.UUID, *, actor: Principal, **fields: Any
) -> SlaPolicy:
    _check_policy(session, workspace_id, fields)
    policy = SlaPolicy(workspace_id=workspace_id, **fields)
    session.add(policy)
    session.flush()
    audit.record(session, actor, "sla_policy.created", target=str(policy.id))
    return policy


def _policy(session: Session, workspace_id: uuid.UUID, policy_id: uuid.UUID) -> SlaPolicy:
    policy = TeamRepository.from_session(session).policy(workspace_id, policy_id)
    if policy is None:
        raise not_found("SLA policy", field="policy_id")
    return policy


def update_policy(
    session: Session,
    workspace_id: uuid.UUID,
    policy_id: uuid.UUID,
    *,
    actor: Principal,
    **fields: Any,
) -> SlaPolicy:
    """Change a policy; conversations already on it keep the targets they were given."""
    policy = _policy(session, workspace_id, policy_id)
    _check_policy(session, workspace_id, fields)
    for name, value in fields.items():
        setattr(policy, name, value)
    session.flush()
    audit.record(
        session, actor, "sla_policy.updated", target=str(policy.id), data={"name": policy.name}
    )
    return policy


def delete_policy(
    session: Session, workspace_id: uuid.UUID, policy_id: uuid.UUID, *, actor: Principal
) -> None:
    policy = _policy(session, workspace_id, policy_id)
    name = policy.name
    session.delete(policy)
    session.flush()
    audit.record(session, actor, "sla_policy.deleted", target=str(policy_id), data={"name": name})


def _shortcut(value: str) -> str:
    short = value.strip().lower().lstrip("/")
    if not short or len(short) > 60 or not short.replace("-", "").replace("_", "").isalnum():
        raise invalid("Use letters, digits, - and _", field="shortcut")
    return short


def _save_canned(session: Session, row: CannedResponse) -> None:
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise conflict("That shortcut is taken", field="shortcut", code="duplicate") from None


def add_canned(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    shortcut: str,
    title: str,
    body: str,
    actor: Principal,
) -> CannedResponse:
    short = _shortcut(shortcut)
    row = CannedResponse(
        workspace_id=workspace_id, shortcut=short, title=title.strip() or short, body=body
    )
    _save_canned(session, row)
    audit.record(
        session, actor, "canned_response.created", target=str(row.id), data={"shortcut": short}
    )
    return row


def _canned(session: Session, workspace_id: uuid.UUID, canned_id: uuid.UUID) -> CannedResponse:
    row = CannedRepository.from_session(session).get(workspace_id, canned_id)
    if row is None:
        raise not_found("Canned response", field="canned_id")
    return row


def update_canned(
    session: Session,
    workspace_id: uuid.UUID,
    canned_id: uuid.UUID,
    *,
    shortcut: str,
    title: str,
    body: str,
    actor: Principal,
) -> CannedResponse:
    row = _canned(session, workspace_id, canned_id)
    if not body.strip():
        raise invalid("Write the response", field="body")
    row.shortcut = _shortcut(shortcut)
    row.title, row.body = title.strip() or row.shortcut, body
    _save_canned(session, row)
    audit.record(
        session,
        actor,
        "canned_response.updated",
        target=str(row.id),
        data={"shortcut": row.shortcut},
    )
    return row


def delete_canned(
    session: Session, workspace_id: uuid.UUID, canned_id: uuid.UUID, *, actor: Principal
) -> None:
    row = _canned(session, workspace_id, canned_id)
    shortcut = row.shortcut
    session.delete(row)
    session.flush()
    audit.record(
        session,
        actor,
        "canned_response.deleted",
        target=str(canned_id),
        data={"shortcut": shortcut},
    )


def inbox_settings(session: Session, workspace_id: uuid.UUID) -> tuple[InboxRules, int]:
    """The workspace's inbox rules and their version."""
    return INBOX.read_with_version(session, workspace_id)


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
    return INBOX.save(
        session,
        workspace_id,
        raw,
        actor=actor,
        expected_version=expected_version,
        schema=InboxRulesIn,
    )
