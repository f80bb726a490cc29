"""Customers: the possible-duplicates review queue and the households."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.govern.access.scopes import Scope
from accord.kit.deps import DbSession
from accord.kit.errors import forbidden
from accord.match import queries, service
from accord.web.auth import ConsoleUser
from accord.web.pages import page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 20
FIELD_LABELS = {
    "first_name": "First name",
    "last_name": "Last name",
    "dob": "Date of birth",
    "address": "Address",
    "email": "Email",
    "phone": "Phone",
}


@router.get("/customers/duplicates")
def duplicates(
    request: Request, session: DbSession, console: ConsoleUser, p: int = 1
) -> HTMLResponse:
    console.principal.require(Scope.PROFILES_READ)
    workspace_id = console.principal.workspace_id
    page_no = max(p, 1)
    rows = queries.candidates(
        session, workspace_id, "pending", limit=PAGE_SIZE + 1, offset=(page_no - 1) * PAGE_SIZE
    )
    return page(
        request,
        session,
        console,
        "match/duplicates.html",
        "customers",
        tab="duplicates",
        candidates=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page_no=page_no,
        pending=queries.pending_duplicates(session, workspace_id),
        field_labels=FIELD_LABELS,
        can_decide=console.principal.has(Scope.PROFILES_WRITE),
    )


@router.post("/customers/duplicates/{candidate_id}/{decision}")
def decide(
    session: DbSession, console: ConsoleUser, candidate_id: uuid.UUID, decision: str
) -> Response:
    if not console.principal.has(Scope.PROFILES_WRITE):
        raise forbidden("Your role cannot merge or separate profiles", code="insufficient_scope")
    workspace_id = console.principal.workspace_id
    if decision == "accept":
        service.accept(session, workspace_id, candidate_id, actor=console.principal.label)
    elif decision == "reject":
        service.reject(session, workspace_id, candidate_id, actor=console.principal.label)
    else:
        raise forbidden("Unknown decision", code="not_found")
    return RedirectResponse("/customers/duplicates", status_code=303)


@router.get("/customers/households")
def households(request: Request, session: DbSession, console: ConsoleUser) -> HTMLResponse:
    console.principal.require(Scope.PROFILES_READ)
    workspace_id = console.principal.workspace_id
    return page(
        request,
        session,
        console,
        "match/households.html",
        "customers",
        tab="households",
        households=queries.households(session, workspace_id),
        pending=queries.pending_duplicates(session, workspace_id),
    )
