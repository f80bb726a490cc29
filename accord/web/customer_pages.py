"""Customers: the searchable list and the Customer 360 page, with what the customer
allows (consent) and the form where an agent records what they asked for."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.customers import queries, service
from accord.customers.context import context_of
from accord.govern.access import service as access
from accord.govern.access.scopes import Scope
from accord.govern.audit import access as access_log
from accord.govern.consent import rules as consent_rules
from accord.govern.consent import service as consent
from accord.inbox import queries as inbox_queries
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, forbidden, invalid
from accord.privacy.subject import person_ids
from accord.profile.models import Profile
from accord.profile.queries import live_profile
from accord.web.acquisition_pages import person_acquisition
from accord.web.auth import Console, ConsoleUser
from accord.web.community_console_pages import person_community
from accord.web.consent_pages import preference_link
from accord.web.customer_analytics_pages import person_scores
from accord.web.outreach_journeys import person_journeys
from accord.web.outreach_pages import person_messages
from accord.web.pages import page
from accord.web.segment_pages import person_segments
from accord.web.social_cards import person_mentions

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
TIMELINE_PAGE = 25
# What an agent may record for a customer: what the customer said, never "pending".
AGENT_STATUSES = (consent_rules.GRANTED, consent_rules.DENIED, consent_rules.WITHDRAWN)


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
    consent_saved: Annotated[str | None, Query(alias="consent")] = None,
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
    access_log.record(session, console.principal, profile.id, "view", via="console")
    return _customer_page(
        request,
        session,
        console,
        profile,
        timeline=timeline,
        channel=channel,
        undone=undone,
        recorded=consent_saved == "recorded",
    )


def _customer_page(
    request: Request,
    session: DbSession,
    console: Console,
    profile: Profile,
    *,
    timeline: object = None,
    channel: str | None = None,
    undone: str | None = None,
    recorded: bool = False,
    consent_error: AccordError | None = None,
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    """The Customer 360; ``consent_error`` and ``draft``: a refused consent form, shown
    again beside its fields with what was typed."""
    workspace_id = console.principal.workspace_id
    if timeline is None:
        timeline = queries.timeline(
            session, profile, limit=TIMELINE_PAGE, cursor=None, types=None, channels=None, name=None
        )
    ctx = context_of(session, profile, orders=10, with_consent=True)
    view = queries.view(ctx)
    merges = service.history(session, workspace_id, profile.id)
    conversations = []
    if console.principal.has(Scope.CONVERSATIONS_READ):
        conversations = inbox_queries.conversations_of(session, workspace_id, profile.id, limit=20)
    can_record = console.principal.has(Scope.PROFILES_WRITE)
    accessed = []
    if console.is_admin:  # who looked at this person: admins only
        people = person_ids(session, workspace_id, profile.id)
        accessed = access_log.of_person(session, workspace_id, people, limit=10)
    return page(
        request,
        session,
        console,
        "customer.html",
        "customers",
        status_code=consent_error.status if consent_error else 200,
        profile=profile,
        view=view,
        timeline=timeline,
        channel=channel,
        orders=ctx.orders,
        merges=merges,
        conversations=conversations,
        can_split=can_record,
        undone=next((e for e in merges if str(e.merge.id) == undone), None),
        accessed=accessed,
        consent=ctx.consent,
        consent_rules=consent_rules,
        can_record=can_record,
        agent_statuses=AGENT_STATUSES,
        recorded=recorded,
        consent_error=consent_error,
        draft=draft or {},
        preference_link=(
            preference_link(request, workspace_id, profile.id) if can_record else None
        ),
        segments=person_segments(request, session, console, profile.id),
        scores=person_scores(session, console, profile.id),
        acquisition=person_acquisition(session, console, profile.id),
        messages=person_messages(session, console, profile.id),
        journeys=person_journeys(session, console, profile.id),
        community=person_community(
            session, console, [i.value for i in view.identifiers if i.type == "email"]
        ),
        social=person_mentions(session, console, profile.id),
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


@router.post("/customers/{profile_id}/consent")
def record_consent(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    profile_id: uuid.UUID,
    channel: Annotated[str, Form()] = "",
    purpose: Annotated[str, Form()] = "",
    status: Annotated[str, Form()] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """An agent records what the customer asked for (on a call, in a chat, by letter),
    with the reason; the record names the agent. Analysts read only."""
    if not console.principal.has(Scope.PROFILES_WRITE):
        raise forbidden("Your role cannot record consent", code="insufficient_scope")
    profile = live_profile(session, console.principal.workspace_id, profile_id)
    user = console.identity.user
    try:
        if status not in AGENT_STATUSES:
            raise invalid("Choose granted, denied or withdrawn", field="status")
        if not reason.strip():
            raise invalid("Say why: what the customer asked for, and how", field="reason")
        with session.begin_nested():
            consent.record(
                session,
                profile.workspace_id,
                profile.id,
                channel=channel,
                purpose=purpose,
                status=status,
                source="agent",
                recorded_by=f"{user.name} <{user.email}>" if user.name else user.email,
                reason=reason.strip(),
            )
    except AccordError as error:
        draft = {"channel": channel, "purpose": purpose, "status": status, "reason": reason}
        return _customer_page(request, session, console, profile, consent_error=error, draft=draft)
    return RedirectResponse(f"/customers/{profile.id}?consent=recorded#consent", status_code=303)
