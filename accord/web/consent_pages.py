"""The customer's side of consent: public pages reached from the signed links in our
emails, with no sign-in and no script needed. The preference center (what they hear
about, on which channel), the unsubscribe page with its RFC 8058 one-click POST (a
mailbox provider posts ``List-Unsubscribe=One-Click``, without cookies) and the
confirmation of a double opt-in. Nothing is recorded on GET: mail scanners follow
links, so every change is a form POST. A link that was altered, or is of another kind,
gets a 403 page in the customer's words."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.channels.notices import send_confirmation
from accord.customers import preferences
from accord.customers.preferences import Evidence, Topic
from accord.govern.consent import links, rules
from accord.govern.consent import service as consent
from accord.govern.consent.policy import may_contact
from accord.govern.workspaces.models import Workspace
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError
from accord.profile.models import Profile

router = APIRouter(include_in_schema=False)

# Personal pages behind a secret link: never cached, never indexed.
PRIVATE = {"cache-control": "no-store", "x-robots-tag": "noindex, nofollow"}
STOP_ALL = "stop_all"
ONE_CLICK = "one-click"


@dataclass(frozen=True)
class Group:
    """One purpose of the preference center, with its channels."""

    purpose: str
    label: str
    topics: list[Topic]


def _secret(request: Request) -> str:
    return str(request.app.state.settings.resolved_secret_key)


def _evidence(request: Request) -> Evidence:
    return Evidence(
        ip=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


def _open(
    request: Request, session: Session, token: str, kind: str
) -> tuple[links.Link, Workspace, Profile]:
    """The link a token names (403 when altered) and the person it is for (404 when
    they are gone)."""
    link = links.read(_secret(request), token, kind)
    workspace, person = preferences.person_of_link(session, link)
    return link, workspace, person


def _preferences_path(request: Request, workspace: Workspace, person: Profile) -> str:
    """The person's preference center on this site (a relative address)."""
    return preferences.preference_url("", _secret(request), workspace.id, person.id)


def _render(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request,
        f"consent/{template}",
        {"purpose_labels": rules.PURPOSE_LABELS, "channel_labels": rules.CHANNEL_LABELS, **context},
        status_code=status_code,
        headers=PRIVATE,
    )
    return response


def _problem(request: Request, error: AccordError) -> HTMLResponse:
    """A link that does not work, in the customer's words."""
    return _render(request, "problem.html", status_code=error.status, error=error)


def _groups(topics: list[Topic]) -> list[Group]:
    out: dict[str, Group] = {}
    for topic in topics:
        group = out.setdefault(topic.purpose, Group(topic.purpose, topic.label, []))
        group.topics.append(topic)
    return list(out.values())


# --- the preference center ---------------------------------------------------------------


@router.get("/preferences/{token}")
def preference_center(
    request: Request, session: DbSession, token: str, saved: str = "", mail: str = ""
) -> Response:
    try:
        _, workspace, person = _open(request, session, token, links.PREFERENCES)
    except AccordError as error:
        return _problem(request, error)
    topics = preferences.topics(session, workspace, person)
    return _render(
        request,
        "preferences.html",
        workspace=workspace,
        person=person,
        token=token,
        groups=_groups(topics),
        saved=saved if saved in ("1", STOP_ALL) else "",
        mail=mail,
        service_label=rules.PURPOSE_LABELS["service"],
    )


@router.post("/preferences/{token}")
def save_preferences(
    request: Request,
    session: DbSession,
    token: str,
    choice: Annotated[list[str] | None, Form()] = None,
    action: Annotated[str, Form()] = "save",
) -> Response:
    try:
        _, workspace, person = _open(request, session, token, links.PREFERENCES)
    except AccordError as error:
        return _problem(request, error)
    chosen = set() if action == STOP_ALL else set(choice or [])
    applied = preferences.apply_choices(session, workspace, person, chosen, _evidence(request))
    query = {"saved": STOP_ALL if action == STOP_ALL else "1"}
    if applied.to_confirm:
        query["mail"] = _ask_to_confirm(request, session, workspace, person, applied.to_confirm)
    return RedirectResponse(f"/preferences/{token}?{urlencode(query)}", status_code=303)


def _ask_to_confirm(
    request: Request,
    session: Session,
    workspace: Workspace,
    person: Profile,
    pending: list[Any],
) -> str:
    """Send the double opt-in email for each grant that waits for it; what the page says
    about it: sent, failed (no outbound mail, or the address may not be written to) or
    no_address. The grant stays pending either way."""
    if not person.email:
        return "no_address"
    settings = request.app.state.settings
    try:
        for row in pending:
            send_confirmation(
                session,
                workspace,
                person,
                row,
                to=person.email,
                secret_key=settings.resolved_secret_key,
                base_url=settings.base_url,
            )
    except AccordError:
        return "failed"
    return "sent"


# --- unsubscribe -------------------------------------------------------------------------


def _topic_words(link: links.Link) -> tuple[str, str]:
    purpose = rules.PURPOSE_LABELS.get(link.purpose, link.purpose.replace("_", " "))
    channel = rules.CHANNEL_LABELS.get(link.channel, link.channel)
    return purpose[:1].lower() + purpose[1:], channel[:1].lower() + channel[1:]


def _refused(session: Session, workspace: Workspace, person: Profile, link: links.Link) -> bool:
    """Whether the person already refuses what the link names (nothing left to do)."""
    if link.channel not in rules.CHANNELS or link.purpose not in rules.PURPOSES:
        return False
    decision = may_contact(session, workspace, person, link.channel, link.purpose)
    return not decision.allowed and decision.status in rules.REFUSING


@router.get("/unsubscribe/{token}")
def unsubscribe_page(request: Request, session: DbSession, token: str) -> Response:
    try:
        link, workspace, person = _open(request, session, token, links.UNSUBSCRIBE)
    except AccordError as error:
        return _problem(request, error)
    purpose, channel = _topic_words(link)
    return _render(
        request,
        "unsubscribe.html",
        workspace=workspace,
        token=token,
        purpose=purpose,
        channel=channel,
        done=False,
        already=_refused(session, workspace, person, link),
        preferences_path=_preferences_path(request, workspace, person),
    )


@router.post("/unsubscribe/{token}")
def unsubscribe(
    request: Request,
    session: DbSession,
    token: str,
    list_unsubscribe: Annotated[str, Form(alias="List-Unsubscribe")] = "",
) -> Response:
    """The button of the page, or a mailbox provider's one-click POST (RFC 8058): a
    ``List-Unsubscribe=One-Click`` form body, no cookies; answered 200 either way."""
    try:
        link, workspace, person = _open(request, session, token, links.UNSUBSCRIBE)
    except AccordError as error:
        return _problem(request, error)
    one_click = list_unsubscribe.strip().lower() == ONE_CLICK
    preferences.unsubscribe(
        session, _secret(request), token, _evidence(request), one_click=one_click
    )
    purpose, channel = _topic_words(link)
    return _render(
        request,
        "unsubscribe.html",
        workspace=workspace,
        token=token,
        purpose=purpose,
        channel=channel,
        done=True,
        already=False,
        preferences_path=_preferences_path(request, workspace, person),
    )


# --- double opt-in -----------------------------------------------------------------------


def _state_of(session: Session, person: Profile, link: links.Link) -> str | None:
    for state in consent.states(session, person.id):
        if (state.channel, state.purpose) == (link.channel, link.purpose):
            return state.status
    return None


def _confirm_page(
    request: Request,
    session: Session,
    token: str,
    link: links.Link,
    workspace: Workspace,
    person: Profile,
    outcome: str,
) -> HTMLResponse:
    purpose, channel = _topic_words(link)
    return _render(
        request,
        "confirm.html",
        workspace=workspace,
        token=token,
        purpose=purpose,
        channel=channel,
        outcome=outcome,
        preferences_path=_preferences_path(request, workspace, person),
    )


def _outcome(status: str | None) -> str:
    """What a confirmation link finds: waiting for the click, already confirmed, or no
    longer asked for (the customer changed their mind since)."""
    if status == rules.PENDING:
        return "ask"
    return "already" if status == rules.GRANTED else "gone"


@router.get("/consent/confirm/{token}")
def confirm_page(request: Request, session: DbSession, token: str) -> Response:
    # The email's link opens a page with one button: a mail scanner that follows the
    # link confirms nothing.
    try:
        link, workspace, person = _open(request, session, token, links.CONFIRM)
    except AccordError as error:
        return _problem(request, error)
    outcome = _outcome(_state_of(session, person, link))
    return _confirm_page(request, session, token, link, workspace, person, outcome)


@router.post("/consent/confirm/{token}")
def confirm(request: Request, session: DbSession, token: str) -> Response:
    try:
        link, workspace, person = _open(request, session, token, links.CONFIRM)
    except AccordError as error:
        return _problem(request, error)
    _, row = preferences.confirm(session, _secret(request), token, _evidence(request))
    outcome = "confirmed" if row is not None else _outcome(_state_of(session, person, link))
    return _confirm_page(request, session, token, link, workspace, person, outcome)


def preference_link(request: Request, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> str:
    """The full address of a person's preference center, for an agent to send them."""
    settings = request.app.state.settings
    return preferences.preference_url(
        settings.base_url, settings.resolved_secret_key, workspace_id, profile_id
    )
