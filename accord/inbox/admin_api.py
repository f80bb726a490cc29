"""Setting the inbox up: teams and their members, agents' availability, capacity and
skills, SLA policies, canned responses and the inbox rules."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from accord.govern.access.deps import (
    ConversationsReader,
    ConversationsWriter,
    WorkspaceAdmin,
)
from accord.govern.access.scopes import Scope
from accord.inbox import queries, service, setup
from accord.inbox.models import Team
from accord.inbox.schemas import (
    AgentIn,
    AgentRead,
    CannedIn,
    CannedRead,
    CannedRendered,
    InboxSettingsRead,
    SlaPolicyIn,
    SlaPolicyRead,
    TeamIn,
    TeamRead,
)
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid
from accord.kit.schemas import DataList

router = APIRouter(prefix="/api/v1", tags=["inbox settings"])


def _team_read(team: Team, members: list[uuid.UUID]) -> TeamRead:
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
    teams = queries.teams_with_members(session, principal.workspace_id)
    return DataList(data=[_team_read(t, members) for t, members in teams])


@router.post("/teams", response_model=TeamRead, status_code=201, summary="Create a team")
def create_team(session: DbSession, principal: WorkspaceAdmin, body: TeamIn) -> TeamRead:
    team = setup.save_team(session, principal.workspace_id, actor=principal, **body.model_dump())
    return _team_read(team, queries.team_members(session, team))


@router.put("/teams/{team_id}", response_model=TeamRead, summary="Change a team and its members")
def update_team(
    session: DbSession, principal: WorkspaceAdmin, team_id: uuid.UUID, body: TeamIn
) -> TeamRead:
    team = setup.save_team(
        session, principal.workspace_id, team_id=team_id, actor=principal, **body.model_dump()
    )
    return _team_read(team, queries.team_members(session, team))


@router.delete(
    "/teams/{team_id}",
    status_code=204,
    summary="Delete a team, its conversations moving to another",
    description="With open conversations the team is deleted only with `move_to` (the team "
    "they go to); otherwise 409 `team_has_conversations`. Its SLA policies go with it, and "
    "inbox rules that named it name `move_to` instead.",
)
def delete_team(
    session: DbSession,
    principal: WorkspaceAdmin,
    team_id: uuid.UUID,
    move_to: uuid.UUID | None = None,
) -> Response:
    setup.delete_team(session, principal.workspace_id, team_id, actor=principal, move_to=move_to)
    return Response(status_code=204)


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
    rows = queries.policies(session, principal.workspace_id)
    return DataList(data=[SlaPolicyRead.model_validate(p) for p in rows])


@router.post(
    "/sla-policies", response_model=SlaPolicyRead, status_code=201, summary="Add an SLA policy"
)
def create_policy(
    session: DbSession, principal: WorkspaceAdmin, body: SlaPolicyIn
) -> SlaPolicyRead:
    policy = setup.add_policy(session, principal.workspace_id, actor=principal, **body.model_dump())
    return SlaPolicyRead.model_validate(policy)


@router.put(
    "/sla-policies/{policy_id}", response_model=SlaPolicyRead, summary="Change an SLA policy"
)
def update_policy(
    session: DbSession, principal: WorkspaceAdmin, policy_id: uuid.UUID, body: SlaPolicyIn
) -> SlaPolicyRead:
    policy = setup.update_policy(
        session, principal.workspace_id, policy_id, actor=principal, **body.model_dump()
    )
    return SlaPolicyRead.model_validate(policy)


@router.delete("/sla-policies/{policy_id}", status_code=204, summary="Delete an SLA policy")
def delete_policy(session: DbSession, principal: WorkspaceAdmin, policy_id: uuid.UUID) -> Response:
    setup.delete_policy(session, principal.workspace_id, policy_id, actor=principal)
    return Response(status_code=204)


@router.get("/canned-responses", response_model=DataList[CannedRead], summary="Canned responses")
def list_canned(session: DbSession, principal: ConversationsReader) -> DataList[CannedRead]:
    rows = queries.canned_responses(session, principal.workspace_id)
    return DataList(data=[CannedRead.model_validate(c) for c in rows])


@router.post(
    "/canned-responses", response_model=CannedRead, status_code=201, summary="Add a canned response"
)
def create_canned(session: DbSession, principal: ConversationsWriter, body: CannedIn) -> CannedRead:
    row = setup.add_canned(session, principal.workspace_id, actor=principal, **body.model_dump())
    return CannedRead.model_validate(row)


@router.put(
    "/canned-responses/{canned_id}", response_model=CannedRead, summary="Change a canned response"
)
def update_canned(
    session: DbSession, principal: ConversationsWriter, canned_id: uuid.UUID, body: CannedIn
) -> CannedRead:
    row = setup.update_canned(
        session, principal.workspace_id, canned_id, actor=principal, **body.model_dump()
    )
    return CannedRead.model_validate(row)


@router.delete("/canned-responses/{canned_id}", status_code=204, summary="Delete a canned response")
def delete_canned(
    session: DbSession, principal: ConversationsWriter, canned_id: uuid.UUID
) -> Response:
    setup.delete_canned(session, principal.workspace_id, canned_id, actor=principal)
    return Response(status_code=204)


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
    canned = queries.canned_response(session, principal.workspace_id, canned_id)
    return CannedRendered(
        body=service.render_canned(session, canned, conversation, principal.label)
    )


def _settings_read(value: Any, version: int) -> InboxSettingsRead:
    return InboxSettingsRead(**value.model_dump(), version=version)


@router.get(
    "/inbox/settings",
    response_model=InboxSettingsRead,
    summary="Reopen window, channel teams, VIP rules, surveys, and their version",
)
def get_inbox_settings(session: DbSession, principal: WorkspaceAdmin) -> InboxSettingsRead:
    return _settings_read(*setup.inbox_settings(session, principal.workspace_id))


@router.put(
    "/inbox/settings",
    response_model=InboxSettingsRead,
    summary="Set the reopen window, channel teams, VIP rules and surveys",
    description="Send `version` (from a GET) to refuse the change with 409 "
    "`settings_version_conflict` when someone else changed them since.",
)
def put_inbox_settings(
    session: DbSession, principal: WorkspaceAdmin, body: dict[str, Any]
) -> InboxSettingsRead:
    raw = dict(body)
    version = raw.pop("version", None)
    if version is not None and (isinstance(version, bool) or not isinstance(version, int)):
        raise invalid("The version is a whole number", field="version")
    return _settings_read(
        *setup.save_inbox_settings(
            session, principal.workspace_id, raw, actor=principal, expected_version=version
        )
    )
