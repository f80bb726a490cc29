"""The public help center of a workspace, at ``/help/{workspace}``: server-rendered pages
that work without JavaScript (search is a form; a small script adds instant results),
in the reader's language with the default as the fallback, with canonical links,
alternate languages, structured data and a sitemap for search engines."""

from __future__ import annotations

import json
from typing import Annotated, Any
from urllib.parse import quote, urlencode
from xml.sax.saxutils import escape

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.helpcenter import reading
from accord.helpcenter.schemas import HelpCenterSettings
from accord.kit.deps import DbSession

router = APIRouter(include_in_schema=False)

PUBLIC_CACHE = {"cache-control": "public, max-age=60"}
SearchText = Annotated[str, Query(max_length=300)]


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
        headers=PUBLIC_CACHE,
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
    request: Request, session: DbSession, slug: str, article: str, lang: str | None = None
) -> HTMLResponse:
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    shown = reading.article_for_reader(session, workspace, article, language)
    section = None
    if shown.article.category_id is not None:
        for s in reading.sections(session, workspace, language):
            if s.category is not None and s.category.id == shown.article.category_id:
                section = s
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
    return _render(
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
    )


@router.get("/help/{slug}/search", response_class=HTMLResponse)
def search_page(
    request: Request, session: DbSession, slug: str, q: SearchText = "", lang: str | None = None
) -> HTMLResponse:
    workspace, settings = _workspace(session, slug)
    language = _lang(settings, lang)
    result = reading.search(session, workspace, q, language, limit=20) if q.strip() else None
    return _render(request, "search.html", workspace, settings, language, q=q, result=result)


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
    return Response(body, media_type="application/xml", headers=PUBLIC_CACHE)
