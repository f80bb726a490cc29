"""Scopes an API token may carry, and the scopes each console role grants.

A write key carries only ``events:write`` and is refused by every ``/api/v1`` route: it may
only send data in through the collection endpoints.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    ANALYST = "analyst"


class Scope(StrEnum):
    WORKSPACE_READ = "workspace:read"
    WORKSPACE_ADMIN = "workspace:admin"
    PROFILES_READ = "profiles:read"
    PROFILES_WRITE = "profiles:write"
    EVENTS_WRITE = "events:write"
    CONVERSATIONS_READ = "conversations:read"
    CONVERSATIONS_WRITE = "conversations:write"
    ANALYTICS_READ = "analytics:read"
    SEGMENTS_WRITE = "segments:write"
    CAMPAIGNS_WRITE = "campaigns:write"
    OUTREACH_SEND = "outreach:send"
    KNOWLEDGE_WRITE = "knowledge:write"
    AUDIT_READ = "audit:read"
    RESOLVE_RUN = "resolve:run"
    PRIVACY = "privacy:manage"


SCOPE_DESCRIPTIONS: dict[Scope, str] = {
    Scope.WORKSPACE_READ: "Read the workspace and its members",
    Scope.WORKSPACE_ADMIN: "Manage the workspace, its users and its keys",
    Scope.PROFILES_READ: "Read customer profiles, events and exports",
    Scope.PROFILES_WRITE: "Change, merge, split and erase customer profiles",
    Scope.EVENTS_WRITE: "Send events and imports on the server side",
    Scope.CONVERSATIONS_READ: "Read conversations in the inbox",
    Scope.CONVERSATIONS_WRITE: "Reply to, assign and change conversations",
    Scope.ANALYTICS_READ: "Read segments, metrics and reports",
    Scope.SEGMENTS_WRITE: "Create and change segments, computed traits and audience destinations",
    Scope.CAMPAIGNS_WRITE: "Create and change campaigns, their short links and QR codes",
    Scope.OUTREACH_SEND: "Create, send, pause and cancel email campaigns; outreach settings",
    Scope.KNOWLEDGE_WRITE: "Write, publish and archive help-center articles and categories",
    Scope.AUDIT_READ: "Read the audit log",
    Scope.RESOLVE_RUN: "Start probabilistic identity resolution runs",
    Scope.PRIVACY: "Handle data-subject requests (export, erase), retention and the access log",
}

ALL_SCOPES: frozenset[Scope] = frozenset(Scope)

ROLE_SCOPES: dict[Role, frozenset[Scope]] = {
    Role.ADMIN: ALL_SCOPES,
    Role.AGENT: frozenset(
        {
            Scope.WORKSPACE_READ,
            Scope.PROFILES_READ,
            Scope.PROFILES_WRITE,
            Scope.CONVERSATIONS_READ,
            Scope.CONVERSATIONS_WRITE,
            Scope.KNOWLEDGE_WRITE,
        }
    ),
    Role.ANALYST: frozenset(
        {
            Scope.WORKSPACE_READ,
            Scope.PROFILES_READ,
            Scope.ANALYTICS_READ,
            Scope.SEGMENTS_WRITE,
            Scope.CAMPAIGNS_WRITE,
            Scope.OUTREACH_SEND,
            Scope.CONVERSATIONS_READ,
        }
    ),
}
