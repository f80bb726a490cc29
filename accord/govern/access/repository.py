from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Select, case, delete, func, or_, select, update
from sqlalchemy.orm import contains_eager

from accord.govern.access.models import (
    ApiKey,
    LoginAttempt,
    Membership,
    PasswordReset,
    User,
    UserSession,
)
from accord.govern.workspaces.models import Workspace
from accord.kit.repository import Repository


class UserRepository(Repository):
    def get(self, user_id: uuid.UUID) -> User | None:
        return self.session.get(User, user_id)

    def get_by_email(self, email: str) -> User | None:
        return self.session.scalars(select(User).where(User.email == email)).first()

    def add(self, user: User) -> User:
        self.session.add(user)
        self.session.flush()
        return user


class MembershipRepository(Repository):
    def _with_user(self) -> Select[Membership]:
        return select(Membership).join(Membership.user).options(contains_eager(Membership.user))

    def get(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        stmt = self._with_user().where(
            Membership.workspace_id == workspace_id, Membership.user_id == user_id
        )
        return self.session.scalars(stmt).first()

    def in_workspace(self, workspace_id: uuid.UUID) -> list[Membership]:
        stmt = self._with_user().where(Membership.workspace_id == workspace_id).order_by(User.email)
        return list(self.session.scalars(stmt))

    def for_user(self, user_id: uuid.UUID) -> list[Membership]:
        stmt = select(Membership).where(Membership.user_id == user_id)
        return list(self.session.scalars(stmt))

    def workspaces_of(self, user_id: uuid.UUID) -> list[Workspace]:
        """The workspaces a user belongs to, by name (the console's switcher)."""
        stmt = (
            select(Workspace)
            .join(Membership, Membership.workspace_id == Workspace.id)
            .where(Membership.user_id == user_id)
            .order_by(Workspace.name)
        )
        return list(self.session.scalars(stmt))

    def count_admins(self, workspace_id: uuid.UUID) -> int:
        stmt = (
            select(func.count())
            .select_from(Membership)
            .join(User, User.id == Membership.user_id)
            .where(
                Membership.workspace_id == workspace_id,
                Membership.role == "admin",
                User.is_active.is_(True),
            )
        )
        return int(self.session.scalar(stmt) or 0)

    def add(self, membership: Membership) -> Membership:
        self.session.add(membership)
        self.session.flush()
        return membership

    def delete(self, membership: Membership) -> None:
        self.session.delete(membership)
        self.session.flush()


class ApiKeyRepository(Repository):
    def get_active_by_hash(self, key_hash: str) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.key_hash == key_hash, ApiKey.revoked_at.is_(None))
        return self.session.scalars(stmt).first()

    def get(self, workspace_id: uuid.UUID, key_id: uuid.UUID) -> ApiKey | None:
        stmt = select(ApiKey).where(ApiKey.workspace_id == workspace_id, ApiKey.id == key_id)
        return self.session.scalars(stmt).first()

    def in_workspace(
        self, workspace_id: uuid.UUID, *, include_revoked: bool = False
    ) -> list[ApiKey]:
        stmt = select(ApiKey).where(ApiKey.workspace_id == workspace_id)
        if not include_revoked:
            stmt = stmt.where(ApiKey.revoked_at.is_(None))
        return list(self.session.scalars(stmt.order_by(ApiKey.created_at, ApiKey.id)))

    def add(self, key: ApiKey) -> ApiKey:
        self.session.add(key)
        self.session.flush()
        return key


class UserSessionRepository(Repository):
    def get_by_hash(self, token_hash: str) -> UserSession | None:
        stmt = select(UserSession).where(UserSession.token_hash == token_hash)
        return self.session.scalars(stmt).first()

    def with_user(self, token_hash: str) -> tuple[UserSession, User, Membership | None] | None:
        """A console session, its user and their membership of the session's workspace
        (None when they were removed from it), in one query: every console request's."""
        stmt = (
            select(UserSession, User, Membership)
            .join(User, User.id == UserSession.user_id)
            .outerjoin(
                Membership,
                (Membership.workspace_id == UserSession.workspace_id)
                & (Membership.user_id == UserSession.user_id),
            )
            .where(UserSession.token_hash == token_hash)
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1], row[2]) if row is not None else None

    def add(self, user_session: UserSession) -> UserSession:
        self.session.add(user_session)
        self.session.flush()
        return user_session

    def delete(self, user_session: UserSession) -> None:
        self.session.delete(user_session)
        self.session.flush()

    def delete_for_user(self, user_id: uuid.UUID, *, keep: uuid.UUID | None = None) -> None:
        """End every session of a user (but ``keep``, the one making the change)."""
        stmt = delete(UserSession).where(UserSession.user_id == user_id)
        if keep is not None:
            stmt = stmt.where(UserSession.id != keep)
        self.session.execute(stmt)

    def count_for_user(self, user_id: uuid.UUID) -> int:
        stmt = select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)
        return int(self.session.scalar(stmt) or 0)

    def delete_expired(self, now: datetime) -> int:
        result = self.session.execute(delete(UserSession).where(UserSession.expires_at < now))
        return int(getattr(result, "rowcount", 0) or 0)


class LoginAttemptRepository(Repository):
    def add(self, attempt: LoginAttempt) -> None:
        self.session.add(attempt)
        self.session.flush()

    def failure_counts(
        self, *, email: str, ip: str, since: datetime, account_since: datetime
    ) -> tuple[int, int, int]:
        """Failed sign-ins in one query: of ``email`` from ``ip`` and of ``email`` from any
        address, both since ``account_since``, and from ``ip`` for any email since
        ``since`` (``account_since`` is never earlier than ``since``)."""
        of_account = (LoginAttempt.email == email) & (LoginAttempt.created_at >= account_since)
        from_ip = LoginAttempt.ip == ip
        stmt = select(
            func.coalesce(func.sum(case((of_account & from_ip, 1), else_=0)), 0),
            func.coalesce(func.sum(case((from_ip, 1), else_=0)), 0),
            func.coalesce(func.sum(case((of_account, 1), else_=0)), 0),
        ).where(
            LoginAttempt.success.is_(False),
            LoginAttempt.created_at >= since,
            or_(LoginAttempt.email == email, from_ip),
        )
        row = self.session.execute(stmt).one()
        return int(row[0]), int(row[1]), int(row[2])

    def oldest_failure_since(
        self, *, since: datetime, email: str | None = None, ip: str | None = None
    ) -> datetime | None:
        stmt = select(func.min(LoginAttempt.created_at)).where(
            LoginAttempt.success.is_(False), LoginAttempt.created_at >= since
        )
        if email is not None:
            stmt = stmt.where(LoginAttempt.email == email)
        if ip is not None:
            stmt = stmt.where(LoginAttempt.ip == ip)
        return self.session.scalar(stmt)


class PasswordResetRepository(Repository):
    def add(self, reset: PasswordReset) -> PasswordReset:
        self.session.add(reset)
        self.session.flush()
        return reset

    def requests_since(
        self, *, since: datetime, email: str | None = None, ip: str | None = None
    ) -> int:
        stmt = (
            select(func.count()).select_from(PasswordReset).where(PasswordReset.created_at >= since)
        )
        if email is not None:
            stmt = stmt.where(PasswordReset.email == email)
        if ip is not None:
            stmt = stmt.where(PasswordReset.ip == ip)
        return int(self.session.scalar(stmt) or 0)

    def oldest_request_since(
        self, *, since: datetime, email: str | None = None, ip: str | None = None
    ) -> datetime | None:
        stmt = select(func.min(PasswordReset.created_at)).where(PasswordReset.created_at >= since)
        if email is not None:
            stmt = stmt.where(PasswordReset.email == email)
        if ip is not None:
            stmt = stmt.where(PasswordReset.ip == ip)
        return self.session.scalar(stmt)

    def by_token_hash(self, token_hash: str) -> tuple[PasswordReset, User] | None:
        stmt = (
            select(PasswordReset, User)
            .join(User, User.id == PasswordReset.user_id)
            .where(PasswordReset.token_hash == token_hash)
        )
        row = self.session.execute(stmt).first()
        return (row[0], row[1]) if row is not None else None

    def claim(self, reset_id: uuid.UUID, now: datetime) -> bool:
        """Mark a link used unless it already was: of two requests racing with one link,
        only one gets True."""
        result = self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.id == reset_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
        return int(getattr(result, "rowcount", 0) or 0) == 1

    def end_for_user(self, user_id: uuid.UUID, now: datetime) -> None:
        """Every link of a user not used yet stops working."""
        self.session.execute(
            update(PasswordReset)
            .where(PasswordReset.user_id == user_id, PasswordReset.used_at.is_(None))
            .values(used_at=now)
        )
