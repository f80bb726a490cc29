"""The agent console: inbox views with filters, the conversation page (the whole thread
across channels, the composer, the customer 360 sidebar), live updates over server-sent
events, and attachments served only inside their workspace."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import (
    FileResponse,
    HTMLResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)

from accord.channels import sms
from accord.channels.contact_center import screen_pop
from accord.customers.context import ConsentView, consent_of
from accord.govern.access import service as access
from accord.govern.access.scopes import Scope
from accord.govern.consent.rules import CHANNEL_LABELS
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter import replies
from accord.inbox import calls, intake, queries, routing, service, setup
from accord.inbox.calls import describe_call
from accord.inbox.context import Actor, InboxContext
from accord.inbox.deps import inbox_context
from accord.inbox.intake import Inbound, attachment_path
from accord.inbox.models import Conversation, Message
from accord.inbox.people import Contact
from accord.inbox.queries import ConversationView
from accord.inbox.rules import CHANNELS, PRIORITIES, STATUSES
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid, not_found
from accord.kit.time import utcnow
from accord.web.auth import ConsoleUser
from accord.web.pages import page
from accord.web.social_cards import conversation_post

router = APIRouter(include_in_schema=False)
PAGE = 50
KEEPALIVE = 15.0


def _actor(console: ConsoleUser) -> Actor:
    user = console.identity.user
    return Actor(user.id, user.name or user.email)


def _conversation(session: DbSession, console: ConsoleUser, number: int) -> Conversation:
    return queries.by_number(session, console.principal.workspace_id, number)


@router.get("/inbox")
def inbox(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    view: str = "mine",
    status: str = "open",
    channel: str = "",
    priority: str = "",
    sla: str = "",
    q: str = "",
) -> HTMLResponse:
    console.principal.require(Scope.CONVERSATIONS_READ)
    workspace_id = console.principal.workspace_id
    user_id = console.identity.user.id
    view = view if view in ("mine", "unassigned", "team", "all") else "mine"
    now = utcnow()
    rows = queries.list_conversations(
        session,
        workspace_id,
        user_id=user_id,
        view=view,
        status=status if status in (*STATUSES, "active") else None,
        channel=channel or None,
        priority=priority or None,
        sla=sla if sla in ("breached", "due_soon") else None,
        q=q or None,
        limit=PAGE,
        now=now,
    )
    members = {
        m.user_id: m.user.name or m.user.email for m in access.list_members(session, workspace_id)
    }
    context: dict[str, Any] = {
        "conversations": [(c, routing.sla_state(c, now)) for c in rows],
        "people": queries.people(session, workspace_id, [c.profile_id for c in rows]),
        "members": members,
        "now": now,
    }
    if (
        request.headers.get("hx-request")
        and request.headers.get("hx-target") == "conversation-list"
    ):
        templates = request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(request, "inbox_list.html", context)
        return response
    return page(
        request,
        session,
        console,
        "inbox.html",
        "inbox",
        view=view,
        status=status,
        channel=channel,
        priority=priority,
        sla=sla,
        q=q,
        available=queries.agent_states(session, workspace_id).get(user_id),
        channels=CHANNELS,
        priorities=PRIORITIES,
        statuses=STATUSES,
        **context,
    )


@router.get("/inbox/counts")
def inbox_counts(
    request: Request, session: DbSession, console: ConsoleUser, view: str = "mine"
) -> HTMLResponse:
    """The views' tab badges, fetched after the list so the list is not kept waiting."""
    console.principal.require(Scope.CONVERSATIONS_READ)
    counts = queries.counts(session, console.principal.workspace_id, console.identity.user.id)
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request, "inbox_tabs.html", {"counts": counts, "view": view, "status": "open"}
    )
    return response


@router.get("/inbox/events")
async def live_events(request: Request, console: ConsoleUser) -> StreamingResponse:
    """Server-sent events: one line per change to a conversation of this workspace."""
    broker = request.app.state.broker
    workspace_id = console.principal.workspace_id

    queue = broker.open(workspace_id) if broker is not None else None

    async def stream() -> AsyncIterator[str]:
        try:
            yield "retry: 3000\n\n"
            if queue is None:
                return
            while not await request.is_disconnected():
                try:
                    item = await asyncio.wait_for(queue.get(), KEEPALIVE)
                except TimeoutError:
                    yield ": keep-alive\n\n"
                    continue
                if item.get("type") == access.KEYS_REVOKED:
                    continue  # for the workers, not the console
                kind = "chat" if item.get("type") == "chat" else "conversation"
                yield f"event: {kind}\ndata: {json.dumps(item)}\n\n"
        finally:
            if queue is not None:
                broker.close(workspace_id, queue)

    return StreamingResponse(
        stream(),
        media_type="text/event-stream",
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


@router.post("/inbox/availability")
def post_availability(
    session: DbSession,
    console: ConsoleUser,
    available: Annotated[str, Form()] = "",
) -> Response:
    """An agent goes away (no new conversations routed to them) or comes back."""
    console.principal.require(Scope.CONVERSATIONS_WRITE)
    setup.set_agent(
        session,
        console.principal.workspace_id,
        console.identity.user.id,
        available=available == "on",
    )
    return RedirectResponse("/inbox", status_code=303)


@router.get("/inbox/phone")
def phone_page(
    request: Request, session: DbSession, console: ConsoleUser, number: str = "", error: str = ""
) -> HTMLResponse:
    """The screen pop for an agent taking a call: who is calling, what is open, why they
    are probably calling and where the call should go; and the form that logs it."""
    console.principal.require(Scope.CONVERSATIONS_READ)
    pop = None
    problem = error or None
    if number.strip():
        try:
            pop = screen_pop(
                session, get_workspace(session, console.principal.workspace_id), number
            )
        except AccordError as exc:
            problem = exc.message
    members = access.list_members(session, console.principal.workspace_id)
    return page(
        request,
        session,
        console,
        "phone.html",
        "inbox",
        number=number,
        pop=pop,
        error=problem,
        members={m.user_id: m.user.name or m.user.email for m in members},
    )


@router.post("/inbox/phone/call")
def log_call(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    phone: Annotated[str, Form()],
    direction: Annotated[str, Form()] = "in",
    minutes: Annotated[float, Form()] = 0,
    disposition: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    console.principal.require(Scope.CONVERSATIONS_WRITE)
    ctx = inbox_context(request, session, console.principal.workspace_id)
    seconds = max(int(minutes * 60), 0)
    try:
        with session.begin_nested():
            got = intake.receive(
                session,
                ctx,
                Inbound(
                    channel="phone",
                    contact=Contact(phone=phone),
                    body=describe_call(direction, seconds, disposition or None, notes or None),
                    subject="Phone call" if direction == "in" else "Call back",
                    direction="in" if direction == "in" else "out",
                    author=_actor(console) if direction != "in" else None,
                    meta={"duration_seconds": seconds, "disposition": disposition or None},
                    properties={"direction": direction, "duration_seconds": seconds},
                ),
            )
    except AccordError as exc:
        from urllib.parse import quote

        return RedirectResponse(
            f"/inbox/phone?number={quote(phone)}&error={quote(exc.message)}", status_code=303
        )
    return RedirectResponse(f"/inbox/{got.conversation.number}", status_code=303)


def _consent_lines(session: DbSession, view: ConversationView) -> ConsentView | None:
    """What the customer allows on each channel they can be reached on: service replies
    and marketing, for the sidebar."""
    person = view.person
    if person is None:
        return None
    kinds = {i.type for i in view.identifiers}
    reach = view.reach
    reachable = {
        "email": bool(person.email or "email" in kinds or "email" in reach.addresses)
        or "email" in reach.blocked,
        "chat": "chat" in reach.addresses or "chat" in reach.blocked,
        "phone": bool(person.phone or reach.phone or "phone" in kinds) or "phone" in reach.blocked,
    }
    reachable["sms"] = reachable["phone"]
    channels = [c for c in ("email", "chat", "phone", "sms") if reachable[c]]
    return consent_of(
        session, person, channels=channels, purposes=("service", "marketing"), history=False
    )


def _texting(request: Request, session: DbSession, workspace_id: uuid.UUID) -> bool:
    """Whether the workspace has an SMS provider to send texts through."""
    secret_key = request.app.state.settings.resolved_secret_key
    return sms.of(get_workspace(session, workspace_id), secret_key) is not None


def _chatting_unverified(thread: list[Message]) -> bool:
    """Whether whoever is chatting now (the latest chat message in) was not vouched for."""
    for m in reversed(thread):
        if m.direction == "in" and m.channel == "chat":
            return bool((m.meta or {}).get("unverified"))
    return False


@router.get("/inbox/{number}")
def conversation_page(
    request: Request, session: DbSession, console: ConsoleUser, number: int, error: str = ""
) -> HTMLResponse:
    console.principal.require(Scope.CONVERSATIONS_READ)
    workspace_id = console.principal.workspace_id
    conversation = _conversation(session, console, number)
    view = queries.conversation_view(session, conversation)
    members = access.list_members(session, workspace_id)
    now = utcnow()
    context: dict[str, Any] = {
        "c": conversation,
        "thread": view.thread,
        "unverified": _chatting_unverified(view.thread),
        "files": view.files,
        "events": view.events,
        "person": view.person,
        "reach": view.reach,
        "history": view.history,
        "identifiers": view.identifiers,
        "orders": view.orders,
        "members": {m.user_id: m.user.name or m.user.email for m in members},
        # Who a conversation may go to: admins and agents (an analyst reads only).
        "takers": {
            m.user_id: m.user.name or m.user.email for m in members if service.can_take(m.role)
        },
        "teams": queries.teams(session, workspace_id),
        "canned": queries.canned_responses(session, workspace_id),
        "sla": routing.sla_state(conversation, now),
        "statuses": STATUSES,
        "priorities": PRIORITIES,
        "error": error,
        "now": now,
        "csrf_token": console.csrf_token,
        "can_write_knowledge": console.principal.has(Scope.KNOWLEDGE_WRITE),
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "thread":
        templates = request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(
            request, "conversation_thread.html", context
        )
        return response
    # A social conversation: the post's card, and the reply back through its network.
    context["social_post"] = conversation_post(session, conversation, view.thread)
    context["consent"] = _consent_lines(session, view)
    context["consent_labels"] = CHANNEL_LABELS
    # A customer with a number could be texted once the workspace has an SMS provider.
    texted = "sms" in view.reach.addresses or "sms" in view.reach.blocked
    context["no_texting"] = (
        bool(view.reach.phone) and not texted and not _texting(request, session, workspace_id)
    )
    return page(request, session, console, "conversation.html", "inbox", **context)


def _back(number: int, error: AccordError | None = None) -> Response:
    url = f"/inbox/{number}"
    if error is not None:
        from urllib.parse import quote

        url += f"?error={quote(error.message)}"
    return RedirectResponse(url, status_code=303)


def _act(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    number: int,
    action: Callable[[Conversation, InboxContext, Actor], None],
) -> Response:
    """Run one agent action on a conversation in a savepoint; back to its page, with the
    error shown when the action is refused."""
    console.principal.require(Scope.CONVERSATIONS_WRITE)
    conversation = _conversation(session, console, number)
    ctx = inbox_context(request, session, console.principal.workspace_id)
    try:
        with session.begin_nested():
            action(conversation, ctx, _actor(console))
    except AccordError as exc:
        return _back(number, exc)
    except ValueError as exc:
        return _back(number, AccordError(str(exc)))
    return _back(number)


@router.post("/inbox/{number}/reply")
def post_reply(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    number: int,
    body: Annotated[str, Form()],
    kind: Annotated[str, Form()] = "reply",
    channel: Annotated[str, Form()] = "",
    then: Annotated[str, Form()] = "",
    private: Annotated[str, Form()] = "",
) -> Response:
    """A reply (or an internal note); a social reply goes out as a direct message to the
    post's author when ``private`` is checked, else publicly under the post."""

    def action(conversation: Conversation, ctx: InboxContext, actor: Actor) -> None:
        if kind == "note":
            service.note(session, ctx, conversation, actor, body)
            return
        sent = service.reply(
            session,
            ctx,
            conversation,
            actor,
            body,
            channel=channel or None,
            status=then or None,
            private=bool(private),
        )
        # The help center's articles the reply links to, for its analytics.
        replies.linked_in_reply(
            session,
            get_workspace(session, conversation.workspace_id),
            conversation_id=conversation.id,
            message_id=sent.id,
            body=sent.body,
        )

    return _act(request, session, console, number, action)


@router.post("/inbox/{number}/call")
def post_call(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    number: int,
    notes: Annotated[str, Form()] = "",
    minutes: Annotated[float, Form()] = 0,
    outcome: Annotated[str, Form()] = "",
) -> Response:
    """The agent called the customer back: the call is logged as their answer."""

    def action(conversation: Conversation, ctx: InboxContext, actor: Actor) -> None:
        calls.log_call(
            session, ctx, conversation, actor, notes=notes, minutes=minutes, outcome=outcome
        )

    return _act(request, session, console, number, action)


@router.post("/inbox/{number}/callback")
def post_callback(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    number: int,
    when: Annotated[str, Form()] = "",
    notes: Annotated[str, Form()] = "",
) -> Response:
    """The agent will call the customer back at a time (UTC): a callback task."""

    def action(conversation: Conversation, ctx: InboxContext, actor: Actor) -> None:
        try:
            at = datetime.fromisoformat(when).replace(tzinfo=UTC)
        except ValueError:
            raise invalid("Choose when to call back", field="when") from None
        calls.schedule_callback(session, ctx, conversation, actor, when=at, notes=notes)

    return _act(request, session, console, number, action)


@router.post("/inbox/{number}/status")
def post_status(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    number: int,
    status: Annotated[str, Form()],
    snooze_hours: Annotated[float, Form()] = 4.0,
) -> Response:
    until = utcnow() + timedelta(hours=snooze_hours) if status == "snoozed" else None

    def action(conversation: Conversation, ctx: InboxContext, actor: Actor) -> None:
        service.set_status(session, ctx, conversation, status, actor, snooze_until=until)

    return _act(request, session, console, number, action)


@router.post("/inbox/{number}/assign")
def post_assign(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    number: int,
    assignee: Annotated[str, Form()] = "",
    priority: Annotated[str, Form()] = "",
    tags: Annotated[str, Form()] = "",
) -> Response:
    def action(conversation: Conversation, ctx: InboxContext, actor: Actor) -> None:
        if assignee:
            target = console.identity.user.id if assignee == "me" else uuid.UUID(assignee)
            service.assign(session, ctx, conversation, target, actor)
        if priority:
            service.set_priority(session, ctx, conversation, priority, actor)
        if tags:
            service.set_tags(session, ctx, conversation, tags.split(","), actor)

    return _act(request, session, console, number, action)


@router.post("/inbox/{number}/transfer")
def post_transfer(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    number: int,
    team_id: Annotated[str, Form()] = "",
    assignee_id: Annotated[str, Form()] = "",
    note: Annotated[str, Form()] = "",
) -> Response:
    def action(conversation: Conversation, ctx: InboxContext, actor: Actor) -> None:
        service.transfer(
            session,
            ctx,
            conversation,
            actor,
            team_id=uuid.UUID(team_id) if team_id else None,
            user_id=uuid.UUID(assignee_id) if assignee_id else None,
            note_text=note,
        )

    return _act(request, session, console, number, action)


@router.get("/inbox/{number}/canned/{canned_id}")
def canned_text(
    session: DbSession, console: ConsoleUser, number: int, canned_id: uuid.UUID
) -> Response:
    console.principal.require(Scope.CONVERSATIONS_READ)
    conversation = _conversation(session, console, number)
    canned = queries.canned_response(session, console.principal.workspace_id, canned_id)
    user = console.identity.user
    text = service.render_canned(session, canned, conversation, user.name or user.email)
    return Response(text, media_type="text/plain; charset=utf-8")


@router.get("/attachments/{attachment_id}")
def attachment(
    request: Request, session: DbSession, console: ConsoleUser, attachment_id: uuid.UUID
) -> Response:
    console.principal.require(Scope.CONVERSATIONS_READ)
    row = queries.attachment(session, console.principal.workspace_id, attachment_id)
    path = attachment_path(request.app.state.settings.ensure_data_dir(), row.sha256)
    if not path.exists():
        raise not_found("Attachment file", field="attachment_id")
    return FileResponse(
        path,
        media_type="application/octet-stream"
        if row.content_type.startswith(("text/html", "image/svg"))
        else row.content_type,
        filename=row.filename,
        headers={"x-content-type-options": "nosniff", "content-security-policy": "sandbox"},
    )
