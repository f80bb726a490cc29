"""Imports every ORM model so the metadata is complete (Alembic, tests)."""

from accord.govern.access.models import ApiKey, LoginAttempt, Membership, User, UserSession
from accord.govern.audit.models import AuditEvent
from accord.govern.workspaces.models import Workspace
from accord.kit.db import Base

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "LoginAttempt",
    "Membership",
    "User",
    "UserSession",
    "Workspace",
]
