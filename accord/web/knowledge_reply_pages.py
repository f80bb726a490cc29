"""The knowledge base beside the reply box: an agent finds an article as they type (the
agents-only ones too) and puts its link or its text into the reply; a reply that
answered well becomes a draft article in one step (``Make an article`` on the message)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from accord.govern.access.scopes import Scope
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter import replies
from accord.inbox import queries
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, not_found
from accord.web.auth import ConsoleUser

router = APIRouter(prefix="/knowledge", include_in_schema=False)


@router.get("/picker", response_class=HTMLResponse)
def picker(request: Request, session: DbSession, console: ConsoleUser, q: str = "") -> Response:
    """The articles for the words typed in the reply box's article search (HTML for
    htmx)."""
    console.principal.require(Scope.CONVERSATIONS_WRITE)
    workspace = get_workspace(session, console.principal.workspace_id)
    found = replies.find(session, workspace, q[:200])
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request, "knowledge/picker.html", {"found": found, "q": q}
    )
    return response


@router.get("/picker/{article_id}")
def picked(
    request: Request, session: DbSession, console: ConsoleUser, article_id: uuid.UUID
) -> JSONResponse:
    """An article's title, public link (none for an agents-only one) and text, to put
    into a reply."""
    console.principal.require(Scope.CONVERSATIONS_WRITE)
    workspace = get_workspace(session, console.principal.workspace_id)
    base_url = request.app.state.settings.base_url
    chosen = replies.insert(session, workspace, article_id, base_url)
    return JSONResponse({"title": chosen.title, "url": chosen.url, "text": chosen.text})


def _personal(view: queries.ConversationView) -> list[str]:
    """What names the customer in the conversation: their name (and its parts) and the
    addresses they wrote from."""
    found: list[str] = []
    names: list[Any] = [view.conversation.contact_name]
    if view.person is not None:
        traits = view.person.traits or {}
        names += [traits.get(k) for k in ("name", "first_name", "firstName", "last_name")]
        names += [traits.get(k) for k in ("lastName", "email")]
    for name in names:
        if isinstance(name, str) and name.strip():
            found.append(name.strip())
            found += name.split()
    found += [m.address for m in view.thread if m.direction == "in" and m.address]
    return found


@router.post("/from-reply")
def from_reply(
    session: DbSession,
    console: ConsoleUser,
    number: Annotated[int, Form(ge=1, le=2**31 - 1)],
    message_id: Annotated[uuid.UUID, Form()],
) -> Response:
    """A draft article from an agent's reply: the conversation's subject (or the
    customer's question) as the title, the reply without what was personal as the text;
    the editor opens on it."""
    if not console.principal.has(Scope.KNOWLEDGE_WRITE):
        raise AccordError("Your role cannot write articles", "forbidden", 403)
    workspace_id = console.principal.workspace_id
    conversation = queries.by_number(session, workspace_id, number)
    view = queries.conversation_view(session, conversation)
    message = next((m for m in view.thread if m.id == message_id), None)
    if message is None or message.direction != "out":
        raise not_found("Reply", field="message_id")
    asked = [m for m in view.thread if m.direction == "in" and m.created_at <= message.created_at]
    draft = replies.draft_from_reply(
        session,
        console.principal,
        subject=conversation.subject or "",
        question=asked[-1].body if asked else "",
        reply=message.body,
        personal=_personal(view),
    )
    return RedirectResponse(f"/knowledge/{draft.article.id}?notice=from_reply", status_code=303)
