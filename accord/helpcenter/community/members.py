"""Who is who in the community. A customer signs in by a link sent to their email (no
password), or through the site's verified identity (the site's server vouches for the
email, checked at the edge with the chat's identity secret). A link holds a random token
of which only the SHA-256 is stored; it works once, within 30 minutes. Link requests are
limited per email and per address, and the answer is the same whether or not a member
exists. A browser stays signed in by a session cookie whose token is also stored hashed.

Services flush and never commit; the caller owns the transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import quote

from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.access.principal import Principal
from accord.govern.access.service import normalize_email
from accord.govern.audit import service as audit
from accord.govern.workspaces.models import Workspace
from accord.helpcenter.community.models import CommunityLink, CommunityMember, CommunitySession
from accord.helpcenter.community.repository import CommunityRepository
from accord.kit.errors import AccordError, invalid, not_found
from accord.kit.ids import new_id
from accord.kit.mail import Relay, send_in_background
from accord.kit.security import lookup_hash, random_token
from accord.kit.signals import after_commit
from accord.kit.time import utcnow

LINK_LIFETIME = timedelta(minutes=30)
SESSION_LIFETIME = timedelta(days=30)
REQUEST_WINDOW = timedelta(hours=1)
LINKS_PER_EMAIL = 5
LINKS_PER_ADDRESS = 20
MAX_TOKEN_LENGTH = 200


def community_path(workspace: Workspace) -> str:
    return f"/help/{quote(workspace.slug)}/community"


def display_name(email: str, name: str | None) -> str:
    """The name shown beside a member's posts: the one they gave, else the part of the
    email before the @ (never the whole address)."""
    given = " ".join((name or "").split())[:80]
    return given or email.split("@", 1)[0][:80]


def check_email(email: str) -> str:
    email = normalize_email(email)
    local, _, domain = email.partition("@")
    if not local or "." not in domain or len(email) > 320 or " " in email:
        raise invalid("Enter your email address", field="email", code="invalid_email")
    return email


def _throttled(what: str) -> AccordError:
    return AccordError(
        f"Too many sign-in links were asked for {what}; try again in an hour",
        code="sign_in_throttled",
        status=429,
        headers={"Retry-After": str(int(REQUEST_WINDOW.total_seconds()))},
    )


def _message(settings: Settings, workspace: Workspace, to: str, link: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.mail_sender
    message["To"] = to
    message["Subject"] = f"Sign in to the {workspace.name} community"
    message["Date"] = formatdate(localtime=False)
    domain = settings.mail_sender.rsplit("@", 1)[-1].strip(" >") or "localhost"
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(
        f"To sign in to the {workspace.name} community, open this link. It works once, "
        f"within the next {int(LINK_LIFETIME.total_seconds() // 60)} minutes:\n\n"
        f"{link}\n\n"
        "If you did not ask to sign in, ignore this email: nothing happens without the link.\n"
    )
    return message


def request_link(
    session: Session,
    settings: Settings,
    workspace: Workspace,
    *,
    email: str,
    name: str | None,
    ip: str,
    next_path: str | None = None,
) -> None:
    """Email a sign-in link to ``email`` (sent once the transaction commits). A banned
    member gets none, and the caller answers the same either way."""
    if not settings.smtp_url:
        raise AccordError(
            "Sign-in links cannot be sent: this server has no mail relay",
            code="mail_not_configured",
            status=503,
        )
    email = check_email(email)
    repo = CommunityRepository.from_session(session)
    since = utcnow() - REQUEST_WINDOW
    if repo.links_since(workspace.id, since, ip=ip[:64]) >= LINKS_PER_ADDRESS:
        raise _throttled("from your address")
    if repo.links_since(workspace.id, since, email=email) >= LINKS_PER_EMAIL:
        raise _throttled("for this email")
    token = random_token(32)
    member = repo.member_by_email(workspace.id, email)
    now = utcnow()
    session.add(
        CommunityLink(
            id=new_id(),
            workspace_id=workspace.id,
            email=email,
            name=display_name(email, name) if name else None,
            ip=ip[:64],
            token_hash=lookup_hash(token),
            next_path=next_path if next_path and next_path.startswith("/help/") else None,
            expires_at=now if member is not None and member.banned else now + LINK_LIFETIME,
            created_at=now,
        )
    )
    session.flush()
    if member is not None and member.banned:
        return  # counted like any request; no link
    link = (
        f"{settings.base_url.rstrip('/')}{community_path(workspace)}/sign-in/link"
        f"?token={quote(token)}"
    )
    message = _message(settings, workspace, email, link)
    relay = Relay.from_url(settings.smtp_url)
    after_commit(session, lambda: send_in_background(relay, message))


def _refused(message: str, code: str) -> AccordError:
    return AccordError(message, code=code, status=400, field="token")


def check_link(session: Session, workspace: Workspace, token: str) -> CommunityLink:
    """The link a token names while it can still be used; else why not."""
    found = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        found = CommunityRepository.from_session(session).link_by_hash(
            workspace.id, lookup_hash(token)
        )
    if found is None:
        raise _refused(
            "This sign-in link is not valid. Check that it was copied whole, or ask for a new one.",
            "sign_in_link_invalid",
        )
    if found.used_at is not None:
        raise _refused(
            "This sign-in link has already been used. Ask for a new one.", "sign_in_link_used"
        )
    if found.expires_at <= utcnow():
        raise _refused(
            "This sign-in link has expired: a link works for 30 minutes. Ask for a new one.",
            "sign_in_link_expired",
        )
    return found


@dataclass(frozen=True)
class SignedIn:
    member: CommunityMember
    token: str  # the session cookie's value, given once
    next_path: str | None = None


def use_link(session: Session, workspace: Workspace, token: str) -> SignedIn:
    """Sign in with a link: it is used up, the member is made on a first sign-in, and a
    session opens."""
    link = check_link(session, workspace, token)
    now = utcnow()
    if not CommunityRepository.from_session(session).claim_link(link.id, now):
        raise _refused("This sign-in link has already been used.", "sign_in_link_used")
    member = _member(session, workspace, link.email, link.name, "email", now)
    return SignedIn(member, open_session(session, member, now=now), link.next_path)


def sign_in_verified(
    session: Session, workspace: Workspace, *, email: str, name: str | None
) -> SignedIn:
    """Sign in a customer whose email the site's server vouched for (the caller checked
    its signature with the workspace's identity secret)."""
    now = utcnow()
    member = _member(session, workspace, check_email(email), name, "site", now)
    return SignedIn(member, open_session(session, member, now=now))


def join(
    session: Session, workspace: Workspace, email: str, name: str | None, *, via: str = "site"
) -> CommunityMember:
    """The member with this (already verified) email, made when new (imports, the demo)."""
    return _member(session, workspace, check_email(email), name, via, utcnow())


def _member(
    session: Session,
    workspace: Workspace,
    email: str,
    name: str | None,
    via: str,
    now: datetime,
) -> CommunityMember:
    repo = CommunityRepository.from_session(session)
    member = repo.member_by_email(workspace.id, email)
    if member is None:
        member = CommunityMember(
            id=new_id(),
            workspace_id=workspace.id,
            email=email,
            name=display_name(email, name),
            verified_at=now,
            verified_by=via,
            trusted=False,
            banned=False,
            questions=0,
            answers=0,
            accepted=0,
            reputation=0,
            created_at=now,
        )
        session.add(member)
    elif name and name.strip() and via == "site":
        member.name = display_name(email, name)
    if member.banned:
        raise AccordError(
            "This account may no longer take part in the community",
            code="member_banned",
            status=403,
        )
    member.last_seen_at = now
    session.flush()
    return member


def open_session(session: Session, member: CommunityMember, *, now: datetime | None = None) -> str:
    token = random_token(32)
    now = now or utcnow()
    session.add(
        CommunitySession(
            id=new_id(),
            workspace_id=member.workspace_id,
            member_id=member.id,
            token_hash=lookup_hash(token),
            expires_at=now + SESSION_LIFETIME,
            created_at=now,
        )
    )
    session.flush()
    return token


def member_of(session: Session, workspace: Workspace, token: str | None) -> CommunityMember | None:
    """The member a session cookie names in this workspace, while it lasts."""
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    found = CommunityRepository.from_session(session).session_by_hash(
        workspace.id, lookup_hash(token)
    )
    if found is None or found[0].expires_at <= utcnow():
        return None
    return found[1]


def sign_out(session: Session, workspace: Workspace, token: str | None) -> None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return
    found = CommunityRepository.from_session(session).session_by_hash(
        workspace.id, lookup_hash(token)
    )
    if found is not None:
        session.delete(found[0])
        session.flush()


def rename(session: Session, member: CommunityMember, name: str) -> None:
    member.name = display_name(member.email, name)
    session.flush()


def get_member(session: Session, workspace_id: uuid.UUID, member_id: uuid.UUID) -> CommunityMember:
    found = CommunityRepository.from_session(session).member(workspace_id, member_id)
    if found is None:
        raise not_found("Member", field="member_id")
    return found


def ban(
    session: Session, actor: Principal, member_id: uuid.UUID, *, banned: bool = True
) -> CommunityMember:
    """A moderator bans a member (or lifts the ban): a banned member's sessions end, they
    cannot sign in, post, vote or report, and their posts waiting for approval are
    rejected. Audited."""
    member = get_member(session, actor.workspace_id, member_id)
    repo = CommunityRepository.from_session(session)
    member.banned = banned
    member.banned_at = utcnow() if banned else None
    if banned:
        for row in repo.sessions_of(member.id):
            session.delete(row)
        questions, answers = repo.pending_of(member.id)
        for question in questions:
            question.status = "hidden"
        for answer in answers:
            answer.status = "hidden"
    session.flush()
    audit.record(
        session,
        actor,
        "community.member.ban" if banned else "community.member.unban",
        target=str(member.id),
    )
    return member
