"""Imports every ORM model so the metadata is complete (Alembic, tests)."""

from accord.collect.models import Event
from accord.govern.access.models import ApiKey, LoginAttempt, Membership, User, UserSession
from accord.govern.audit.models import AuditEvent
from accord.govern.workspaces.models import Workspace
from accord.kit.db import Base
from accord.match.models import MatchCandidate, MatchRun
from accord.profile.models import Order, Profile
from accord.resolve.models import (
    Identifier,
    IdentityLink,
    Merge,
    Separation,
    SeparationMember,
)

__all__ = [
    "ApiKey",
    "AuditEvent",
    "Base",
    "Event",
    "Identifier",
    "IdentityLink",
    "LoginAttempt",
    "MatchCandidate",
    "MatchRun",
    "Membership",
    "Merge",
    "Order",
    "Profile",
    "Separation",
    "SeparationMember",
    "User",
    "UserSession",
    "Workspace",
]
