"""Knowledge > Community in the console: the moderation queue (posts waiting for
approval, reported posts, spam) with approve, reject, hide and ban; the latest questions;
a question with every answer, where a moderator accepts an answer or makes a draft
article of the accepted one; and the community's settings. Moderators are agents and
admins (``knowledge:write``); the settings are the admins'. The Customer 360's
Community card (:func:`person_community`) is here too."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.govern.access.scopes import Scope
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter.community import members, moderation
from accord.helpcenter.community.settings import COMMUNITY, save_settings, settings_of
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, forbidden
from accord.web.auth import Console, ConsoleUser
from accord.web.pages import page

router = APIRouter(prefix="/knowledge/community", include_in_schema=False)

NOTICES = {
    "approve": "Approved: the post is shown.",
    "reject": "Rejected: the post is not shown.",
    "spam": "Marked as spam.",
    "hide": "Hidden.",
    "restore": "Restored: the post is shown again.",
    "banned": "The member is banned: their sessions ended and their waiting posts are rejected.",
    "unbanned": "The ban is lifted.",
    "accepted": "Accepted as the answer.",
    "unaccepted": "No longer the accepted answer.",
    "settings": "Settings saved.",
}


def _moderator(console: Console) -> None:
    if not console.principal.has(Scope.KNOWLEDGE_WRITE):
        raise forbidden("Your role cannot moderate the community", code="insufficient_scope")


@router.get("", response_class=HTMLResponse)
def community_queue(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    notice: str | None = None,
) -> HTMLResponse:
    return _queue_page(request, session, console, notice=NOTICES.get(notice or ""))


def _queue_page(
    request: Request,
    session: Session,
    console: Console,
    *,
    notice: str | None = None,
    error: AccordError | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    _moderator(console)
    workspace = get_workspace(session, console.principal.workspace_id)
    settings = settings_of(workspace)
    latest, authors = moderation.latest_questions(session, workspace.id)
    return page(
        request,
        session,
        console,
        "community/queue.html",
        "community",
        status_code=error.status if error else 200,
        queue=moderation.queue(session, workspace.id),
        latest=latest,
        authors=authors,
        settings=values or settings.model_dump(),
        version=COMMUNITY.version(workspace),
        notice=notice,
        error=error,
        public=f"/help/{workspace.slug}/community",
    )


@router.post("/{kind}/{post_id}/moderate")
def moderate(
    session: DbSession,
    console: ConsoleUser,
    kind: str,
    post_id: uuid.UUID,
    action: Annotated[str, Form(max_length=20)],
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _moderator(console)
    single = {"questions": "question", "answers": "answer"}.get(kind, kind)
    moderation.moderate(session, console.principal, single, post_id, action)
    return RedirectResponse(f"{_back(back)}?notice={action}", status_code=303)


def _back(back: str) -> str:
    return (
        back
        if back.startswith("/knowledge/community") and "//" not in back
        else "/knowledge/community"
    )


@router.get("/questions/{question_id}", response_class=HTMLResponse)
def question(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    question_id: uuid.UUID,
    notice: str | None = None,
) -> HTMLResponse:
    _moderator(console)
    detail = moderation.question_detail(session, console.principal.workspace_id, question_id)
    workspace = get_workspace(session, console.principal.workspace_id)
    return page(
        request,
        session,
        console,
        "community/question.html",
        "community",
        detail=detail,
        notice=NOTICES.get(notice or ""),
        public=f"/help/{workspace.slug}/community",
    )


@router.post("/answers/{answer_id}/accept")
def accept(
    session: DbSession,
    console: ConsoleUser,
    answer_id: uuid.UUID,
    accepted: Annotated[str, Form(pattern="^(yes|no)$")] = "yes",
) -> Response:
    _moderator(console)
    found = moderation.accept(session, console.principal, answer_id, accepted=accepted == "yes")
    notice = "accepted" if accepted == "yes" else "unaccepted"
    return RedirectResponse(
        f"/knowledge/community/questions/{found.id}?notice={notice}", status_code=303
    )


@router.post("/answers/{answer_id}/article")
def to_article(session: DbSession, console: ConsoleUser, answer_id: uuid.UUID) -> Response:
    """The accepted answer becomes a draft article, opened in the editor."""
    _moderator(console)
    view = moderation.to_article(session, console.principal, answer_id)
    return RedirectResponse(f"/knowledge/{view.article.id}?notice=created", status_code=303)


@router.post("/members/{member_id}/ban")
def ban(
    session: DbSession,
    console: ConsoleUser,
    member_id: uuid.UUID,
    banned: Annotated[str, Form(pattern="^(yes|no)$")] = "yes",
    back: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    _moderator(console)
    members.ban(session, console.principal, member_id, banned=banned == "yes")
    notice = "banned" if banned == "yes" else "unbanned"
    return RedirectResponse(f"{_back(back)}?notice={notice}", status_code=303)


@router.post("/settings", response_class=HTMLResponse)
def save(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    enabled: Annotated[str, Form()] = "",
    hold_first_post: Annotated[str, Form()] = "",
    profanity: Annotated[str, Form(max_length=10)] = "hold",
    words: Annotated[str, Form(max_length=20_000)] = "",
    max_links: Annotated[str, Form(max_length=10)] = "2",
    posts_per_hour: Annotated[str, Form(max_length=10)] = "10",
    site_sign_in_url: Annotated[str, Form(max_length=500)] = "",
    version: Annotated[str, Form(max_length=10)] = "",
) -> Response:
    if not console.is_admin:
        raise forbidden("Only a workspace admin can change the community's settings", "admin_only")
    raw: dict[str, Any] = {
        "enabled": enabled == "on",
        "hold_first_post": hold_first_post == "on",
        "profanity": profanity,
        "words": [w for w in (line.strip() for line in words.replace(",", "\n").splitlines()) if w],
        "max_links": max_links,
        "posts_per_hour": posts_per_hour,
        "site_sign_in_url": site_sign_in_url.strip() or None,
    }
    try:
        save_settings(
            session,
            console.principal.workspace_id,
            raw,
            actor=console.principal,
            expected_version=int(version) if version.isdigit() else None,
        )
    except AccordError as error:
        return _queue_page(request, session, console, error=error, values=raw)
    return RedirectResponse("/knowledge/community?notice=settings#settings", status_code=303)


def person_community(
    session: Session, console: Console, emails: list[str]
) -> moderation.Standing | None:
    """The Customer 360's Community card: the person's questions, answers, accepted
    answers and reputation, over the members with one of their emails."""
    if not console.principal.has(Scope.PROFILES_READ):
        return None
    return moderation.standing(session, console.principal.workspace_id, emails)
