"""Customers: the searchable list and the Customer 360 page."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.customers import queries, service
from accord.customers.context import context_of
from accord.govern.access import service as access
from accord.govern.access.scopes import Scope
from accord.inbox import queries as inbox_queries
from accord.kit.deps import DbSession
from accord.kit.errors import forbidden
from accord.profile.queries import live_profile
from accord.web.auth import ConsoleUser
from accord.web.pages import page

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
TIMELINE_PAGE = 25


@router.get("/customers")
def customers(
    request: Request, session: DbSession, console: ConsoleUser, q: str | None = None, p: int = 1
) -> HTMLResponse:
    console.principal.require(Scope.PROFILES_READ)
    workspace_id = console.principal.workspace_id
    page_no = max(p, 1)
    rows = queries.search(
        session, workspace_id, q, limit=PAGE_SIZE + 1, offset=(page_no - 1) * PAGE_SIZE
    )
    keys = [k for k in access.list_keys(session, workspace_id) if k.write_key]
    return page(
        request,
        session,
        console,
        "customers.html",
        "customers",
        profiles=rows[:PAGE_SIZE],
        more=len(rows) > PAGE_SIZE,
        page_no=page_no,
        q=q or "",
        total=queries.count(session, workspace_id),
        write_keys=keys,
    )


@router.get("/customers/{profile_id}")
def customer(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    profile_id: uuid.UUID,
    cursor: str | None = None,
    channel: str | None = None,
    undone: str | None = None,
) -> Response:
    console.principal.require(Scope.PROFILES_READ)
    workspace_id = console.principal.workspace_id
    profile = live_profile(session, workspace_id, profile_id)
    if profile.id != profile_id:
        return RedirectResponse(f"/customers/{profile.id}", status_code=303)
    timeline = queries.timeline(
        session,
        profile,
        limit=TIMELINE_PAGE,
        cursor=cursor,
        types=None,
        channels=[channel] if channel else None,
        name=None,
    )
    if request.headers.get("hx-request") and cursor:
        templates = request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(
            request,
            "customer_timeline.html",
            {"timeline": timeline, "profile": profile, "channel": channel},
        )
        return response
    ctx = context_of(session, profile, orders=10)
    view = queries.view(ctx)
    merges = service.history(session, workspace_id, profile.id)
    conversations = []
    if console.principal.has(Scope.CONVERSATIONS_READ):
        conversations = inbox_queries.conversations_of(session, workspace_id, profile.id, limit=20)
    return page(
        request,
        session,
        console,
        "customer.html",
        "customers",
        profile=profile,
        view=view,
        timeline=timeline,
        channel=channel,
        orders=ctx.orders,
        merges=merges,
        conversations=conversations,
        can_split=console.principal.has(Scope.PROFILES_WRITE),
        undone=next((e for e in merges if str(e.merge.id) == undone), None),
    )


@router.post("/customers/{profile_id}/split")
def split(
    session: DbSession,
    console: ConsoleUser,
    profile_id: uuid.UUID,
    merge_id: Annotated[uuid.UUID, Form()],
) -> Response:
    if not console.principal.has(Scope.PROFILES_WRITE):
        raise forbidden("Your role cannot split profiles", code="insufficient_scope")
    profile = live_profile(session, console.principal.workspace_id, profile_id)
    merge = service.undo_merge(session, console.principal, profile.id, merge_id)
    return RedirectResponse(f"/customers/{profile.id}?undone={merge.id}", status_code=303)
