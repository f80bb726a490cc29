"""The customer's side of a satisfaction survey: a public page reached from the survey
email's signed link, where the score is confirmed and a comment added."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse

from accord.inbox import csat
from accord.inbox.deps import inbox_context
from accord.inbox.models import Conversation
from accord.kit.deps import DbSession

router = APIRouter(include_in_schema=False)


def _conversation(
    request: Request, session: DbSession, conversation_id: uuid.UUID, t: str
) -> Conversation:
    secret_key = request.app.state.settings.resolved_secret_key
    return csat.surveyed(session, secret_key, conversation_id, t)


def _render(
    request: Request, conversation: Conversation, t: str, score: int | None, done: bool
) -> HTMLResponse:
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        "csat.html",
        {"c": conversation, "t": t, "score": score, "scores": csat.SCORES, "done": done},
    )
    return response


@router.get("/csat/{conversation_id}")
def survey(
    request: Request,
    session: DbSession,
    conversation_id: uuid.UUID,
    t: str = "",
    score: int | None = None,
) -> HTMLResponse:
    # Nothing is recorded on GET (mail scanners follow links); the page confirms the
    # score chosen in the email and asks for a comment.
    conversation = _conversation(request, session, conversation_id, t)
    return _render(request, conversation, t, score or conversation.csat_score, done=False)


@router.post("/csat/{conversation_id}")
def answer(
    request: Request,
    session: DbSession,
    conversation_id: uuid.UUID,
    t: Annotated[str, Form()],
    score: Annotated[int, Form()],
    comment: Annotated[str, Form()] = "",
) -> HTMLResponse:
    conversation = _conversation(request, session, conversation_id, t)
    csat.record(
        session,
        inbox_context(request, session, conversation.workspace_id),
        conversation,
        score,
        comment,
    )
    return _render(request, conversation, t, score, done=True)
