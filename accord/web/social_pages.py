"""Social: the listening dashboard, the triage queue and the stream of mentions.

- ``/social``: headline figures of a window of 7, 30 or 90 days (mentions, negative
  share, response rate, median first response, within SLA, overdue), the alerts of a
  brewing crisis, charts with their data tables (volume by day stacked by sentiment, the
  average sentiment score by day, share of voice, networks), top authors (linked to their
  Customer 360 when known), topics, decisions and intents, and the most pressing
  mentions to respond to.
- ``/social/queue``: every mention to respond to that nobody has answered, the most
  pressing (the nearest deadline) first, overdue ones marked.
- ``/social/mentions``: every mention, newest first, filtered by decision, sentiment,
  network and state, with "load more" paging.

On each mention card an agent (or admin) decides respond, wait or dismiss, with an
optional reason, through ``accord.social.service.decide_by_hand``; the card is replaced
in place (HTMX) with its new decision. Analysts read everything and change nothing."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.customers.queries import decode_cursor, encode_cursor
from accord.govern.access.scopes import Scope
from accord.govern.workspaces.service import get_workspace
from accord.inbox.deps import inbox_context
from accord.inbox.models import Conversation
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid, not_found
from accord.kit.time import utcnow
from accord.social import metrics, queries
from accord.social.service import SocialContext, decide_by_hand, mark_answered
from accord.social.settings import LISTENING
from accord.web.auth import Console, ConsoleUser
from accord.web.charts import chart_export
from accord.web.pages import page, safe_next
from accord.web.social_cards import (
    DECISIONS,
    INTENTS,
    NETWORKS,
    STATES,
    MentionView,
    compact,
    network_label,
    view,
    views,
)
from accord.web.social_charts import charts_of, figures, percent

router = APIRouter(prefix="/social", include_in_schema=False)

AREA = "social"
WINDOWS = (7, 30, 90)
PAGE = 25
QUEUE = 100
PRESSING = 5
SENTIMENTS = ("positive", "neutral", "negative")
NETWORK = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,31}$")
TABS = (
    ("dashboard", "/social", "Dashboard"),
    ("queue", "/social/queue", "Queue"),
    ("mentions", "/social/mentions", "Mentions"),
)


def _reader(console: Console) -> None:
    console.principal.require(Scope.CONVERSATIONS_READ)


def _frame(session: Session, console: Console, tab: str) -> dict[str, Any]:
    """What every Social page shares: its tabs, whether the user may decide, and the
    currency customers' lifetime values are in."""
    workspace = get_workspace(session, console.principal.workspace_id)
    return {
        "tab": tab,
        "tabs": TABS,
        "can_decide": console.principal.has(Scope.CONVERSATIONS_WRITE),
        "decisions": DECISIONS,
        "currency": LISTENING.read(workspace).currency,
    }


# --- the dashboard --------------------------------------------------------------------------


@router.get("")
def dashboard(
    request: Request, session: DbSession, console: ConsoleUser, days: str = "30"
) -> Response:
    """The listening dashboard of the last ``days`` (7, 30 or 90; else 30)."""
    _reader(console)
    window = int(days) if days.isdigit() and int(days) in WINDOWS else 30
    workspace = get_workspace(session, console.principal.workspace_id)
    found = metrics.compute(session, workspace, days=window)
    charts = charts_of(found)
    exported = chart_export(request, charts)
    if exported is not None:
        return exported
    now = utcnow()
    pressing = queries.queue(session, workspace.id, PRESSING)
    return page(
        request,
        session,
        console,
        "social/dashboard.html",
        AREA,
        **_frame(session, console, "dashboard"),
        days=window,
        windows=WINDOWS,
        m=found,
        figures=figures(found),
        charts={c.key: c for c in charts},
        pressing=views(pressing, now),
        percent=percent,
        intent_total=sum(found.intents.values()) or 1,
        intent_label=lambda kind: INTENTS.get(kind, kind),
        network_label=network_label,
        compact=compact,
    )


# --- the queue and the stream -----------------------------------------------------------------


@router.get("/queue")
def queue(request: Request, session: DbSession, console: ConsoleUser) -> HTMLResponse:
    """Mentions to respond to that nobody has answered, the nearest deadline first."""
    _reader(console)
    now = utcnow()
    rows = views(queries.queue(session, console.principal.workspace_id, QUEUE), now)
    return page(
        request,
        session,
        console,
        "social/queue.html",
        AREA,
        **_frame(session, console, "queue"),
        cards=rows,
        overdue=sum(1 for v in rows if v.overdue),
        back="/social/queue",
        full=len(rows) >= QUEUE,
    )


def _filters(decision: str, sentiment: str, network: str, state: str) -> dict[str, str]:
    """The stream's filters, each kept only when it is one the page offers."""
    return {
        "decision": decision if decision in DECISIONS else "",
        "sentiment": sentiment if sentiment in SENTIMENTS else "",
        "network": network if NETWORK.match(network or "") else "",
        "state": state if state in STATES else "",
    }


@router.get("/mentions")
def stream(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    decision: str = "",
    sentiment: str = "",
    network: str = "",
    state: str = "",
    cursor: str = "",
) -> HTMLResponse:
    """Every mention, newest first, filtered; an HTMX request for the next page (the
    "load more" button) gets only the cards and the next button."""
    _reader(console)
    chosen = _filters(decision, sentiment, network, state)
    rows = queries.mentions(
        session,
        console.principal.workspace_id,
        decision=chosen["decision"] or None,
        sentiment=chosen["sentiment"] or None,
        network=chosen["network"] or None,
        state=chosen["state"] or None,
        limit=PAGE + 1,
        before=decode_cursor(cursor[:200]) if cursor else None,
    )
    cards = views(rows[:PAGE])
    more = encode_cursor(cards[-1].m.posted_at, cards[-1].m.id) if len(rows) > PAGE else None
    query = "&".join(f"{k}={v}" for k, v in chosen.items() if v)
    here = "/social/mentions" + (f"?{query}" if query else "")
    context: dict[str, Any] = {
        **_frame(session, console, "mentions"),
        "cards": cards,
        "more": more,
        "more_url": f"/social/mentions?{query + '&' if query else ''}cursor={more}" if more else "",
        "back": here,
        "csrf_token": console.csrf_token,
    }
    if request.headers.get("hx-request") and cursor:
        templates = request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(request, "social/_more.html", context)
        return response
    known = [n for n in NETWORKS if n not in ("webhook", "import")]
    if chosen["network"] and chosen["network"] not in known:
        known.append(chosen["network"])
    return page(
        request,
        session,
        console,
        "social/mentions.html",
        AREA,
        **context,
        filters=chosen,
        filtered=any(chosen.values()),
        networks=known,
        network_label=network_label,
        sentiments=SENTIMENTS,
        states=STATES,
    )


@router.get("/mentions/{mention_id}")
def mention_page(
    request: Request, session: DbSession, console: ConsoleUser, mention_id: uuid.UUID
) -> HTMLResponse:
    """One mention: its card, with the whole text, engagement and links."""
    _reader(console)
    row = queries.mention(session, console.principal.workspace_id, mention_id)
    return page(
        request,
        session,
        console,
        "social/mention.html",
        AREA,
        **_frame(session, console, "mentions"),
        v=view(row),
        back=f"/social/mentions/{row.id}",
    )


@router.get("/mentions/{mention_id}/conversation")
def mention_conversation(
    session: DbSession, console: ConsoleUser, mention_id: uuid.UUID
) -> Response:
    """The inbox conversation a mention to respond to became."""
    _reader(console)
    row = queries.mention(session, console.principal.workspace_id, mention_id)
    conversation = session.get(Conversation, row.conversation_id) if row.conversation_id else None
    if conversation is None or conversation.workspace_id != row.workspace_id:
        raise not_found("Conversation", field="mention_id")
    return RedirectResponse(f"/inbox/{conversation.number}", status_code=303)


# --- a person's decision over triage ----------------------------------------------------------

DONE = {
    "respond": "Moved to respond: it is in the queue and its conversation is in the inbox.",
    "wait": "Set to wait: it comes back if the author posts again or the post draws more "
    "people in.",
    "dismiss": "Dismissed: nothing to answer.",
    "answered": "Marked answered outside Accord (on the network's own app or the site): its "
    "response time counts.",
}
ANSWERED = "answered"  # not a decision: an answer given outside Accord


def _decide(
    request: Request,
    session: Session,
    console: Console,
    mention_id: uuid.UUID,
    decision: str,
    reason: str,
) -> MentionView:
    row = queries.mention(session, console.principal.workspace_id, mention_id)
    user = console.identity.user
    try:
        if decision not in DECISIONS and decision != ANSWERED:
            raise invalid("Choose respond, wait or dismiss", field="decision")
        if len(reason) > 300:
            raise invalid("A reason holds at most 300 characters", field="reason")
        with session.begin_nested():
            if decision == ANSWERED:
                mark_answered(session, row, who=user.name or user.email)
            else:
                ctx = SocialContext.of(
                    inbox_context(request, session, console.principal.workspace_id)
                )
                decide_by_hand(
                    session, ctx, row, decision, who=user.name or user.email, why=reason.strip()
                )
    except AccordError as error:
        session.refresh(row)
        card = view(row)
        card.error = error.message
        return card
    card = view(row)
    card.notice = DONE[decision]
    return card


@router.post("/mentions/{mention_id}/decision")
def decide(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    mention_id: uuid.UUID,
    decision: Annotated[str, Form(max_length=20)] = "",
    reason: Annotated[str, Form(max_length=1000)] = "",
    back: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Respond, wait or dismiss, by hand, or record an answer given outside Accord
    (``answered``). HTMX gets the mention's card back (replaced in place); a plain form
    goes back to the page it came from."""
    _reader(console)
    console.principal.require(Scope.CONVERSATIONS_WRITE)
    card = _decide(request, session, console, mention_id, decision, reason)
    if request.headers.get("hx-request"):
        templates = request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(
            request,
            "social/_mention.html",
            {
                **_frame(session, console, ""),
                "v": card,
                "back": safe_next(back),
                "csrf_token": console.csrf_token,
            },
            status_code=422 if card.error else 200,
        )
        return response
    return RedirectResponse(safe_next(back or f"/social/mentions/{mention_id}"), status_code=303)
