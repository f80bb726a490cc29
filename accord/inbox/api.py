"""The inbox over HTTP: conversations, messages, replies, notes, assignment, transfer,
status; inbound messages from any channel; metrics and the per-conversation export."""

from __future__ import annotations

import base64
import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from accord.govern.access.deps import AnalyticsReader, ConversationsReader, ConversationsWriter
from accord.inbox import intake, metrics, queries, service
from accord.inbox.deps import actor_of, inbox_context
from accord.inbox.intake import Inbound
from accord.inbox.models import Conversation
from accord.inbox.people import Contact
from accord.inbox.routing import sla_state
from accord.inbox.schemas import (
    ConversationDetail,
    ConversationPage,
    ConversationPatch,
    ConversationRead,
    EventRead,
    InboundIn,
    MessageRead,
    NoteIn,
    Received,
    ReplyIn,
    TransferIn,
)
from accord.kit.deps import DbSession
from accord.kit.errors import invalid
from accord.kit.streams import closing_stream
from accord.kit.time import utcnow

router = APIRouter(prefix="/api/v1", tags=["inbox"])


def read(conversation: Conversation) -> ConversationRead:
    out = ConversationRead.model_validate(conversation)
    out.sla = sla_state(conversation, utcnow())[0]
    return out


def _cursor(c: Conversation) -> str:
    raw = f"{c.last_message_at.isoformat()}|{c.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _parse_cursor(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if not cursor:
        return None
    try:
        at, cid = base64.urlsafe_b64decode(cursor.encode()).decode().split("|")
        return datetime.fromisoformat(at), uuid.UUID(cid)
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid("The cursor is not valid", field="cursor") from exc


@router.get("/conversations", response_model=ConversationPage, summary="List conversations")
def list_conversations(
    session: DbSession,
    principal: ConversationsReader,
    view: Annotated[str, Query(pattern="^(mine|unassigned|team|all)$")] = "all",
    status: Annotated[str | None, Query(pattern="^(open|pending|snoozed|resolved|active)$")] = None,
    channel: str | None = None,
    priority: str | None = None,
    sla: Annotated[str | None, Query(pattern="^(breached|due_soon)$")] = None,
    profile_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: str | None = None,
) -> ConversationPage:
    rows = queries.list_conversations(
        session,
        principal.workspace_id,
        user_id=principal.user_id or agent_id,
        view=view,
        status=status,
        channel=channel,
        priority=priority,
        sla=sla,
        profile_id=profile_id,
        q=q,
        limit=limit + 1,
        before=_parse_cursor(cursor),
    )
    return ConversationPage(
        data=[read(c) for c in rows[:limit]],
        next_cursor=_cursor(rows[limit - 1]) if len(rows) > limit else None,
    )


@router.post(
    "/messages",
    response_model=Received,
    status_code=201,
    summary="Receive a customer's message from any channel",
)
def receive_message(
    request: Request, session: DbSession, principal: ConversationsWriter, body: InboundIn
) -> Received:
    ctx = inbox_context(request, session, principal.workspace_id)
    contact = Contact(
        email=body.contact.email,
        phone=body.contact.phone,
        name=body.contact.name,
        user_id=body.contact.user_id,
        anonymous_id=body.contact.anonymous_id,
        social=body.contact.social,
    )
    if not any(
        [contact.email, contact.phone, contact.user_id, contact.anonymous_id, contact.social]
    ):
        raise invalid(
            "Say who wrote: an email, phone, user id, anonymous id or social handle",
            field="contact",
        )
    got = intake.receive(
        session,
        ctx,
        Inbound(
            channel=body.channel,
            contact=contact,
            body=body.body,
            subject=body.subject,
            external_id=body.external_id,
            at=body.at,
            priority=body.priority,
            tags=body.tags,
            meta=body.meta,
        ),
        request.app.state.settings.ensure_data_dir(),
    )
    session.flush()
    return Received(
        conversation=read(got.conversation),
        message_id=got.message.id,
        created=got.created,
        duplicate=got.duplicate,
    )


@router.get("/conversations/export.csv", summary="Export conversations with their metrics (CSV)")
def export_conversations(
    request: Request,
    principal: AnalyticsReader,
    since: datetime | None = None,
    until: datetime | None = None,
) -> StreamingResponse:
    factory = request.app.state.session_factory
    rows = metrics.export_csv(factory, principal.workspace_id, since, until)
    return StreamingResponse(
        closing_stream(rows),
        media_type="text/csv",
        headers={"content-disposition": 'attachment; filename="conversations.csv"'},
    )


@router.get("/inbox/metrics", response_model=metrics.MetricsReport, summary="Service metrics")
def inbox_metrics(
    session: DbSession,
    principal: AnalyticsReader,
    group_by: Annotated[str, Query(pattern="^(agent|team|channel|all)$")] = "all",
    since: datetime | None = None,
    until: datetime | None = None,
    business_hours: bool = True,
) -> metrics.MetricsReport:
    return metrics.report(
        session, principal.workspace_id, group_by, since, until, business_hours=business_hours
    )


@router.get(
    "/conversations/{conversation_id}",
    response_model=ConversationDetail,
    summary="One conversation with its messages and log",
)
def get_conversation(
    session: DbSession, principal: ConversationsReader, conversation_id: uuid.UUID
) -> ConversationDetail:
    conversation = service.get(session, principal.workspace_id, conversation_id)
    messages = queries.thread(session, conversation)
    events = queries.events(session, conversation)
    return ConversationDetail(
        **read(conversation).model_dump(),
        messages=[MessageRead.model_validate(m) for m in messages],
        events=[EventRead.model_validate(e) for e in events],
    )


@router.post(
    "/conversations/{conversation_id}/replies",
    response_model=MessageRead,
    status_code=201,
    summary="Reply to the customer",
)
def reply(
    request: Request,
    session: DbSession,
    principal: ConversationsWriter,
    conversation_id: uuid.UUID,
    body: ReplyIn,
) -> MessageRead:
    conversation = service.get(session, principal.workspace_id, conversation_id)
    ctx = inbox_context(request, session, principal.workspace_id)
    message = service.reply(
        session,
        ctx,
        conversation,
        actor_of(session, principal, body.agent_id),
        body.body,
        channel=body.channel,
        status=body.status,
        private=body.private,
    )
    return MessageRead.model_validate(message)


@router.post(
    "/conversations/{conversation_id}/notes",
    response_model=MessageRead,
    status_code=201,
    summary="Leave an internal note",
)
def add_note(
    request: Request,
    session: DbSession,
    principal: ConversationsWriter,
    conversation_id: uuid.UUID,
    body: NoteIn,
) -> MessageRead:
    conversation = service.get(session, principal.workspace_id, conversation_id)
    ctx = inbox_context(request, session, principal.workspace_id)
    message = service.note(
        session, ctx, conversation, actor_of(session, principal, body.agent_id), body.body
    )
    return MessageRead.model_validate(message)


@router.patch(
    "/conversations/{conversation_id}",
    response_model=ConversationRead,
    summary="Change status, priority, tags or assignee",
)
def update_conversation(
    request: Request,
    session: DbSession,
    principal: ConversationsWriter,
    conversation_id: uuid.UUID,
    body: ConversationPatch,
) -> ConversationRead:
    conversation = service.get(session, principal.workspace_id, conversation_id)
    ctx = inbox_context(request, session, principal.workspace_id)
    actor = actor_of(session, principal, body.agent_id)
    if body.assignee_id is not None or body.unassign:
        service.assign(
            session, ctx, conversation, None if body.unassign else body.assignee_id, actor
        )
    if body.priority is not None:
        service.set_priority(session, ctx, conversation, body.priority, actor)
    if body.tags is not None:
        service.set_tags(session, ctx, conversation, body.tags, actor)
    if body.status is not None:
        service.set_status(
            session, ctx, conversation, body.status, actor, snooze_until=body.snooze_until
        )
    session.flush()
    return read(conversation)


@router.post(
    "/conversations/{conversation_id}/transfer",
    response_model=ConversationRead,
    summary="Transfer to another team or agent with a note",
)
def transfer(
    request: Request,
    session: DbSession,
    principal: ConversationsWriter,
    conversation_id: uuid.UUID,
    body: TransferIn,
) -> ConversationRead:
    conversation = service.get(session, principal.workspace_id, conversation_id)
    ctx = inbox_context(request, session, principal.workspace_id)
    service.transfer(
        session,
        ctx,
        conversation,
        actor_of(session, principal, body.agent_id),
        team_id=body.team_id,
        user_id=body.assignee_id,
        note_text=body.note,
    )
    session.flush()
    return read(conversation)
