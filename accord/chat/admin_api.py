"""``/api/v1/chat/...`` (API tokens): who is on the site now, proactive triggers and
their reports, the widget's settings and identity verification."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field

from accord.chat import identity, queries, triggers
from accord.chat.schemas import (
    ChatSettingsIn,
    ChatSettingsRead,
    TriggerIn,
    TriggerRead,
    TriggerReport,
    VisitorRead,
)
from accord.chat.settings import chat_settings, save_chat_settings
from accord.govern.access.deps import AnalyticsReader, ConversationsReader, WorkspaceAdmin
from accord.govern.workspaces.service import get_workspace
from accord.kit.deps import DbSession
from accord.kit.schemas import DataList

router = APIRouter(tags=["chat"])


@router.get(
    "/api/v1/chat/visitors",
    response_model=DataList[VisitorRead],
    summary="Visitors on the site now",
)
def list_visitors(
    request: Request, session: DbSession, principal: ConversationsReader
) -> DataList[VisitorRead]:
    seconds = request.app.state.settings.chat_online_seconds
    return DataList(data=queries.online_visitors(session, principal.workspace_id, seconds))


@router.get(
    "/api/v1/chat/triggers", response_model=DataList[TriggerRead], summary="Proactive triggers"
)
def list_triggers(session: DbSession, principal: ConversationsReader) -> DataList[TriggerRead]:
    rows = queries.triggers(session, principal.workspace_id)
    return DataList(data=[TriggerRead.model_validate(t) for t in rows])


@router.post(
    "/api/v1/chat/triggers", response_model=TriggerRead, status_code=201, summary="Add a trigger"
)
def create_trigger(session: DbSession, principal: WorkspaceAdmin, body: TriggerIn) -> TriggerRead:
    trigger = triggers.save(
        session, principal.workspace_id, body.model_dump(mode="json"), actor=principal
    )
    return TriggerRead.model_validate(trigger)


@router.put(
    "/api/v1/chat/triggers/{trigger_id}", response_model=TriggerRead, summary="Change a trigger"
)
def update_trigger(
    session: DbSession, principal: WorkspaceAdmin, trigger_id: uuid.UUID, body: TriggerIn
) -> TriggerRead:
    trigger = triggers.save(
        session, principal.workspace_id, body.model_dump(mode="json"), trigger_id, actor=principal
    )
    return TriggerRead.model_validate(trigger)


@router.delete("/api/v1/chat/triggers/{trigger_id}", status_code=204, summary="Delete a trigger")
def delete_trigger(
    session: DbSession, principal: WorkspaceAdmin, trigger_id: uuid.UUID
) -> Response:
    triggers.delete(session, principal.workspace_id, trigger_id, actor=principal)
    return Response(status_code=204)


@router.get(
    "/api/v1/chat/triggers/{trigger_id}/report",
    response_model=TriggerReport,
    summary="Shown, accepted, converted and lift against the holdout",
)
def trigger_report(
    session: DbSession, principal: AnalyticsReader, trigger_id: uuid.UUID
) -> TriggerReport:
    trigger = queries.trigger(session, principal.workspace_id, trigger_id)
    return TriggerReport.model_validate(
        triggers.report(session, principal.workspace_id, trigger).as_dict()
    )


@router.get(
    "/api/v1/chat/settings",
    response_model=ChatSettingsRead,
    summary="The widget's settings and their version",
)
def get_chat_settings(session: DbSession, principal: ConversationsReader) -> ChatSettingsRead:
    value, version = chat_settings(session, principal.workspace_id)
    return ChatSettingsRead(**value.model_dump(), version=version)


@router.put(
    "/api/v1/chat/settings",
    response_model=ChatSettingsRead,
    summary="Set the widget's settings",
    description="Send `version` (from a GET) to refuse the change with 409 "
    "`settings_version_conflict` when someone else changed them since.",
)
def put_chat_settings(
    session: DbSession, principal: WorkspaceAdmin, body: ChatSettingsIn
) -> ChatSettingsRead:
    value, version = save_chat_settings(
        session,
        principal.workspace_id,
        body.model_dump(exclude={"version"}),
        actor=principal,
        expected_version=body.version,
    )
    return ChatSettingsRead(**value.model_dump(), version=version)


class IdentityStatus(BaseModel):
    enabled: bool = Field(description="Whether identities the widget gives can be verified")
    set_at: str | None = Field(None, description="When the current secret was generated")
    version: int = Field(0, description="The settings' version, bumped by each change")


class IdentitySecret(IdentityStatus):
    secret: str = Field(
        description="Shown once: keep it on the site's server and send the widget "
        "userHash = HMAC-SHA256(secret, userId, or email when there is no user id), hex"
    )


@router.get(
    "/api/v1/chat/identity",
    response_model=IdentityStatus,
    summary="Whether chat identity verification is on",
)
def get_identity(session: DbSession, principal: WorkspaceAdmin) -> IdentityStatus:
    return IdentityStatus(**identity.status(get_workspace(session, principal.workspace_id)))


@router.post(
    "/api/v1/chat/identity/secret",
    response_model=IdentitySecret,
    status_code=201,
    summary="Generate (or rotate) the identity-verification secret; shown once",
)
def rotate_identity_secret(
    request: Request, session: DbSession, principal: WorkspaceAdmin
) -> IdentitySecret:
    secret = identity.rotate(
        session,
        principal.workspace_id,
        request.app.state.settings.resolved_secret_key,
        actor=principal,
    )
    workspace = get_workspace(session, principal.workspace_id)
    return IdentitySecret(secret=secret, **identity.status(workspace))


@router.delete(
    "/api/v1/chat/identity/secret",
    status_code=204,
    summary="Turn identity verification off: every identity the widget gives is a claim",
)
def delete_identity_secret(session: DbSession, principal: WorkspaceAdmin) -> Response:
    identity.turn_off(session, principal.workspace_id, actor=principal)
    return Response(status_code=204)
