"""Rules of access: who may sign in, which keys exist, what each principal may do.

Services flush and never commit; the caller owns the transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.access.models import ApiKey, LoginAttempt, Membership, User, UserSession
from accord.govern.access.principal import Principal
from accord.govern.access.repository import (
    ApiKeyRepository,
    LoginAttemptRepository,
    MembershipRepository,
    PasswordResetRepository,
    UserRepository,
    UserSessionRepository,
)
from accord.govern.access.scopes import ALL_SCOPES, ROLE_SCOPES, Role, Scope
from accord.govern.audit import service as audit
from accord.govern.workspaces.models import Workspace
from accord.kit.errors import AccordError, conflict, forbidden, invalid, not_found, unauthorized
from accord.kit.security import (
    MIN_PASSWORD_LENGTH,
    hash_password,
    lookup_hash,
    password_needs_rehash,
    random_token,
    verify_password,
)
from accord.kit.signals import after_commit
from accord.kit.time import utcnow

WRITE_KEY_PREFIX = "wk_"
API_TOKEN_PREFIX = "acc_"  # noqa: S105 (a prefix)
KEY_KINDS = ("write", "token")
LAST_USED_RESOLUTION = timedelta(minutes=1)


def normalize_email(email: str) -> str:
    return email.strip().lower()


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        allowed = ", ".join(r.value for r in Role)
        raise invalid(f"Unknown role {role!r}; use one of {allowed}", field="role") from None


def parse_scopes(scopes: Iterable[str] | None) -> list[str]:
    if scopes is None:
        return sorted(str(s) for s in ALL_SCOPES)
    out = set()
    for s in scopes:
        if s not in {str(x) for x in Scope}:
            raise invalid(f"Unknown scope {s!r}", field="scopes", code="unknown_scope")
        out.add(s)
    if not out:
        raise invalid("An API token needs at least one scope", field="scopes")
    return sorted(out)


def check_password_strength(password: str, field_name: str = "password") -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise invalid(
            f"The password must be at least {MIN_PASSWORD_LENGTH} characters long",
            field=field_name,
            code="password_too_short",
        )


# --- users and memberships -------------------------------------------------------------


def add_member(
    session: Session,
    *,
    workspace_id: uuid.UUID,
    email: str,
    role: str,
    actor: Principal,
    password: str | None = None,
    name: str = "",
) -> tuple[Membership, str | None]:
    """Add a user to a workspace, creating the user when the email is new. Returns the
    membership and, when a password had to be generated, that password (shown once)."""
    role_value = parse_role(role)
    email = normalize_email(email)
    users = UserRepository.from_session(session)
    memberships = MembershipRepository.from_session(session)
    user = users.get_by_email(email)
    generated: str | None = None
    if user is None:
        if password is None:
            password = generated = random_token(12)
        check_password_strength(password)
        user = users.add(User(email=email, name=name, password_hash=hash_password(password)))
    elif memberships.get(workspace_id, user.id) is not None:
        raise conflict(f"{email} is already a member of this workspace", field="email")
    elif password is not None:
        raise conflict(
            f"{email} already has an account; their password stays as it is",
            field="password",
            code="user_exists",
        )
    membership = memberships.add(
        Membership(workspace_id=workspace_id, user_id=user.id, role=role_value.value)
    )
    membership = memberships.get(workspace_id, user.id) or membership
    audit.record(session, actor, "member.added", target=email, data={"role": role_value.value})
    return membership, generated


def get_member(session: Session, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership:
    membership = MembershipRepository.from_session(session).get(workspace_id, user_id)
    if membership is None:
        raise not_found("User", field="user_id")
    return membership


def list_members(session: Session, workspace_id: uuid.UUID) -> list[Membership]:
    return MembershipRepository.from_session(session).in_workspace(workspace_id)


def _guard_last_admin(session: Session, membership: Membership) -> None:
    if membership.role == Role.ADMIN and (
        MembershipRepository.from_session(session).count_admins(membership.workspace_id) <= 1
    ):
        raise conflict("A workspace keeps at least one admin", field="role", code="last_admin")


def update_member(
    session: Session,
    *,
    workspace_id: uuid.UUID,
    user_id: uuid.UUID,
    actor: Principal,
    role: str | None = None,
    name: str | None = None,
) -> Membership:
    membership = get_member(session, workspace_id, user_id)
    if role is not None:
        new_role = parse_role(role)
        if new_role != membership.role:
            _guard_last_admin(session, membership)
            audit.record(
                session,
                actor,
                "member.role_changed",
                target=membership.user.email,
                data={"from": membership.role, "to": new_role.value},
            )
            membership.role = new_role.value
    if name is not None:
        membership.user.name = name
    session.flush()
    return membership


def remove_member(
    session: Session, *, workspace_id: uuid.UUID, user_id: uuid.UUID, actor: Principal
) -> None:
    membership = get_member(session, workspace_id, user_id)
    _guard_last_admin(session, membership)
    email = membership.user.email
    MembershipRepository.from_session(session).delete(membership)
    UserSessionRepository.from_session(session).delete_for_user(user_id)
    audit.record(session, actor, "member.removed", target=email)


def set_password(
    session: Session,
    user: User,
    password: str,
    *,
    keep_session: uuid.UUID | None = None,
    field_name: str = "password",
) -> None:
    """Give a user a new password: every session of theirs ends (but ``keep_session``, the
    one that made the change), every reset link of theirs stops working, and failed
    sign-ins before now no longer count against the account."""
    check_password_strength(password, field_name)
    now = utcnow()
    user.password_hash = hash_password(password)
    user.password_changed_at = now
    UserSessionRepository.from_session(session).delete_for_user(user.id, keep=keep_session)
    PasswordResetRepository.from_session(session).end_for_user(user.id, now)
    session.flush()


def audit_user(session: Session, user: User, action: str, *, by_cli: bool = False) -> None:
    """Record what happened to a user's account in each workspace they belong to, as done
    by the user themselves or, with ``by_cli``, by an admin on the command line."""
    for membership in MembershipRepository.from_session(session).for_user(user.id):
        actor = (
            Principal.cli(membership.workspace_id)
            if by_cli
            else Principal(
                workspace_id=membership.workspace_id,
                kind="user",
                label=f"user:{user.email}",
                user_id=user.id,
            )
        )
        audit.record(session, actor, action, target=user.email)


def change_password(
    session: Session,
    settings: Settings,
    identity: ConsoleIdentity,
    *,
    current: str,
    new: str,
    confirm: str,
    ip: str,
) -> None:
    """A signed-in user changes their own password; their other sessions end.

    A wrong current password is refused with ``wrong_password`` and counts as a failed
    sign-in (the caller records it, as for ``login``), so a session left open cannot be
    used to guess the password; the sign-in limits apply."""
    user = identity.user
    _throttle(session, settings, user.email, ip, user.password_changed_at)
    if not verify_password(user.password_hash, current):
        raise AccordError(
            "The current password is not correct",
            code="wrong_password",
            status=400,
            field="current_password",
        )
    if new != confirm:
        raise invalid(
            "The two new passwords are not the same", field="confirm", code="passwords_differ"
        )
    set_password(session, user, new, keep_session=identity.session.id, field_name="new_password")
    audit_user(session, user, "user.password_changed")


# --- keys ---------------------------------------------------------------------------------


def create_key(
    session: Session,
    *,
    workspace_id: uuid.UUID,
    kind: str,
    name: str,
    actor: Principal,
    scopes: Iterable[str] | None = None,
) -> tuple[ApiKey, str]:
    """Create a write key or an API token; returns it with its plain value (shown once)."""
    if kind not in KEY_KINDS:
        raise invalid("kind must be 'write' or 'token'", field="kind")
    name = name.strip()
    if not name:
        raise invalid("A key needs a name", field="name")
    if kind == "write":
        plain = WRITE_KEY_PREFIX + random_token(18)
        key_scopes: list[str] = [str(Scope.EVENTS_WRITE)]
    else:
        plain = API_TOKEN_PREFIX + random_token(30)
        key_scopes = parse_scopes(scopes)
    key = ApiKey(
        workspace_id=workspace_id,
        kind=kind,
        name=name,
        prefix=plain[:12],
        key_hash=lookup_hash(plain),
        write_key=plain if kind == "write" else None,
        scopes=key_scopes,
        created_by=actor.user_id,
    )
    ApiKeyRepository.from_session(session).add(key)
    audit.record(
        session, actor, "key.created", target=f"{kind}:{name}", data={"scopes": key_scopes}
    )
    return key, plain


def list_keys(session: Session, workspace_id: uuid.UUID) -> list[ApiKey]:
    return ApiKeyRepository.from_session(session).in_workspace(workspace_id)


def revoke_key(
    session: Session,
    *,
    workspace_id: uuid.UUID,
    key_id: uuid.UUID,
    actor: Principal,
    publish: Callable[[uuid.UUID, dict[str, Any]], None] | None = None,
) -> ApiKey:
    """Revoke a key. ``publish`` (the live broker's) tells every worker after commit, so
    none keeps accepting a write key it remembered."""
    key = ApiKeyRepository.from_session(session).get(workspace_id, key_id)
    if key is None or key.revoked_at is not None:
        raise not_found("Key", field="key_id")
    if actor.key_id == key.id:
        raise conflict("A token cannot revoke itself", field="key_id", code="self_revoke")
    key.revoked_at = utcnow()
    session.flush()
    audit.record(session, actor, "key.revoked", target=f"{key.kind}:{key.name}")
    if publish is not None:
        after_commit(session, lambda: publish(workspace_id, {"type": KEYS_REVOKED}))
    return key


KEYS_REVOKED = "keys_revoked"  # the live update that makes workers forget remembered keys


def _touch(key: ApiKey) -> None:
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at > LAST_USED_RESOLUTION:
        key.last_used_at = now


def authenticate_token(session: Session, token: str) -> Principal:
    """The principal of a Bearer token. Write keys are refused with a clear message."""
    key = ApiKeyRepository.from_session(session).get_active_by_hash(lookup_hash(token))
    if key is None:
        raise unauthorized("The API token is unknown or revoked")
    if key.kind == "write":
        raise forbidden(
            "A write key can only send data in; use an API token to read or manage",
            code="write_key_not_allowed",
        )
    _touch(key)
    return Principal(
        workspace_id=key.workspace_id,
        kind="token",
        label=f"token:{key.name}",
        scopes=frozenset(key.scopes),
        key_id=key.id,
    )


def authenticate_write_key(session: Session, write_key: str) -> Principal:
    key = ApiKeyRepository.from_session(session).get_active_by_hash(lookup_hash(write_key))
    if key is None or key.kind != "write":
        raise unauthorized("The write key is unknown or revoked")
    _touch(key)
    return Principal(
        workspace_id=key.workspace_id,
        kind="write_key",
        label=f"write_key:{key.name}",
        scopes=frozenset(key.scopes),
        key_id=key.id,
    )


# --- console sessions ---------------------------------------------------------------------


def _throttled(retry: datetime | None, window: timedelta) -> AccordError:
    seconds = int(((retry or utcnow()) + window - utcnow()).total_seconds()) + 1
    return AccordError(
        "Too many failed sign-ins; try again later",
        code="login_throttled",
        status=429,
        headers={"Retry-After": str(max(seconds, 1))},
    )


def _throttle(
    session: Session,
    settings: Settings,
    email: str,
    ip: str,
    changed_at: datetime | None = None,
) -> None:
    """Refuse a sign-in while failures within the window reach a limit: of this email from
    this address (so wrong passwords from elsewhere never lock its owner out), from this
    address for any email, or of this email from any address (a guess spread over many
    addresses still stops). Failures before the password was last changed or reset
    (``changed_at``) no longer count against the account."""
    attempts = LoginAttemptRepository.from_session(session)
    window = timedelta(minutes=settings.login_window_minutes)
    since = utcnow() - window
    account_since = max(since, changed_at) if changed_at is not None else since
    of_pair, of_ip, of_account = attempts.failure_counts(
        email=email, ip=ip, since=since, account_since=account_since
    )
    if of_ip >= settings.login_max_failures_per_ip:
        raise _throttled(attempts.oldest_failure_since(since=since, ip=ip), window)
    if of_pair >= settings.login_max_failures:
        oldest = attempts.oldest_failure_since(since=account_since, email=email, ip=ip)
        raise _throttled(oldest, window)
    if of_account >= settings.login_max_failures_per_account:
        raise _throttled(attempts.oldest_failure_since(since=account_since, email=email), window)


def login(
    session: Session,
    settings: Settings,
    *,
    email: str,
    password: str,
    ip: str,
    user_agent: str | None = None,
) -> tuple[UserSession, str]:
    """Check the credentials and open a console session; returns it and its cookie token.

    The failed attempt is recorded by the caller in its own transaction (see
    ``record_login_failure``) so that it survives the rollback of this one."""
    email = normalize_email(email)
    user = UserRepository.from_session(session).get_by_email(email)
    _throttle(session, settings, email, ip, user.password_changed_at if user else None)
    ok = verify_password(user.password_hash if user else None, password)
    memberships = MembershipRepository.from_session(session).for_user(user.id) if user else []
    if user is None or not ok or not user.is_active or not memberships:
        raise AccordError(
            "The email or password is not correct",
            code="invalid_credentials",
            status=401,
            field="password",
        )
    if password_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    now = utcnow()
    user.last_login_at = now
    token = random_token(32)
    user_session = UserSessionRepository.from_session(session).add(
        UserSession(
            user_id=user.id,
            workspace_id=memberships[0].workspace_id,
            token_hash=lookup_hash(token),
            expires_at=now + timedelta(days=settings.session_days),
            last_seen_at=now,
            ip=ip,
            user_agent=(user_agent or "")[:400],
        )
    )
    LoginAttemptRepository.from_session(session).add(LoginAttempt(email=email, ip=ip, success=True))
    return user_session, token


def record_login_failure(session: Session, *, email: str, ip: str) -> None:
    LoginAttemptRepository.from_session(session).add(
        LoginAttempt(email=normalize_email(email), ip=ip, success=False)
    )


@dataclass(frozen=True)
class ConsoleIdentity:
    session: UserSession
    user: User
    membership: Membership

    @property
    def principal(self) -> Principal:
        role = Role(self.membership.role)
        return Principal(
            workspace_id=self.membership.workspace_id,
            kind="user",
            label=f"user:{self.user.email}",
            scopes=frozenset(str(s) for s in ROLE_SCOPES[role]),
            user_id=self.user.id,
            role=role.value,
        )


def resolve_console_session(session: Session, token: str) -> ConsoleIdentity | None:
    found = UserSessionRepository.from_session(session).with_user(lookup_hash(token))
    now = utcnow()
    if found is None:
        return None
    user_session, user, membership = found
    if user_session.expires_at < now or not user.is_active:
        return None
    if membership is None:
        # Removed from the workspace this session was in: fall back to another, or end it.
        others = MembershipRepository.from_session(session).for_user(user.id)
        if not others:
            return None
        user_session.workspace_id = others[0].workspace_id
        membership = MembershipRepository.from_session(session).get(others[0].workspace_id, user.id)
        if membership is None:
            return None
    if now - user_session.last_seen_at > LAST_USED_RESOLUTION:
        user_session.last_seen_at = now
    return ConsoleIdentity(session=user_session, user=user, membership=membership)


def logout(session: Session, token: str) -> None:
    sessions = UserSessionRepository.from_session(session)
    user_session = sessions.get_by_hash(lookup_hash(token))
    if user_session is not None:
        sessions.delete(user_session)


def switch_workspace(session: Session, identity: ConsoleIdentity, workspace_id: uuid.UUID) -> None:
    if MembershipRepository.from_session(session).get(workspace_id, identity.user.id) is None:
        raise not_found("Workspace", field="workspace_id")
    identity.session.workspace_id = workspace_id
    session.flush()


def member_workspaces(session: Session, user_id: uuid.UUID) -> list[Workspace]:
    """The workspaces a user belongs to, by name (the console's switcher)."""
    return MembershipRepository.from_session(session).workspaces_of(user_id)


def workspaces_of(session: Session, user_id: uuid.UUID) -> list[uuid.UUID]:
    return [m.workspace_id for m in MembershipRepository.from_session(session).for_user(user_id)]
