"""Console authentication: a session cookie (random token, only its hash stored),
CSRF tokens bound to the session, and a double-submit token for the login form."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, Request

from accord.config import Settings
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import Role, Scope
from accord.govern.access.service import ConsoleIdentity
from accord.kit.deps import AppSettings, DbSession
from accord.kit.errors import AccordError, forbidden
from accord.kit.security import constant_time_equals, lookup_hash, random_token, sign

SESSION_COOKIE = "accord_session"
LOGIN_CSRF_COOKIE = "accord_login_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class LoginRequired(Exception):
    """Raised by console pages when no valid session is present; rendered as a redirect."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(next_path, safe="/")


def session_csrf_token(settings: Settings, session_token: str) -> str:
    return sign(settings.resolved_secret_key, "csrf:" + lookup_hash(session_token))


def new_login_csrf() -> str:
    return random_token(24)


async def submitted_csrf(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


def csrf_failure() -> AccordError:
    return forbidden(
        "The form has expired or did not come from this site; reload the page and try again",
        code="csrf_failed",
    )


@dataclass(frozen=True)
class Console:
    """The signed-in user on a console page."""

    identity: ConsoleIdentity
    csrf_token: str

    @property
    def principal(self) -> Principal:
        return self.identity.principal

    @property
    def role(self) -> Role:
        return Role(self.identity.membership.role)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    @property
    def can_answer(self) -> bool:
        """Whether the user may answer and change conversations (an analyst reads only)."""
        return self.principal.has(Scope.CONVERSATIONS_WRITE)


def console_session(request: Request, session: DbSession, settings: AppSettings) -> Console:
    token = request.cookies.get(SESSION_COOKIE)
    identity = access.resolve_console_session(session, token) if token else None
    if identity is None or token is None:
        next_path = request.url.path
        if request.url.query:
            next_path += "?" + request.url.query
        raise LoginRequired(next_path if request.method == "GET" else "/")
    return Console(identity=identity, csrf_token=session_csrf_token(settings, token))


async def console_identity(
    request: Request, console: Annotated[Console, Depends(console_session)]
) -> Console:
    """The signed-in user; unsafe methods must carry the session's CSRF token."""
    if request.method not in {"GET", "HEAD", "OPTIONS"}:
        submitted = await submitted_csrf(request)
        if not submitted or not constant_time_equals(submitted, console.csrf_token):
            raise csrf_failure()
    return console


def console_admin(console: Annotated[Console, Depends(console_identity)]) -> Console:
    if not console.is_admin:
        raise forbidden("Only a workspace admin can manage users and keys", code="admin_only")
    return console


ConsoleUser = Annotated[Console, Depends(console_identity)]
ConsoleAdmin = Annotated[Console, Depends(console_admin)]
