"""Signing in to the help center's community: by a link sent to the customer's email
(the link opens a page with a button, so a mail scanner that fetches links does not use
it up) or through the site's verified identity (an HMAC of the email under the
workspace's chat identity secret, checked by the chat's own verification); signing out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from accord.chat import identity
from accord.helpcenter.community import members
from accord.kit.deps import AppSettings, DbSession
from accord.kit.errors import AccordError, forbidden
from accord.kit.ratelimit import client_address, limiter_of
from accord.kit.security import constant_time_equals
from accord.web.community_pages import (
    COOKIE,
    SIGN_INS_PER_ADDRESS,
    Ctx,
    back,
    keep_session,
    safe_next,
)

router = APIRouter(include_in_schema=False)


@router.get("/help/{slug}/community/sign-in", response_class=HTMLResponse)
def sign_in_form(
    request: Request,
    session: DbSession,
    slug: str,
    next: Annotated[str, Query(max_length=300)] = "",
    lang: str | None = None,
) -> HTMLResponse:
    ctx = Ctx(request, session, slug, lang)
    return ctx.render("sign_in.html", next=safe_next(ctx, next), values={}, error=None, sent=None)


@router.post("/help/{slug}/community/sign-in", response_class=HTMLResponse)
def sign_in_send(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    slug: str,
    email: Annotated[str, Form(max_length=320)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """Email a sign-in link; the answer is the same whether or not the address is a
    member's."""
    ctx = Ctx(request, session, slug, lang)
    address = client_address(request)
    target = safe_next(ctx, next)
    try:
        limiter_of(request).check(SIGN_INS_PER_ADDRESS, address)
        members.request_link(
            session, settings, ctx.workspace, email=email, name=name, ip=address,
            next_path=target,
        )  # fmt: skip
    except AccordError as error:
        return ctx.render(
            "sign_in.html", status_code=error.status, next=target,
            values={"email": email, "name": name}, error=error, sent=None,
        )  # fmt: skip
    return ctx.render(
        "sign_in.html", next=target, values={}, error=None, sent=members.check_email(email)
    )


@router.get("/help/{slug}/community/sign-in/link", response_class=HTMLResponse)
def sign_in_link(
    request: Request,
    session: DbSession,
    slug: str,
    token: Annotated[str, Query(max_length=300)] = "",
    lang: str | None = None,
) -> HTMLResponse:
    """The page an emailed link opens: a button signs in (the link is used only then)."""
    ctx = Ctx(request, session, slug, lang)
    try:
        link = members.check_link(session, ctx.workspace, token)
    except AccordError as error:
        return ctx.render("link.html", status_code=error.status, error=error, token="", email="")
    return ctx.render("link.html", error=None, token=token, email=link.email)


@router.post("/help/{slug}/community/sign-in/link", response_class=HTMLResponse)
def sign_in_with_link(
    request: Request,
    session: DbSession,
    slug: str,
    token: Annotated[str, Form(max_length=300)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    ctx = Ctx(request, session, slug, lang)
    try:
        signed = members.use_link(session, ctx.workspace, token)
    except AccordError as error:
        return ctx.render("link.html", status_code=error.status, error=error, token="", email="")
    target = safe_next(ctx, signed.next_path)
    sep = "&" if "?" in target else "?"
    return keep_session(ctx, RedirectResponse(f"{target}{sep}notice=signed-in", 303), signed.token)


@router.post("/help/{slug}/community/sign-in/site")
def sign_in_with_site(
    request: Request,
    session: DbSession,
    settings: AppSettings,
    slug: str,
    email: Annotated[str, Form(max_length=320)] = "",
    email_hash: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=200)] = "",
    next: Annotated[str, Form(max_length=300)] = "",
    lang: Annotated[str | None, Form()] = None,
) -> Response:
    """The site's own sign-in hands its customer over: its server posts (through the
    browser) the customer's email with ``email_hash``, the HMAC-SHA256 of the email
    under the workspace's identity secret, as the chat widget's ``emailHash``."""
    ctx = Ctx(request, session, slug, lang)
    limiter_of(request).check(SIGN_INS_PER_ADDRESS, client_address(request))
    secret = identity.secret_of(ctx.workspace, settings.resolved_secret_key)
    given = email.strip()
    if not any(identity.verifies(secret, email_hash, e) for e in {given, given.lower()}):
        return ctx.failed(
            forbidden(
                "The site's signature of this email is not valid", code="identity_not_verified"
            )
        )
    try:
        signed = members.sign_in_verified(session, ctx.workspace, email=given, name=name)
    except AccordError as error:
        return ctx.failed(error)
    target = safe_next(ctx, next)
    sep = "&" if "?" in target else "?"
    return keep_session(ctx, RedirectResponse(f"{target}{sep}notice=signed-in", 303), signed.token)


@router.post("/help/{slug}/community/sign-out")
def sign_out(
    request: Request,
    session: DbSession,
    slug: str,
    csrf_token: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    ctx = Ctx(request, session, slug, None)
    if ctx.member is not None and constant_time_equals(csrf_token, ctx.csrf):
        members.sign_out(session, ctx.workspace, ctx.token)
    response = back(ctx.home, "signed-out")
    response.delete_cookie(COOKIE, path=ctx.base)
    return response
