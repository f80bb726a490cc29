"""Forgotten passwords: a link, sent by email through the server's relay or printed by
``accord user reset-link`` for an admin to pass on, sets a new one.

A link holds a random token; only its SHA-256 is stored. It works once, within an hour,
and using it ends every session of the user and restarts the sign-in limits of the
account. Whether an account has the email asked about shows neither in the answer nor in
its time: every request is recorded and counted alike, and the email leaves from a thread
of its own after the commit. Requests are limited per email and per client address, so
the form cannot flood a mailbox.

Services flush and never commit; the caller owns the transaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.access.models import PasswordReset, User
from accord.govern.access.repository import PasswordResetRepository, UserRepository
from accord.govern.access.service import (
    audit_user,
    check_password_strength,
    normalize_email,
    set_password,
)
from accord.kit.errors import AccordError, invalid, not_found
from accord.kit.mail import Relay, send_in_background
from accord.kit.security import lookup_hash, random_token
from accord.kit.signals import after_commit
from accord.kit.time import utcnow

RESET_PATH = "/login/reset"
LINK_LIFETIME = timedelta(hours=1)
REQUEST_WINDOW = timedelta(hours=1)
REQUESTS_PER_EMAIL = 3
REQUESTS_PER_ADDRESS = 10
MAX_TOKEN_LENGTH = 200
CLI_ADDRESS = "cli"


def can_send(settings: Settings) -> bool:
    """Whether reset links can be sent by email (a relay is configured)."""
    return bool(settings.smtp_url)


def reset_link(settings: Settings, token: str) -> str:
    return f"{settings.base_url.rstrip('/')}{RESET_PATH}?token={quote(token)}"


def _throttled(oldest: datetime | None) -> AccordError:
    seconds = int(((oldest or utcnow()) + REQUEST_WINDOW - utcnow()).total_seconds()) + 1
    return AccordError(
        "Too many requests for a link to set a new password; try again later",
        code="reset_throttled",
        status=429,
        headers={"Retry-After": str(max(seconds, 1))},
    )


def _limit(resets: PasswordResetRepository, email: str, ip: str) -> None:
    since = utcnow() - REQUEST_WINDOW
    if resets.requests_since(since=since, ip=ip) >= REQUESTS_PER_ADDRESS:
        raise _throttled(resets.oldest_request_since(since=since, ip=ip))
    if resets.requests_since(since=since, email=email) >= REQUESTS_PER_EMAIL:
        raise _throttled(resets.oldest_request_since(since=since, email=email))


def _new_link(session: Session, settings: Settings, user: User, *, ip: str) -> str:
    token = random_token(32)
    PasswordResetRepository.from_session(session).add(
        PasswordReset(
            email=user.email,
            ip=ip,
            user_id=user.id,
            token_hash=lookup_hash(token),
            expires_at=utcnow() + LINK_LIFETIME,
        )
    )
    return reset_link(settings, token)


def _email(settings: Settings, to: str, link: str, ip: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = to
    message["Subject"] = "Set a new password for Accord"
    message["Date"] = formatdate(localtime=False)
    domain = settings.mail_sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    console = urlsplit(settings.base_url).netloc or settings.base_url
    message.set_content(
        f"Someone asked to set a new password for the Accord account {to} on {console}"
        f" (the request came from {ip}).\n\n"
        "To choose a new password, open this link. It works once, within the next hour:\n\n"
        f"{link}\n\n"
        "If you did not ask for this, ignore this email: your password stays as it is.\n"
    )
    return message


def request_reset(session: Session, settings: Settings, *, email: str, ip: str) -> None:
    """Send a link to set a new password to ``email`` when an active account has it.
    The caller answers the same whether or not one does."""
    if not settings.smtp_url:
        raise AccordError(
            "Accord cannot send email (no relay is set up); ask an administrator for a link",
            code="mail_not_configured",
            status=503,
        )
    email = normalize_email(email)
    if not email or "@" not in email or len(email) > 320:
        raise invalid("Enter the email you sign in with", field="email", code="invalid_email")
    resets = PasswordResetRepository.from_session(session)
    _limit(resets, email, ip)
    user = UserRepository.from_session(session).get_by_email(email)
    if user is None or not user.is_active:
        # Counted like any request, so the limits say nothing of which accounts exist.
        resets.add(PasswordReset(email=email, ip=ip, expires_at=utcnow()))
        return
    message = _email(settings, user.email, _new_link(session, settings, user, ip=ip), ip)
    relay = Relay.from_url(settings.smtp_url)
    after_commit(session, lambda: send_in_background(relay, message))


def issue_reset_link(session: Session, settings: Settings, *, email: str) -> str:
    """A link for an admin to hand to a user (``accord user reset-link``); audited."""
    user = UserRepository.from_session(session).get_by_email(normalize_email(email))
    if user is None:
        raise not_found("Account", field="email")
    if not user.is_active:
        raise invalid("This account is deactivated", field="email", code="user_inactive")
    link = _new_link(session, settings, user, ip=CLI_ADDRESS)
    audit_user(session, user, "user.password_reset_link_issued", by_cli=True)
    return link


def _refused(message: str, code: str) -> AccordError:
    return AccordError(message, code=code, status=400, field="token")


def check_link(session: Session, token: str) -> tuple[PasswordReset, User]:
    """The reset a link's token names, while it can still be used; else a clear refusal."""
    found = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        found = PasswordResetRepository.from_session(session).by_token_hash(lookup_hash(token))
    if found is None or not found[1].is_active:
        raise _refused(
            "This link to set a new password is not valid. Check that it was copied whole, "
            "or ask for a new one.",
            "reset_link_invalid",
        )
    reset, user = found
    if reset.used_at is not None:
        raise _refused(
            "This link has already been used (or a newer password made it void). Ask for a "
            "new one if you need to set your password again.",
            "reset_link_used",
        )
    if reset.expires_at <= utcnow():
        raise _refused(
            "This link has expired: a link works for one hour. Ask for a new one.",
            "reset_link_expired",
        )
    return reset, user


def complete_reset(session: Session, *, token: str, password: str, confirm: str) -> User:
    """Set the new password a link was for: the link is used up, every session of the
    user ends and the sign-in limits of the account start afresh; audited."""
    reset, user = check_link(session, token)
    check_password_strength(password)
    if password != confirm:
        raise invalid(
            "The two passwords are not the same", field="confirm", code="passwords_differ"
        )
    if not PasswordResetRepository.from_session(session).claim(reset.id, utcnow()):
        raise _refused("This link has already been used.", "reset_link_used")
    set_password(session, user, password)
    audit_user(session, user, "user.password_reset")
    return user
