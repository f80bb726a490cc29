"""Knowledge: the help center's articles in the console. The list (every language with
its state, views and votes, a search that includes internal answers) and the editor
(Markdown with a live preview, a language per tab, save as a new version with conflict
detection, review, publish now or later, archive, every version with restore)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Path, Query, Request, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.govern.access.scopes import Scope
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter import assets, markdown, reading, service
from accord.helpcenter.schemas import ArticleIn, ArticlePatch, TranslationIn
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid
from accord.kit.time import utcnow
from accord.web.auth import Console, ConsoleUser
from accord.web.pages import page

router = APIRouter(prefix="/knowledge", include_in_schema=False)

NOTICES = {
    "saved": "Saved as a new version. Readers see it once it is published.",
    "review": "Sent to review.",
    "published": "Published: readers see this version now.",
    "scheduled": "Scheduled: it goes live at the time set.",
    "archived": "Archived: no longer shown or found.",
    "draft": "Back to draft.",
    "restored": "Restored as the newest version (publish it to show it).",
    "created": "Article created.",
    "uploaded": "File added: insert it into the text where it belongs.",
    "file_removed": "File removed. Take its Markdown out of the text too.",
    "from_reply": "A draft from the reply, without the customer's details: read it over, "
    "then publish it.",
}


def _can_write(console: Console) -> bool:
    return console.principal.has(Scope.KNOWLEDGE_WRITE)


def _require_write(console: Console) -> None:
    if not _can_write(console):
        raise AccordError("Your role cannot change articles", "forbidden", 403)


@router.get("", response_class=HTMLResponse)
def knowledge_list(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    q: str = "",
    notice: str | None = None,
) -> HTMLResponse:
    workspace = get_workspace(session, console.principal.workspace_id)
    settings = service.settings_of(workspace)
    views = service.list_articles(session, workspace.id)
    categories = {c.id: c for c in service.categories(session, workspace.id)}
    found = None
    if q.strip():
        found = reading.search(
            session, workspace, q, None, internal=True, limit=20, source="console"
        )
    return page(
        request,
        session,
        console,
        "knowledge/list.html",
        "knowledge",
        articles=views,
        categories=categories,
        center=settings,
        q=q,
        found=found,
        notice=NOTICES.get(notice or ""),
        can_write=_can_write(console),
        today=utcnow().date().isoformat(),
    )


@router.get("/new", response_class=HTMLResponse)
def new_article(
    request: Request, session: DbSession, console: ConsoleUser, title: str = ""
) -> HTMLResponse:
    """A new article; ``title``: one to start from (a content gap's searched words)."""
    _require_write(console)
    values = {"title": title[:300]} if title.strip() else None
    return _editor(request, session, console, None, None, values=values)


@router.post("/new")
def create_article(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    title: Annotated[str, Form(max_length=300)] = "",
    body: Annotated[str, Form(max_length=200_000)] = "",
    summary: Annotated[str, Form(max_length=500)] = "",
    category_id: Annotated[str, Form()] = "",
    visibility: Annotated[str, Form()] = "public",
    locale: Annotated[str, Form()] = "",
) -> Response:
    _require_write(console)
    try:
        if not title.strip():
            raise invalid("An article needs a title", field="title")
        view = service.create_article(
            session,
            console.principal,
            ArticleIn(
                title=title,
                body=body,
                summary=summary or None,
                category_id=uuid.UUID(category_id) if category_id else None,
                visibility="internal" if visibility == "internal" else "public",
                locale=locale or None,
            ),
        )
    except AccordError as error:
        values = {"title": title, "body": body, "summary": summary}
        return _editor(request, session, console, None, None, error=error, values=values)
    return RedirectResponse(f"/knowledge/{view.article.id}?notice=created", status_code=303)


def _editor(
    request: Request,
    session: DbSession,
    console: Console,
    article_id: uuid.UUID | None,
    lang: str | None,
    *,
    notice: str | None = None,
    error: AccordError | None = None,
    values: dict[str, Any] | None = None,
) -> HTMLResponse:
    workspace = get_workspace(session, console.principal.workspace_id)
    settings = service.settings_of(workspace)
    view = service.get_article(session, workspace.id, article_id) if article_id else None
    locale = lang if lang in settings.locales else settings.default_locale
    translation = view.in_locale(locale) if view else None
    if view is not None and translation is None and lang is None and view.translations:
        translation = view.translations[0]
        locale = translation.locale
    versions = (
        service.revisions(session, workspace.id, view.article.id, locale)
        if view is not None and translation is not None
        else []
    )
    text = (values or {}).get("body", translation.body if translation else "")
    return page(
        request,
        session,
        console,
        "knowledge/edit.html",
        "knowledge",
        status_code=error.status if error else 200,
        view=view,
        translation=translation,
        locale=locale,
        center=settings,
        categories=service.categories(session, workspace.id),
        versions=versions,
        files=assets.of_article(session, workspace, view.article.id) if view else [],
        preview=markdown.render(text).html if text else "",
        values=values or {},
        notice=NOTICES.get(notice or ""),
        error=error,
        can_write=_can_write(console),
        public_url=f"/help/{workspace.slug}/articles/{view.article.slug}"
        + ("" if locale == settings.default_locale else f"?lang={locale}")
        if view is not None
        else None,
    )


@router.get("/{article_id}", response_class=HTMLResponse)
def edit_article(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    article_id: uuid.UUID,
    lang: str | None = None,
    notice: str | None = None,
    why: Annotated[str, Query(max_length=300)] = "",
) -> HTMLResponse:
    refused = (
        AccordError(f"The file was not added: {why}", "upload_refused", 422, field="file")
        if notice == "upload_refused" and why
        else None
    )
    return _editor(request, session, console, article_id, lang, notice=notice, error=refused)


@router.post("/preview", response_class=HTMLResponse)
def preview(
    console: ConsoleUser, body: Annotated[str, Form(max_length=200_000)] = ""
) -> HTMLResponse:
    """The Markdown as readers will see it (the editor asks as the author types)."""
    return HTMLResponse(markdown.render(body).html)


@router.post("/{article_id}")
def save_article(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    article_id: uuid.UUID,
    lang: Annotated[str, Form()],
    title: Annotated[str, Form(max_length=300)] = "",
    body: Annotated[str, Form(max_length=200_000)] = "",
    summary: Annotated[str, Form(max_length=500)] = "",
    note: Annotated[str, Form(max_length=300)] = "",
    expected_version: Annotated[str, Form()] = "",
    category_id: Annotated[str, Form()] = "",
    visibility: Annotated[str, Form()] = "public",
    then: Annotated[str, Form()] = "save",
    publish_at: Annotated[str, Form()] = "",
) -> Response:
    """Save a new version (and, with ``then``, send it to review or publish it)."""
    _require_write(console)
    values = {"title": title, "body": body, "summary": summary}
    try:
        if not title.strip():
            raise invalid("An article needs a title", field="title")
        service.update_article(
            session,
            console.principal,
            article_id,
            ArticlePatch(
                category_id=uuid.UUID(category_id) if category_id else None,
                clear_category=not category_id,
                visibility="internal" if visibility == "internal" else "public",
            ),
        )
        service.save_translation(
            session,
            console.principal,
            article_id,
            lang,
            TranslationIn(
                title=title,
                body=body,
                summary=summary or None,
                note=note or None,
                expected_version=int(expected_version)
                if expected_version.isdigit() and len(expected_version) < 10
                else None,
            ),
        )
        notice = "saved"
        if then in ("review", "published"):
            zone = get_workspace(session, console.principal.workspace_id).timezone
            at = _when(publish_at, zone) if then == "published" else None
            service.set_status(session, console.principal, article_id, lang, then, at)
            notice = "scheduled" if at is not None and at > utcnow() else then
    except AccordError as error:
        return _editor(request, session, console, article_id, lang, error=error, values=values)
    return RedirectResponse(f"/knowledge/{article_id}?lang={lang}&notice={notice}", status_code=303)


def _when(value: str, zone: str) -> datetime | None:
    """A time typed in the workspace's time zone."""
    if not value:
        return None
    try:
        at = datetime.fromisoformat(value)
        return at if at.tzinfo else at.replace(tzinfo=ZoneInfo(zone or "UTC"))
    except (ValueError, KeyError):
        raise invalid("A date and time such as 2026-12-24T09:00", field="publish_at") from None


@router.post("/{article_id}/status")
def change_status(
    session: DbSession,
    console: ConsoleUser,
    article_id: uuid.UUID,
    lang: Annotated[str, Form()],
    status: Annotated[str, Form()],
) -> Response:
    _require_write(console)
    service.set_status(session, console.principal, article_id, lang, status)
    return RedirectResponse(f"/knowledge/{article_id}?lang={lang}&notice={status}", status_code=303)


@router.post("/{article_id}/versions/{number}/restore")
def restore_version(
    session: DbSession,
    console: ConsoleUser,
    article_id: uuid.UUID,
    number: Annotated[int, Path(ge=1, le=2_000_000_000)],
    lang: Annotated[str, Form()],
) -> Response:
    _require_write(console)
    service.restore(session, console.principal, article_id, lang, number)
    return RedirectResponse(f"/knowledge/{article_id}?lang={lang}&notice=restored", status_code=303)


@router.post("/{article_id}/assets")
async def upload_asset(
    session: DbSession,
    console: ConsoleUser,
    article_id: uuid.UUID,
    file: UploadFile,
    lang: Annotated[str, Form()] = "",
) -> Response:
    """An image or a file for the article; the editor lists it with its Markdown."""
    _require_write(console)
    data = await file.read(assets.MAX_BYTES + 1)

    def run() -> None:  # the request's transaction, on a worker thread
        workspace = get_workspace(session, console.principal.workspace_id)
        assets.upload(
            session,
            console.principal,
            workspace,
            article_id,
            filename=file.filename or "file",
            declared_type=file.content_type,
            data=data,
        )

    notice = "uploaded"
    try:
        await run_in_threadpool(run)
    except AccordError as error:
        if error.status == 404:
            raise
        notice = "upload_refused"
        return RedirectResponse(
            f"/knowledge/{article_id}?"
            + urlencode({"lang": lang, "notice": notice, "why": error.message}),
            status_code=303,
        )
    return RedirectResponse(
        f"/knowledge/{article_id}?" + urlencode({"lang": lang, "notice": notice}), status_code=303
    )


@router.post("/assets/{asset_id}/delete")
def delete_asset(
    session: DbSession,
    console: ConsoleUser,
    asset_id: uuid.UUID,
    article_id: Annotated[uuid.UUID, Form()],
    lang: Annotated[str, Form()] = "",
) -> Response:
    _require_write(console)
    workspace = get_workspace(session, console.principal.workspace_id)
    assets.remove(session, console.principal, workspace, asset_id)
    return RedirectResponse(
        f"/knowledge/{article_id}?" + urlencode({"lang": lang, "notice": "file_removed"}),
        status_code=303,
    )
