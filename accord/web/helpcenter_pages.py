"""The public help center of a workspace, at ``/help/{workspace}``: server-rendered pages
that work without JavaScript (search is a form; a small script adds instant results),
in the reader's language with the default as the fallback, with canonical links,
alternate languages, structured data and a sitemap for search engines."""

from __future__ import annotations

import json
import secrets
import uuid
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.govern.access import service as access
from accord.govern.workspaces.models import Workspace
from accord.helpcenter import assets, reading, tracking
from accord.helpcenter import contact as contact_service
from accord.helpcenter.models import HelpVisit
from accord.helpcenter.schemas import HelpCenterSettings
from accord.inbox.deps import inbox_context
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError
from accord.kit.ratelimit import (
    FORMS_PER_ADDRESS,
    HELP_FEEDBACK_PER_ADDRESS,
    client_address,
    limiter_of,
)
from accord.web.auth import SESSION_COOKIE

router = APIRouter(include_in_schema=False)

# Pages count their readers, so shared caches keep none of them.
PAGE_CACHE = {"cache-control": "private, no-cache"}
SearchText = Annotated[str, Query(max_length=300)]
READER_COOKIE = "accord_help"  # the reader's visits: a random id, nothing else
VISITOR_COOKIE = "accord_aid"  # the tracker's first-party anonymous id, when it set one
READER_DAYS = 365


def _reader(request: Request) -> tuple[str, bool]:
    held = request.cookies.get(READER_COOKIE, "")
    if 16 <= len(held) <= 64 and held.replace("-", "").replace("_", "").isalnum():
        return held, False
    return secrets.token_urlsafe(18), True


def _visit(request: Request, session: Session, workspace: Workspace) -> tuple[HelpVisit, bool]:
    reader, new = _reader(request)
    return tracking.visit(session, workspace.id, reader), new


def _keep_reader(request: Request, response: Response, visit: HelpVisit, new: bool) -> Response:
    if new:
        response.set_cookie(
            READER_COOKIE,
            visit.reader,
            max_age=READER_DAYS * 86400,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
        )
    return response


def _workspace(session: Session, slug: str) -> tuple[Workspace, HelpCenterSettings]:
    return reading.public_center(session, slug)


def _text_on(colour: str) -> str:
    """Black or white text on ``colour``, whichever contrasts more (WCAG luminance)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lum = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2]
    return "#111111" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def _base(slug: str) -> str:
    return f"/help/{quote(slug)}"


def _render(
    request: Request,
    template: str,
    workspace: Workspace,
    settings: HelpCenterSettings,
    lang: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    templates = request.app.state.templates
    base = _base(workspace.slug)
    response: HTMLResponse = templates.TemplateResponse(
        request,
        f"helpcenter/{template}",
        {
            "workspace": workspace,
            "center": settings,
            "lang": lang,
            "base": base,
            "on_brand": _text_on(settings.colour),
            "origin": str(request.base_url).rstrip("/"),
            "lang_query": "" if lang == settings.default_locale else f"?lang={lang}",
            **context,
        },
        status_code=status_code,
        headers=PAGE_CACHE,
    )
    return response


def _lang(settings: HelpCenterSettings, lang: str | None) -> str:
    return reading.locales_for(settings, lang)[0]


@router.get("/help/{slug}", response_class=HTMLResponse)
def home(request: Request, session: DbSession, slug: str, lang: str | None = None) -> HTMLResponse:
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    found = reading.sections(session, workspace, language)
    return _render(request, "home.html", workspace, settings, language, sections=found)


@router.get("/help/{slug}/categories/{category}", response_class=HTMLResponse)
def category(
    request: Request, session: DbSession, slug: str, category: str, lang: str | None = None
) -> HTMLResponse:
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    found = reading.sections(session, workspace, language, category_slug=category)
    return _render(
        request, "category.html", workspace, settings, language, section=found[0] if found else None
    )


@router.get("/help/{slug}/articles/{article}", response_class=HTMLResponse)
def article(
    request: Request,
    session: DbSession,
    slug: str,
    article: str,
    lang: str | None = None,
    source: Annotated[str | None, Query(alias="from", max_length=40)] = None,
    voted: str | None = None,
) -> Response:
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    shown = reading.article_for_reader(session, workspace, article, language)
    visit, new = _visit(request, session, workspace)
    section = reading.section_of(session, workspace, shown.article, language)
    base = _base(workspace.slug)
    origin = str(request.base_url).rstrip("/")
    canonical = f"{origin}{base}/articles/{shown.article.slug}" + (
        ""
        if shown.translation.locale == settings.default_locale
        else f"?lang={shown.translation.locale}"
    )
    structured = {
        "@context": "https://schema.org",
        "@type": "Article",
        "headline": shown.translation.published_title,
        "inLanguage": shown.translation.locale,
        "dateModified": (shown.translation.published_at or shown.article.updated_at).isoformat(),
        "publisher": {"@type": "Organization", "name": workspace.name},
        "url": canonical,
    }
    contact = f"{base}/contact?" + urlencode({"article": shown.article.slug})
    # The page shown again after a vote is the same read, not another one.
    read = (
        None
        if voted in ("yes", "no")
        else tracking.read(
            session,
            workspace,
            visit,
            shown.article,
            shown.translation.locale,
            title=shown.translation.published_title or "",
            url=canonical,
            from_search=_uuid(source),
            anonymous_id=request.cookies.get(VISITOR_COOKIE) or None,
            ip=client_address(request),
        )
    )
    page = _render(
        request,
        "article.html",
        workspace,
        settings,
        shown.translation.locale,
        shown=shown,
        section=section,
        canonical=canonical,
        structured=json.dumps(structured).replace("</", "<\\/"),
        contact_url=contact,
        read_id=read.id if read is not None else None,
        voted=voted if voted in ("yes", "no") else None,
    )
    return _keep_reader(request, page, visit, new)


def _uuid(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


@router.post("/help/{slug}/articles/{article}/vote")
def vote(
    request: Request,
    session: DbSession,
    slug: str,
    article: str,
    helpful: Annotated[str, Form(pattern="^(yes|no)$")],
    comment: Annotated[str, Form(max_length=2000)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    """ "Was this helpful?": a form post (works without JavaScript), answered by the
    article again with a thank-you."""
    limiter_of(request).check(HELP_FEEDBACK_PER_ADDRESS, client_address(request))
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    shown = reading.article_for_reader(session, workspace, article, language)
    visit, new = _visit(request, session, workspace)
    tracking.vote(
        session,
        workspace.id,
        visit,
        shown.article,
        shown.translation.locale,
        helpful == "yes",
        comment,
    )
    query = {"voted": helpful}
    if shown.translation.locale != settings.default_locale:
        query["lang"] = shown.translation.locale
    target = f"{_base(workspace.slug)}/articles/{shown.article.slug}?{urlencode(query)}#feedback"
    return _keep_reader(request, RedirectResponse(target, status_code=303), visit, new)


@router.post("/help/{slug}/reads/{read_id}", status_code=204)
def reading_time(
    request: Request,
    session: DbSession,
    slug: str,
    read_id: uuid.UUID,
    seconds: Annotated[int, Form(ge=0, le=86_400)],
) -> Response:
    """How long an article was read, sent by the page as the reader leaves it."""
    limiter_of(request).check(HELP_FEEDBACK_PER_ADDRESS, client_address(request))
    workspace, _settings = _workspace(session, slug)
    tracking.reading_time(session, workspace.id, read_id, seconds)
    return Response(status_code=204)


@router.get("/help/{slug}/search", response_class=HTMLResponse)
def search_page(
    request: Request, session: DbSession, slug: str, q: SearchText = "", lang: str | None = None
) -> Response:
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    visit, new = _visit(request, session, workspace)
    result = None
    if q.strip():
        result = reading.search(session, workspace, q, language, limit=20, visit_id=visit.id)
        tracking.searched(session, visit)
    page = _render(request, "search.html", workspace, settings, language, q=q, result=result)
    return _keep_reader(request, page, visit, new)


@router.get("/help/{slug}/search.json")
def search_json(
    session: DbSession,
    slug: str,
    q: SearchText = "",
    lang: str | None = None,
    typing: bool = True,
) -> JSONResponse:
    """Instant results as the reader types (not recorded: the search page and the
    widget's final question are)."""
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    base = _base(workspace.slug)
    result = reading.search(session, workspace, q, language, typing=typing, limit=6, record=False)
    return JSONResponse(
        {
            "query": q,
            "corrected": result.query.corrected,
            "results": [
                {
                    "title": f.title,
                    "excerpt": f.excerpt,
                    "url": f"{base}/articles/{f.slug}"
                    + ("" if f.locale == settings.default_locale else f"?lang={f.locale}"),
                }
                for f in result.found
            ],
        },
        headers={"cache-control": "no-store"},
    )


@router.get("/help/{slug}/assets/{asset_id}/{filename}")
def asset(
    request: Request, session: DbSession, slug: str, asset_id: uuid.UUID, filename: str
) -> Response:
    """An article's image or file. Its address never changes (a new file is a new
    address), so browsers and caches keep it; an agents-only article's files are for the
    workspace's signed-in agents."""
    workspace, _ = _workspace(session, slug)
    agent = _agent_of(request, session, workspace)
    found = assets.for_reader(session, workspace, asset_id, agent=agent)
    image = found.content_type.startswith("image/")
    headers = {
        "cache-control": ("private" if agent else "public") + ", max-age=31536000, immutable",
        "x-content-type-options": "nosniff",
        "content-security-policy": "default-src 'none'; sandbox",
        "content-disposition": ("inline" if image else "attachment")
        + f'; filename="{found.filename}"',
        "etag": f'"{found.sha256}"',
    }
    return Response(found.data, media_type=found.content_type, headers=headers)


def _agent_of(request: Request, session: Session, workspace: Workspace) -> bool:
    """Whether the browser is signed in to the console of ``workspace``."""
    token = request.cookies.get(SESSION_COOKIE)
    identity = access.resolve_console_session(session, token) if token else None
    return identity is not None and identity.membership.workspace_id == workspace.id


@router.get("/help/{slug}/sitemap.xml")
def sitemap(request: Request, session: DbSession, slug: str) -> Response:
    workspace, settings = _workspace(session, slug)
    origin = str(request.base_url).rstrip("/")
    base = f"{origin}{_base(workspace.slug)}"
    urls = [base]
    for lang in settings.locales:
        for section in reading.sections(session, workspace, lang):
            for art, translation in section.articles:
                if translation.locale != lang:
                    continue  # only the languages the article is written in
                suffix = "" if lang == settings.default_locale else f"?lang={lang}"
                urls.append(f"{base}/articles/{art.slug}{suffix}")
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">\n'
        + "".join(f"  <url><loc>{escape(u)}</loc></url>\n" for u in dict.fromkeys(urls))
        + "</urlset>\n"
    )
    return Response(
        body, media_type="application/xml", headers={"cache-control": "public, max-age=300"}
    )


@router.get("/help/{slug}/contact", response_class=HTMLResponse)
def contact_page(
    request: Request,
    session: DbSession,
    slug: str,
    article: Annotated[str | None, Query(max_length=160)] = None,
    q: SearchText = "",
    lang: str | None = None,
) -> HTMLResponse:
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    title = _article_title(session, workspace, article, language)
    return _render(
        request,
        "contact.html",
        workspace,
        settings,
        language,
        article=article if title else None,
        article_title=title,
        q=q,
        error=None,
        sent=None,
        values={},
    )


def _article_title(
    session: Session, workspace: Workspace, slug: str | None, language: str
) -> str | None:
    if not slug:
        return None
    try:
        shown = reading.article_for_reader(session, workspace, slug, language)
    except AccordError:
        return None
    return shown.translation.published_title


@router.post("/help/{slug}/contact", response_class=HTMLResponse)
def contact_send(
    request: Request,
    session: DbSession,
    slug: str,
    email: Annotated[str, Form(max_length=320)] = "",
    message: Annotated[str, Form(max_length=20_000)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    article: Annotated[str, Form(max_length=160)] = "",
    q: Annotated[str, Form(max_length=300)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    """The reader's question, into the inbox as a web-form conversation that names the
    article they read and what they searched for."""
    limiter_of(request).check(FORMS_PER_ADDRESS, client_address(request))
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    title = _article_title(session, workspace, article or None, language)
    visit, new = _visit(request, session, workspace)
    base = str(request.base_url).rstrip("/") + _base(workspace.slug)
    values = {"email": email, "message": message, "name": name}
    try:
        written = contact_service.write(
            session,
            inbox_context(request, session, workspace.id),
            visit,
            name=name,
            email=email,
            message=message,
            article_title=title,
            article_url=f"{base}/articles/{article}" if title else None,
            query=q.strip() or None,
            data_dir=request.app.state.settings.ensure_data_dir(),
        )
    except AccordError as error:
        if error.status != 422 and error.status != 400:
            raise
        page = _render(
            request,
            "contact.html",
            workspace,
            settings,
            language,
            status_code=422,
            article=article if title else None,
            article_title=title,
            q=q,
            error=error,
            sent=None,
            values=values,
        )
        return _keep_reader(request, page, visit, new)
    page = _render(
        request,
        "contact.html",
        workspace,
        settings,
        language,
        article=None,
        article_title=title,
        q=q,
        error=None,
        sent=written,
        values={},
    )
    return _keep_reader(request, page, visit, new)
