"""The help center's community at ``/help/{workspace}/community``: questions and their
answers for anyone to read; asking, answering, voting, accepting and reporting for a
signed-in member. A customer signs in by a link sent to their email (the link opens a
page with a button, so a mail scanner that fetches links does not use it up) or through
the site's verified identity (an HMAC of the email under the workspace's chat identity
secret, checked by the chat's own verification). Server-rendered, working without
JavaScript; every form of a member carries a CSRF token bound to their session."""

from __future__ import annotations

import json
import uuid
from typing import Annotated, Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.helpcenter import reading
from accord.helpcenter import service as knowledge
from accord.helpcenter.community import members, posts
from accord.helpcenter.community.models import CommunityMember
from accord.helpcenter.community.settings import CommunitySettings, settings_of
from accord.helpcenter.community.structured import qa_page
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, forbidden, not_found
from accord.kit.ratelimit import Limit, client_address, limiter_of
from accord.kit.security import constant_time_equals, lookup_hash, sign

router = APIRouter(include_in_schema=False)

COOKIE = "accord_community"
PAGE_CACHE = {"cache-control": "private, no-cache"}
POSTS_PER_ADDRESS = Limit("community-post-address", 30, 60)
SIGN_INS_PER_ADDRESS = Limit("community-sign-in-address", 10, 60)
NOTICES = {
    "posted": "Posted.",
    "pending": "Thank you. A moderator checks new posts before they are shown: yours is "
    "waiting, and only you can see it until then.",
    "spam": "Thank you. Your post is waiting for a moderator.",
    "edited": "Saved.",
    "accepted": "Marked as the answer that solved it.",
    "unaccepted": "No longer marked as the answer.",
    "reported": "Thank you: a moderator will look at it.",
    "signed-in": "You are signed in.",
    "signed-out": "You are signed out.",
}


class Ctx:
    """What every community page needs: the workspace, its settings, the language, the
    signed-in member (if any) and the member's CSRF token."""

    def __init__(self, request: Request, session: Session, slug: str, lang: str | None) -> None:
        self.request = request
        self.workspace, self.center = reading.public_center(session, slug)
        self.settings: CommunitySettings = settings_of(self.workspace)
        if not self.settings.enabled:
            raise not_found("Community")
        self.lang = reading.locales_for(self.center, lang)[0]
        self.token = request.cookies.get(COOKIE)
        self.member = members.member_of(session, self.workspace, self.token)
        secret = request.app.state.settings.resolved_secret_key
        self.csrf = (
            sign(secret, "community:" + lookup_hash(self.token))
            if self.member and self.token
            else ""
        )
        self.base = f"/help/{quote(self.workspace.slug)}"
        self.home = f"{self.base}/community"

    def check(self, csrf: str) -> CommunityMember:
        """The signed-in member, for a form that changes something (CSRF checked)."""
        if self.member is None:
            raise AccordError("Sign in to take part", code="sign_in_required", status=401)
        if not csrf or not constant_time_equals(csrf, self.csrf):
            raise forbidden(
                "The form has expired or did not come from this site; reload the page and "
                "try again",
                code="csrf_failed",
            )
        limiter_of(self.request).check(POSTS_PER_ADDRESS, client_address(self.request))
        return self.member

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        templates = self.request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(
            self.request,
            f"helpcenter/community/{template}",
            {
                "workspace": self.workspace,
                "center": self.center,
                "community": self.settings,
                "lang": self.lang,
                "base": self.base,
                "home": self.home,
                "on_brand": _text_on(self.center.colour),
                "lang_query": ""
                if self.lang == self.center.default_locale
                else f"?lang={self.lang}",
                "member": self.member,
                "csrf": self.csrf,
                "in_community": True,
                **context,
            },
            status_code=status_code,
            headers=PAGE_CACHE,
        )
        return response

    def failed(self, error: AccordError) -> HTMLResponse:
        page = self.render("error.html", status_code=error.status, error=error)
        for key, value in (error.headers or {}).items():
            page.headers[key] = value
        return page


def _text_on(colour: str) -> str:
    """Black or white text on the brand colour, whichever contrasts more."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    lum = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    luminance = 0.2126 * lum[0] + 0.7152 * lum[1] + 0.0722 * lum[2]
    return "#111111" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#ffffff"


def back(url: str, notice: str | None = None, anchor: str = "") -> RedirectResponse:
    query = f"?{urlencode({'notice': notice})}" if notice else ""
    return RedirectResponse(f"{url}{query}{anchor}", status_code=303)


def safe_next(ctx: Ctx, path: str | None) -> str:
    if path and path.startswith(ctx.home) and "//" not in path and "\\" not in path:
        return path
    return ctx.home


def keep_session(ctx: Ctx, response: Response, token: str) -> Response:
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(members.SESSION_LIFETIME.total_seconds()),
        path=ctx.base,
        httponly=True,
        samesite="lax",
        secure=ctx.request.url.scheme == "https",
    )
    return response


# --- reading ------------------------------------------------------------------------------


@router.get("/help/{slug}/community", response_class=HTMLResponse)
def community_home(
    request: Request,
    session: DbSession,
    slug: str,
    q: Annotated[str, Query(max_length=200)] = "",
    filter: Annotated[str, Query(pattern="^(all|unanswered)$")] = "all",
    page: Annotated[int, Query(ge=1, le=10_000)] = 1,
    lang: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    ctx = Ctx(request, session, slug, lang)
    found = posts.list_questions(
        session, ctx.workspace, q=q, unanswered=filter == "unanswered", page=page
    )
    return ctx.render(
        "list.html", found=found, q=q, filter=filter, notice=NOTICES.get(notice or "")
    )


@router.get("/help/{slug}/community/questions/{question_id}", response_class=HTMLResponse)
def question_page(
    request: Request,
    session: DbSession,
    slug: str,
    question_id: uuid.UUID,
    lang: str | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    ctx = Ctx(request, session, slug, lang)
    shown = posts.question_page(session, ctx.workspace, question_id, ctx.member)
    return _question(ctx, shown, notice=NOTICES.get(notice or ""))


def _question(
    ctx: Ctx,
    shown: posts.QuestionPage,
    *,
    notice: str | None = None,
    error: AccordError | None = None,
    draft: str = "",
) -> HTMLResponse:
    origin = str(ctx.request.base_url).rstrip("/")
    canonical = f"{origin}{ctx.home}/questions/{shown.question.id}"
    structured = qa_page(shown, canonical)
    return ctx.render(
        "question.html",
        status_code=error.status if error else 200,
        shown=shown,
        notice=notice,
        error=error,
        draft=draft,
        canonical=canonical,
        structured=json.dumps(structured).replace("</", "<\\/"),
        reasons=posts.REPORT_REASONS,
    )


@router.get("/help/{slug}/community/members/{member_id}", response_class=HTMLResponse)
def member_page(
    request: Request, session: DbSession, slug: str, member_id: uuid.UUID, lang: str | None = None
) -> HTMLResponse:
    ctx = Ctx(request, session, slug, lang)
    profile = posts.member_profile(session, ctx.workspace, member_id)
    return ctx.render("member.html", profile=profile)


# --- asking, answering, editing --------------------------------------------------------------


@router.get("/help/{slug}/community/ask", response_class=HTMLResponse)
def ask_form(
    request: Request,
    session: DbSession,
    slug: str,
    lang: str | None = None,
    notice: str | None = None,
) -> Response:
    ctx = Ctx(request, session, slug, lang)
    if ctx.member is None:
        return back(f"{ctx.home}/sign-in?" + urlencode({"next": f"{ctx.home}/ask"}))
    return _ask_page(ctx, session, values={}, notice=NOTICES.get(notice or ""))


def _ask_page(
    ctx: Ctx,
    session: Session,
    *,
    values: dict[str, str],
    error: AccordError | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    categories = knowledge.categories(session, ctx.workspace.id)
    return ctx.render(
        "ask.html",
        status_code=error.status if error else 200,
        notice=notice,
        values=values,
        error=error,
        categories=[
            (c.id, c.names.get(ctx.lang) or c.names.get(ctx.center.default_locale) or c.slug)
            for c in categories
        ],
    )


@router.post("/help/{slug}/community/ask", response_class=HTMLResponse)
def ask(
    request: Request,
    session: DbSession,
    slug: str,
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=40_000)] = "",
    category: Annotated[str, Form(max_length=40)] = "",
    website: Annotated[str, Form(max_length=400)] = "",  # the honeypot: people leave it empty
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    ctx = Ctx(request, session, slug, lang)
    values = {"title": title, "body": body, "category": category}
    try:
        member = ctx.check(csrf_token)
        category_id = _category(session, ctx, category)
        question = posts.ask(
            session, ctx.workspace, member, title=title, body=body, locale=ctx.lang,
            category_id=category_id, honeypot=website,
        )  # fmt: skip
    except AccordError as error:
        if error.status == 422:
            return _ask_page(ctx, session, values=values, error=error)
        return ctx.failed(error)
    notice = "posted" if question.status == "visible" else question.status
    if question.status == "spam":
        return back(ctx.home, "spam")
    return back(f"{ctx.home}/questions/{question.id}", notice)


def _category(session: Session, ctx: Ctx, value: str) -> uuid.UUID | None:
    if not value:
        return None
    try:
        wanted = uuid.UUID(value)
    except ValueError:
        return None
    known = {c.id for c in knowledge.categories(session, ctx.workspace.id)}
    return wanted if wanted in known else None


@router.post("/help/{slug}/community/questions/{question_id}/answers", response_class=HTMLResponse)
def answer(
    request: Request,
    session: DbSession,
    slug: str,
    question_id: uuid.UUID,
    body: Annotated[str, Form(max_length=40_000)] = "",
    website: Annotated[str, Form(max_length=400)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    ctx = Ctx(request, session, slug, lang)
    url = f"{ctx.home}/questions/{question_id}"
    try:
        member = ctx.check(csrf_token)
        row = posts.answer(session, ctx.workspace, member, question_id, body=body, honeypot=website)
    except AccordError as error:
        if error.status == 422:
            shown = posts.question_page(session, ctx.workspace, question_id, ctx.member)
            return _question(ctx, shown, error=error, draft=body)
        return ctx.failed(error)
    notice = "posted" if row.status == "visible" else row.status
    anchor = f"#answer-{row.id}" if row.status != "spam" else "#answers"
    return back(url, notice, anchor)


@router.get("/help/{slug}/community/{kind}/{post_id}/edit", response_class=HTMLResponse)
def edit_form(
    request: Request, session: DbSession, slug: str, kind: str, post_id: uuid.UUID,
    lang: str | None = None,
) -> Response:  # fmt: skip
    ctx = Ctx(request, session, slug, lang)
    if ctx.member is None:
        return back(f"{ctx.home}/sign-in")
    title, body, question_id = _editable(session, ctx, kind, post_id)
    return ctx.render(
        "edit.html", kind=kind, post_id=post_id, question_id=question_id,
        values={"title": title, "body": body}, error=None,
    )  # fmt: skip


def _editable(
    session: Session, ctx: Ctx, kind: str, post_id: uuid.UUID
) -> tuple[str, str, uuid.UUID]:
    assert ctx.member is not None
    if kind == "questions":
        q = posts.get_question(session, ctx.workspace.id, post_id, ctx.member)
        if q.member_id != ctx.member.id:
            raise forbidden("Only its author can change a post", "not_author")
        return q.title, q.body, q.id
    if kind == "answers":
        a, q = posts.get_answer(session, ctx.workspace.id, post_id)
        if a.member_id != ctx.member.id or a.status not in ("visible", "pending"):
            raise forbidden("Only its author can change a post", "not_author")
        return "", a.body, q.id
    raise not_found("Page")


@router.post("/help/{slug}/community/{kind}/{post_id}/edit", response_class=HTMLResponse)
def edit(
    request: Request,
    session: DbSession,
    slug: str,
    kind: str,
    post_id: uuid.UUID,
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=40_000)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    ctx = Ctx(request, session, slug, lang)
    try:
        member = ctx.check(csrf_token)
        _title, _body, question_id = _editable(session, ctx, kind, post_id)
        if kind == "questions":
            posts.edit_question(session, ctx.workspace, member, post_id, title=title, body=body)
            anchor = ""
        else:
            posts.edit_answer(session, ctx.workspace, member, post_id, body=body)
            anchor = f"#answer-{post_id}"
    except AccordError as error:
        if error.status != 422:
            return ctx.failed(error)
        return ctx.render(
            "edit.html", status_code=422, kind=kind, post_id=post_id, question_id=None,
            values={"title": title, "body": body}, error=error,
        )  # fmt: skip
    return back(f"{ctx.home}/questions/{question_id}", "edited", anchor)


# --- votes, accepting, reports ------------------------------------------------------------


@router.post("/help/{slug}/community/{kind}/{post_id}/vote")
def vote(
    request: Request,
    session: DbSession,
    slug: str,
    kind: str,
    post_id: uuid.UUID,
    value: Annotated[int, Form(ge=-1, le=1)],
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    """Up or down (sending the vote already given takes it back)."""
    ctx = Ctx(request, session, slug, lang)
    try:
        member = ctx.check(csrf_token)
        single = {"questions": "question", "answers": "answer"}.get(kind)
        if single is None:
            raise not_found("Page")
        question_id = post_id
        if single == "answer":
            question_id = posts.get_answer(session, ctx.workspace.id, post_id)[1].id
        shown = posts.question_page(session, ctx.workspace, question_id, member)
        if shown.my_votes.get(post_id) == value:
            value = 0
        posts.vote(session, ctx.workspace, member, single, post_id, value)
    except AccordError as error:
        return ctx.failed(error)
    anchor = f"#answer-{post_id}" if single == "answer" else "#question"
    return back(f"{ctx.home}/questions/{question_id}", None, anchor)


@router.post("/help/{slug}/community/answers/{answer_id}/accept")
def accept(
    request: Request,
    session: DbSession,
    slug: str,
    answer_id: uuid.UUID,
    accepted: Annotated[str, Form(pattern="^(yes|no)$")] = "yes",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    ctx = Ctx(request, session, slug, lang)
    try:
        member = ctx.check(csrf_token)
        question = posts.accept(
            session, ctx.workspace, answer_id, member=member, accepted=accepted == "yes"
        )
    except AccordError as error:
        return ctx.failed(error)
    notice = "accepted" if accepted == "yes" else "unaccepted"
    return back(f"{ctx.home}/questions/{question.id}", notice, f"#answer-{answer_id}")


@router.post("/help/{slug}/community/{kind}/{post_id}/report")
def report(
    request: Request,
    session: DbSession,
    slug: str,
    kind: str,
    post_id: uuid.UUID,
    reason: Annotated[str, Form(max_length=20)] = "other",
    note: Annotated[str, Form(max_length=500)] = "",
    csrf_token: Annotated[str, Form(max_length=200)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    ctx = Ctx(request, session, slug, lang)
    try:
        member = ctx.check(csrf_token)
        single = {"questions": "question", "answers": "answer"}.get(kind)
        if single is None:
            raise not_found("Page")
        posts.report(session, ctx.workspace, member, single, post_id, reason, note)
        question_id = (
            post_id
            if single == "question"
            else posts.get_answer(session, ctx.workspace.id, post_id)[1].id
        )
    except AccordError as error:
        return ctx.failed(error)
    return back(f"{ctx.home}/questions/{question_id}", "reported")


# --- signing in and out -------------------------------------------------------------------
