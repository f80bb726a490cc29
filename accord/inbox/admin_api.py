"""Setting the inbox up: teams and their members, agents' availability, capacity and
skills, SLA policies, canned responses and the inbox rules."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter

from accord.govern.access.deps import (
    ConversationsReader,
    ConversationsWriter,
    WorkspaceAdmin,
)
from accord.govern.access.scopes import Scope
from accord.govern.audit import service as audit
from accord.inbox import service, setup
from accord.inbox.models import Team
from accord.inbox.repository import CannedRepository, TeamRepository
from accord.inbox.schemas import (
    AgentIn,
    AgentRead,
    CannedIn,
    CannedRead,
    CannedRendered,
    SlaPolicyIn,
    SlaPolicyRead,
    TeamIn,
    TeamRead,
)
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, not_found
from accord.kit.schemas import DataList

router = APIRouter(prefix="/api/v1", tags=["inbox settings"])


def _team_read(session: DbSession, team: Team) -> TeamRead:
    members = [m.user_id for m in TeamRepository.from_session(session).members(team.id)]
    return TeamRead(
        id=team.id,
        name=team.name,
        routing=team.routing,
        business_hours=team.business_hours,
        is_priority_queue=team.is_priority_queue,
        members=members,
    )


@router.get("/teams", response_model=DataList[TeamRead], summary="Teams")
def list_teams(session: DbSession, principal: ConversationsReader) -> DataList[TeamRead]:
    teams = TeamRepository.from_session(session).all(principal.workspace_id)
    return DataList(data=[_team_read(session, t) for t in teams])


@router.post("/teams", response_model=TeamRead, status_code=201, summary="Create a team")
def create_team(session: DbSession, principal: WorkspaceAdmin, body: TeamIn) -> TeamRead:
    team = setup.save_team(session, principal.workspace_id, **body.model_dump())
    audit.record(session, principal, "team.created", target=str(team.id), data={"name": team.name})
    return _team_read(session, team)


@router.put("/teams/{team_id}", response_model=TeamRead, summary="Change a team and its members")
def update_team(
    session: DbSession, principal: WorkspaceAdmin, team_id: uuid.UUID, body: TeamIn
) -> TeamRead:
    team = setup.save_team(session, principal.workspace_id, team_id=team_id, **body.model_dump())
    audit.record(session, principal, "team.updated", target=str(team.id))
    return _team_read(session, team)


@router.put("/agents/{user_id}", response_model=AgentRead, summary="Availability, capacity, skills")
def update_agent(
    session: DbSession, principal: ConversationsWriter, user_id: uuid.UUID, body: AgentIn
) -> AgentRead:
    if principal.user_id not in (None, user_id) and not principal.has(Scope.WORKSPACE_ADMIN):
        raise AccordError("Only admins change other agents", "forbidden", 403, "user_id")
    state = setup.set_agent(
        session,
        principal.workspace_id,
        user_id,
        available=body.available,
        capacity=body.capacity,
        skills=body.skills,
    )
    return AgentRead.model_validate(state)


@router.get("/sla-policies", response_model=DataList[SlaPolicyRead], summary="SLA policies")
def list_policies(session: DbSession, principal: ConversationsReader) -> DataList[SlaPolicyRead]:
    rows = TeamRepository.from_session(session).policies(principal.workspace_id)
    return DataList(data=[SlaPolicyRead.model_validate(p) for p in rows])


@router.post(
    "/sla-policies", response_model=SlaPolicyRead, status_code=201, summary="Add an SLA policy"
)
def create_policy(
    session: DbSession, principal: WorkspaceAdmin, body: SlaPolicyIn
) -> SlaPolicyRead:
    policy = setup.add_policy(session, principal.workspace_id, **body.model_dump())
    audit.record(session, principal, "sla_policy.created", target=str(policy.id))
    return SlaPolicyRead.model_validate(policy)


@router.get("/canned-responses", response_model=DataList[CannedRead], summary="Canned responses")
def list_canned(session: DbSession, principal: ConversationsReader) -> DataList[CannedRead]:
    rows = CannedRepository.from_session(session).all(principal.workspace_id)
    return DataList(data=[CannedRead.model_validate(c) for c in rows])


@router.post(
    "/canned-responses", response_model=CannedRead, status_code=201, summary="Add a canned response"
)
def create_canned(session: DbSession, principal: ConversationsWriter, body: CannedIn) -> CannedRead:
    row = setup.add_canned(session, principal.workspace_id, **body.model_dump())
    return CannedRead.model_validate(row)


@router.get(
    "/conversations/{conversation_id}/canned/{canned_id}",
    response_model=CannedRendered,
    summary="A canned response filled in for this conversation's customer",
)
def render_canned(
    session: DbSession,
    principal: ConversationsReader,
    conversation_id: uuid.UUID,
    canned_id: uuid.UUID,
) -> CannedRendered:
    conversation = service.get(session, principal.workspace_id, conversation_id)
    canned = CannedRepository.from_session(session).get(principal.workspace_id, canned_id)
    if canned is None:
        raise not_found("Canned response", field="canned_id")
    return CannedRendered(
        body=service.render_canned(session, canned, conversation, principal.label)
    )


@router.put("/inbox/settings", summary="Reopen window, channel teams, VIP rules, surveys")
def put_inbox_settings(
    session: DbSession, principal: WorkspaceAdmin, body: dict[str, Any]
) -> dict[str, Any]:
    setup.set_inbox_settings(session, principal.workspace_id, body)
    audit.record(session, principal, "inbox.settings_updated")
    return body
