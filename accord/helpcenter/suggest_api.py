"""/v1/help/suggestions: answers before an agent, for the chat widget and the contact
form on the business's own site (write key, any origin): the articles that may answer the
question being typed, then what came of them (answered, or sent anyway)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from accord.govern.access.writekeys import CORS_HEADERS, authenticate_sender
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter import service, suggestions
from accord.helpcenter.replies import public_url
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid, unauthorized
from accord.kit.ratelimit import HELP_SUGGESTIONS_PER_ADDRESS, client_address, limiter_of

router = APIRouter(prefix="/v1/help", tags=["help center"])
HEADERS = {**CORS_HEADERS, "Access-Control-Allow-Methods": "GET, POST, OPTIONS"}


def _workspace(request: Request, session: DbSession, write_key: str | None) -> Workspace:
    """The write key's workspace (from ``Authorization: Bearer`` or ``writeKey``), after
    the address's rate limit; a refusal a page on another site can read."""
    try:
        limiter_of(request).check(HELP_SUGGESTIONS_PER_ADDRESS, client_address(request))
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        key = value.strip() if scheme.lower() == "bearer" and value.strip() else write_key
        if not key:
            raise unauthorized("Send the write key (writeKey)")
        return get_workspace(session, authenticate_sender(request, key).workspace_id)
    except AccordError as error:
        error.headers = {**error.headers, **HEADERS}
        raise


@router.get(
    "/suggestions",
    summary="Articles that may answer the question being typed (write key; any origin)",
)
def suggested(
    request: Request,
    session: DbSession,
    q: Annotated[str, Query(max_length=500)] = "",
    visitor: Annotated[str, Query(max_length=64)] = "",
    source: Literal["widget", "form"] = "widget",
    lang: Annotated[str | None, Query(max_length=16)] = None,
    writeKey: Annotated[str | None, Query(max_length=200)] = None,
) -> Response:
    workspace = _workspace(request, session, writeKey)
    found = suggestions.suggest(session, workspace, q, reader=visitor, source=source, locale=lang)
    base = request.app.state.settings.base_url
    default = service.settings_of(workspace).default_locale
    body = {
        "visit": str(found.visit_id) if found.visit_id else None,
        "articles": [
            {
                "id": str(f.article_id),
                "title": f.title,
                "excerpt": f.excerpt,
                "url": public_url(base, workspace, f.slug)
                + ("" if f.locale == default else f"?lang={f.locale}"),
            }
            for f in found.found
        ],
    }
    return JSONResponse(body, headers={**HEADERS, "cache-control": "no-store"})


class OutcomeIn(BaseModel):
    """What the customer did after the suggestions: ``answered`` (one answered the
    question; nothing is sent) or ``contacted`` (sent anyway; ``question``: what they
    asked, kept among the searches that led to a contact)."""

    model_config = ConfigDict(extra="ignore")

    writeKey: str | None = Field(None, max_length=200)
    visit: uuid.UUID | None = None
    outcome: Literal["answered", "contacted"] | None = None
    question: str = Field("", max_length=500)
    lang: str | None = Field(None, max_length=16)


@router.post(
    "/suggestions/outcome",
    status_code=204,
    summary="A suggestion answered the question, or the customer sent it anyway",
)
def outcome(
    request: Request, session: DbSession, body: Annotated[OutcomeIn | None, Body()] = None
) -> Response:
    body = body or OutcomeIn()
    workspace = _workspace(request, session, body.writeKey)
    try:
        if body.visit is None:
            raise invalid("Send the visit the suggestions came with", field="visit")
        if body.outcome is None:
            raise invalid("Send the outcome: answered or contacted", field="outcome")
        suggestions.outcome(
            session,
            workspace,
            body.visit,
            answered=body.outcome == "answered",
            question=body.question,
            locale=body.lang,
        )
    except AccordError as error:
        error.headers = {**error.headers, **HEADERS}
        raise
    return Response(status_code=204, headers=HEADERS)
