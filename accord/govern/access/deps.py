"""Authentication dependencies for the HTTP API.

``/api/v1`` takes API tokens only (``Authorization: Bearer acc_...``); a write key sent
there is refused. A token checked moments ago is remembered by the process for a few
seconds (``keycache``) where revocations are heard, that is while the live broker runs.
The console uses its own session cookie (``accord.web.auth``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from accord.govern.access import service as access
from accord.govern.access.keycache import KeyCache
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import Scope
from accord.kit.deps import DbSession
from accord.kit.errors import unauthorized
from accord.kit.security import lookup_hash

bearer = HTTPBearer(auto_error=False, description="An API token: `Bearer acc_...`")


def api_principal(
    request: Request,
    session: DbSession,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Principal:
    if credentials is None or not credentials.credentials:
        raise unauthorized("Send an API token in the Authorization header: Bearer acc_...")
    token = credentials.credentials
    cache: KeyCache[Principal] | None = (
        request.app.state.token_cache if request.app.state.broker is not None else None
    )
    digest = lookup_hash(token)
    remembered = cache.get(digest) if cache is not None else None
    if remembered is not None:
        return remembered
    principal = access.authenticate_token(session, token)
    if cache is not None:
        cache.put(digest, principal)
    return principal


def token_cache() -> KeyCache[Principal]:
    return KeyCache(lambda principal: principal.workspace_id)


def require(*scopes: Scope) -> Callable[..., Principal]:
    """Dependency factory: the calling token must hold every scope given."""

    def dependency(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
        principal.require(*scopes)
        return principal

    dependency.__name__ = "require_" + "_".join(s.value.replace(":", "_") for s in scopes)
    return dependency


WorkspaceAdmin = Annotated[Principal, Depends(require(Scope.WORKSPACE_ADMIN))]
WorkspaceReader = Annotated[Principal, Depends(require(Scope.WORKSPACE_READ))]
AuditReader = Annotated[Principal, Depends(require(Scope.AUDIT_READ))]
EventsWriter = Annotated[Principal, Depends(require(Scope.EVENTS_WRITE))]
ProfilesReader = Annotated[Principal, Depends(require(Scope.PROFILES_READ))]
ProfilesWriter = Annotated[Principal, Depends(require(Scope.PROFILES_WRITE))]
ConversationsReader = Annotated[Principal, Depends(require(Scope.CONVERSATIONS_READ))]
ConversationsWriter = Annotated[Principal, Depends(require(Scope.CONVERSATIONS_WRITE))]
AnalyticsReader = Annotated[Principal, Depends(require(Scope.ANALYTICS_READ))]
SegmentsWriter = Annotated[Principal, Depends(require(Scope.ANALYTICS_READ, Scope.SEGMENTS_WRITE))]
# A segment's members exported with their personal data (an audience file) read people.
AudienceExporter = Annotated[Principal, Depends(require(Scope.ANALYTICS_READ, Scope.PROFILES_READ))]
# Where a destination sends people's changes (with their email and name) is set the same way.
AudienceWriter = Annotated[
    Principal, Depends(require(Scope.ANALYTICS_READ, Scope.SEGMENTS_WRITE, Scope.PROFILES_READ))
]
OutreachWriter = Annotated[Principal, Depends(require(Scope.ANALYTICS_READ, Scope.OUTREACH_SEND))]
KnowledgeWriter = Annotated[Principal, Depends(require(Scope.KNOWLEDGE_WRITE))]
ResolveRunner = Annotated[Principal, Depends(require(Scope.RESOLVE_RUN))]
PrivacyOfficer = Annotated[Principal, Depends(require(Scope.PRIVACY))]
# A data-subject export reads the person; an erase changes them (``profiles:write``).
PrivacyExporter = Annotated[Principal, Depends(require(Scope.PRIVACY, Scope.PROFILES_READ))]
PrivacyEraser = Annotated[Principal, Depends(require(Scope.PRIVACY, Scope.PROFILES_WRITE))]
