"""Live chat in the console: the live visitors panel (who is on the site now, where, for
how long, from where, their cart, whether they are a known customer) with a button to
start a chat; the chat panel of a conversation (the visitor's pages and cart, typing and
read receipts); and Settings > Chat (the widget and the proactive triggers with their
reports)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.chat import identity, queries, rules, service, triggers
from accord.chat import settings as widget
from accord.chat.api import chat_context
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import Scope
from accord.govern.workspaces.service import get_workspace
from accord.inbox import queries as inbox_queries
from accord.inbox import service as inbox_service
from accord.inbox.context import Actor
from accord.inbox.models import Conversation
from accord.kit.deps import DbSession, FormBody
from accord.kit.errors import AccordError
from accord.kit.time import utcnow
from accord.web.auth import ConsoleAdmin, ConsoleUser
from accord.web.pages import page

router = APIRouter(include_in_schema=False)
CONDITION_ROWS = 4


def _actor(console: ConsoleUser) -> Actor:
    user = console.identity.user
    return Actor(user.id, user.name or user.email)


def _conversation(session: DbSession, principal: Principal, number: int) -> Conversation:
    return inbox_queries.by_number(session, principal.workspace_id, number)


@router.get("/inbox/visitors")
def visitors_page(request: Request, session: DbSession, console: ConsoleUser) -> HTMLResponse:
    console.principal.require(Scope.CONVERSATIONS_READ)
    seconds = request.app.state.settings.chat_online_seconds
    workspace_id = console.principal.workspace_id
    visitors = queries.online_visitors(session, workspace_id, seconds)
    people = inbox_queries.people(session, workspace_id, [v.profile_id for v in visitors])
    context: dict[str, Any] = {
        "visitors": visitors,
        "people": people,
        "now": utcnow(),
        "can_answer": console.can_answer,
    }
    if request.headers.get("hx-request") and request.headers.get("hx-target") == "visitor-list":
        # The list alone, every few seconds: its forms carry the session's token too.
        templates = request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(
            request, "visitors_list.html", {**context, "csrf_token": console.csrf_token}
        )
        return response
    return page(request, session, console, "visitors.html", "inbox", **context)


@router.get("/inbox/by-id/{conversation_id}")
def conversation_by_id(
    session: DbSession, console: ConsoleUser, conversation_id: uuid.UUID
) -> Response:
    console.principal.require(Scope.CONVERSATIONS_READ)
    row = inbox_service.get(session, console.principal.workspace_id, conversation_id)
    return RedirectResponse(f"/inbox/{row.number}", status_code=303)


@router.post("/inbox/visitors/{visitor_id}/chat")
def start_chat(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    visitor_id: uuid.UUID,
    body: Annotated[str, Form()] = "",
) -> Response:
    console.principal.require(Scope.CONVERSATIONS_WRITE)
    workspace_id = console.principal.workspace_id
    visitor = queries.visitor(session, workspace_id, visitor_id)
    ctx = chat_context(request, session, workspace_id)
    conversation = service.start_chat(session, ctx, visitor, _actor(console), body)
    return RedirectResponse(f"/inbox/{conversation.number}", status_code=303)


@router.get("/inbox/{number}/chat")
def chat_panel(
    request: Request, session: DbSession, console: ConsoleUser, number: int
) -> HTMLResponse:
    """The sidebar of a chat conversation: its visitors, where they are and what they
    have in their cart, and whether they read the last answer."""
    console.principal.require(Scope.CONVERSATIONS_READ)
    conversation = _conversation(session, console.principal, number)
    visitors, profiles = queries.visitors_of(session, conversation.workspace_id, conversation.id)
    online_after = utcnow().timestamp() - request.app.state.settings.chat_online_seconds
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "chat_panel.html",
        {
            "c": conversation,
            "visitors": visitors,
            "profiles": profiles,
            "online_after": online_after,
            "now": utcnow(),
        },
    )
    return response


@router.post("/inbox/{number}/typing")
def agent_typing(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    number: int,
    on: Annotated[str, Form()] = "",
) -> Response:
    console.principal.require(Scope.CONVERSATIONS_WRITE)
    conversation = _conversation(session, console.principal, number)
    broker = request.app.state.broker
    if broker is not None:
        user = console.identity.user
        broker.publish(
            conversation.workspace_id,
            {
                "type": "chat",
                "what": "typing",
                "by": "agent",
                "conversation": str(conversation.id),
                "name": (user.name or user.email).split(" ")[0],
                "on": on in ("1", "on", "true"),
            },
        )
    return Response(status_code=204)


@router.post("/inbox/{number}/read")
def agent_read(request: Request, session: DbSession, console: ConsoleUser, number: int) -> Response:
    console.principal.require(Scope.CONVERSATIONS_READ)
    conversation = _conversation(session, console.principal, number)
    if console.can_answer:  # an analyst reading is not the visitor's answer being read
        ctx = chat_context(request, session, conversation.workspace_id)
        service.read_by_agent(session, ctx, conversation)
    return Response(status_code=204)


# --- Settings > Chat ---------------------------------------------------------------------


def _settings_page(
    request: Request,
    session: DbSession,
    console: ConsoleAdmin,
    error: AccordError | None = None,
    editing: uuid.UUID | None = None,
    new_secret: str | None = None,
) -> HTMLResponse:
    workspace_id = console.principal.workspace_id
    workspace = get_workspace(session, workspace_id)
    chat, chat_version = widget.chat_settings(session, workspace_id)
    rows = queries.triggers(session, workspace_id)
    reports = {t.id: triggers.report(session, workspace_id, t) for t in rows}
    keys = [k.write_key for k in access.list_keys(session, workspace_id) if k.kind == "write"]
    return page(
        request,
        session,
        console,
        "settings/chat.html",
        "settings",
        status_code=error.status if error else 200,
        tab="chat",
        error=error,
        chat=chat,
        chat_version=chat_version,
        triggers=rows,
        reports=reports,
        editing=next((t for t in rows if t.id == editing), None),
        events=rules.EVENTS,
        facts=rules.FACTS,
        ops=rules.OPS,
        rows=CONDITION_ROWS,
        write_key=keys[0] if keys else None,
        base_url=request.app.state.settings.base_url,
        identity=identity.status(workspace),
        new_secret=new_secret,
    )


@router.get("/settings/chat")
def chat_settings(
    request: Request, session: DbSession, console: ConsoleAdmin, edit: str = ""
) -> HTMLResponse:
    try:
        editing = uuid.UUID(edit) if edit else None
    except ValueError:
        editing = None
    return _settings_page(request, session, console, editing=editing)


@router.post("/settings/chat")
def save_chat_settings(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    try:
        with session.begin_nested():
            widget.save_chat_settings(
                session,
                console.principal.workspace_id,
                {
                    "title": str(form.get("title") or "Chat with us"),
                    "greeting": str(form.get("greeting") or ""),
                    "prechat": form.get("prechat") == "on",
                    "color": str(form.get("color") or "#4f46e5"),
                },
                actor=console.principal,
                expected_version=_version(form),
            )
    except AccordError as error:
        return _settings_page(request, session, console, error)
    return RedirectResponse("/settings/chat", status_code=303)


@router.post("/settings/chat/identity")
def chat_identity(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    """Generate (rotate) the identity-verification secret, shown once, or turn it off."""
    workspace_id, version = console.principal.workspace_id, _version(form)
    secret: str | None = None
    try:
        with session.begin_nested():
            if form.get("action") == "off":
                identity.turn_off(
                    session, workspace_id, actor=console.principal, expected_version=version
                )
            else:
                secret = identity.rotate(
                    session,
                    workspace_id,
                    request.app.state.settings.resolved_secret_key,
                    actor=console.principal,
                    expected_version=version,
                )
    except AccordError as error:
        return _settings_page(request, session, console, error)
    if secret is None:
        return RedirectResponse("/settings/chat#identity", status_code=303)
    response = _settings_page(request, session, console, new_secret=secret)
    response.headers["Cache-Control"] = "no-store"  # the secret is not kept anywhere
    return response


def _version(form: Any) -> int | None:
    """The settings version a form was rendered with (none: no check)."""
    raw = str(form.get("version") or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise AccordError("The form's version is not valid", "invalid", 422, "version") from None


def trigger_form(form: Any) -> dict[str, Any]:
    """The trigger editor's fields as the service takes them."""
    conditions = []
    for i in range(CONDITION_ROWS):
        fact = str(form.get(f"fact_{i}") or "").strip()
        if not fact:
            continue
        conditions.append(
            {
                "fact": fact,
                "op": str(form.get(f"op_{i}") or ""),
                "value": str(form.get(f"value_{i}") or ""),
            }
        )
    return {
        "name": form.get("name"),
        "enabled": form.get("enabled") == "on",
        "event": form.get("event"),
        "event_value": form.get("event_value") or "",
        "match": form.get("match") or "all",
        "conditions": conditions,
        "action": {
            "kind": form.get("action_kind"),
            "body": form.get("action_body") or None,
            "author": form.get("action_author") or None,
            "title": form.get("action_title") or None,
            "url": form.get("action_url") or None,
        },
        "max_per_visitor": form.get("max_per_visitor") or 1,
        "cap_hours": form.get("cap_hours") or 24,
        "holdout_percent": form.get("holdout_percent") or 0,
        "convert_days": form.get("convert_days") or 7,
        "position": form.get("position") or 0,
    }


@router.post("/settings/chat/triggers")
def save_trigger(
    request: Request, session: DbSession, console: ConsoleAdmin, form: FormBody
) -> Response:
    raw_id = str(form.get("trigger_id") or "")
    try:
        trigger_id = uuid.UUID(raw_id) if raw_id else None
    except ValueError:
        trigger_id = None
    try:
        with session.begin_nested():
            triggers.save(
                session,
                console.principal.workspace_id,
                trigger_form(form),
                trigger_id,
                actor=console.principal,
            )
    except AccordError as error:
        return _settings_page(request, session, console, error, editing=trigger_id)
    return RedirectResponse("/settings/chat#triggers", status_code=303)


@router.post("/settings/chat/triggers/{trigger_id}/delete")
def delete_trigger(session: DbSession, console: ConsoleAdmin, trigger_id: uuid.UUID) -> Response:
    triggers.delete(session, console.principal.workspace_id, trigger_id, actor=console.principal)
    return RedirectResponse("/settings/chat#triggers", status_code=303)
