"""``/api/v1/chat/...`` (API tokens): who is on the site now, proactive triggers and
their reports, the widget's settings and identity verification."""

from __future__ import annotations

import uuid
from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from accord.chat import identity, triggers
from accord.chat.models import ChatVisitor
from accord.chat.repository import TriggerRepository, VisitorRepository
from accord.chat.schemas import ChatSettings, TriggerIn, TriggerRead, TriggerReport, VisitorRead
from accord.govern.access.deps import AnalyticsReader, ConversationsReader, WorkspaceAdmin
from accord.govern.audit import service as audit
from accord.govern.workspaces.service import get_workspace
from accord.kit.deps import DbSession
from accord.kit.errors import not_found
from accord.kit.schemas import DataList
from accord.kit.time import utcnow

router = APIRouter(tags=["chat"])


def visitor_read(v: ChatVisitor, profile_id: uuid.UUID | None) -> VisitorRead:
    now = utcnow()
    return VisitorRead(
        id=v.id,
        anonymous_id=v.anonymous_id,
        user_id=v.user_id,
        name=v.name,
        email=v.email,
        current_url=v.current_url,
        current_title=v.current_title,
        seconds_on_page=int((now - v.page_started_at).total_seconds()) if v.page_started_at else 0,
        pages_this_visit=v.visit_pages,
        pages=v.pages or [],
        visits=v.visits,
        returning=v.visits > 1,
        referrer=v.referrer,
        utm=v.utm or {},
        country=v.country,
        cart_value=v.cart_value,
        cart_currency=v.cart_currency,
        profile_id=profile_id,
        conversation_id=v.conversation_id,
        last_seen_at=v.last_seen_at,
    )


def online_visitors(
    request: Request, session: Session, workspace_id: uuid.UUID
) -> list[VisitorRead]:
    seconds = request.app.state.settings.chat_online_seconds
    rows = VisitorRepository.from_session(session).online(
        workspace_id, utcnow() - timedelta(seconds=seconds)
    )
    profiles = VisitorRepository.from_session(session).profiles_of(
        workspace_id, {v.anonymous_id for v in rows}
    )
    return [visitor_read(v, profiles.get(v.anonymous_id)) for v in rows]


@router.get(
    "/api/v1/chat/visitors",
    response_model=DataList[VisitorRead],
    summary="Visitors on the site now",
)
def list_visitors(
    request: Request, session: DbSession, principal: ConversationsReader
) -> DataList[VisitorRead]:
    return DataList(data=online_visitors(request, session, principal.workspace_id))


@router.get(
    "/api/v1/chat/triggers", response_model=DataList[TriggerRead], summary="Proactive triggers"
)
def list_triggers(session: DbSession, principal: ConversationsReader) -> DataList[TriggerRead]:
    rows = TriggerRepository.from_session(session).all(principal.workspace_id)
    return DataList(data=[TriggerRead.model_validate(t) for t in rows])


@router.post(
    "/api/v1/chat/triggers", response_model=TriggerRead, status_code=201, summary="Add a trigger"
)
def create_trigger(session: DbSession, principal: WorkspaceAdmin, body: TriggerIn) -> TriggerRead:
    trigger = triggers.save(session, principal.workspace_id, body.model_dump(mode="json"))
    audit.record(session, principal, "chat_trigger.created", target=trigger.name)
    return TriggerRead.model_validate(trigger)


@router.put(
    "/api/v1/chat/triggers/{trigger_id}", response_model=TriggerRead, summary="Change a trigger"
)
def update_trigger(
    session: DbSession, principal: WorkspaceAdmin, trigger_id: uuid.UUID, body: TriggerIn
) -> TriggerRead:
    trigger = triggers.save(
        session, principal.workspace_id, body.model_dump(mode="json"), trigger_id
    )
    audit.record(session, principal, "chat_trigger.updated", target=trigger.name)
    return TriggerRead.model_validate(trigger)


@router.delete("/api/v1/chat/triggers/{trigger_id}", status_code=204, summary="Delete a trigger")
def delete_trigger(
    session: DbSession, principal: WorkspaceAdmin, trigger_id: uuid.UUID
) -> Response:
    triggers.delete(session, principal.workspace_id, trigger_id)
    audit.record(session, principal, "chat_trigger.deleted", target=str(trigger_id))
    return Response(status_code=204)


@router.get(
    "/api/v1/chat/triggers/{trigger_id}/report",
    response_model=TriggerReport,
    summary="Shown, accepted, converted and lift against the holdout",
)
def trigger_report(
    session: DbSession, principal: AnalyticsReader, trigger_id: uuid.UUID
) -> TriggerReport:
    trigger = TriggerRepository.from_session(session).get(principal.workspace_id, trigger_id)
    if trigger is None:
        raise not_found("Trigger", field="trigger_id")
    return TriggerReport.model_validate(
        triggers.report(session, principal.workspace_id, trigger).as_dict()
    )


@router.get("/api/v1/chat/settings", response_model=ChatSettings, summary="The widget's settings")
def get_chat_settings(session: DbSession, principal: ConversationsReader) -> ChatSettings:
    return ChatSettings.of(get_workspace(session, principal.workspace_id))


@router.put(
    "/api/v1/chat/settings", response_model=ChatSettings, summary="Set the widget's settings"
)
def put_chat_settings(
    session: DbSession, principal: WorkspaceAdmin, body: ChatSettings
) -> ChatSettings:
    workspace = get_workspace(session, principal.workspace_id)
    workspace.settings = {**(workspace.settings or {}), "chat": body.model_dump()}
    audit.record(session, principal, "chat_settings.updated")
    return body


class IdentityStatus(BaseModel):
    enabled: bool = Field(description="Whether identities the widget gives can be verified")
    set_at: str | None = Field(None, description="When the current secret was generated")


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
    workspace = get_workspace(session, principal.workspace_id)
    secret = identity.generate(workspace, request.app.state.settings.resolved_secret_key)
    audit.record(session, principal, "chat_identity.secret_generated")
    return IdentitySecret(secret=secret, **identity.status(workspace))


@router.delete(
    "/api/v1/chat/identity/secret",
    status_code=204,
    summary="Turn identity verification off: every identity the widget gives is a claim",
)
def delete_identity_secret(session: DbSession, principal: WorkspaceAdmin) -> Response:
    identity.clear(get_workspace(session, principal.workspace_id))
    audit.record(session, principal, "chat_identity.secret_removed")
    return Response(status_code=204)
