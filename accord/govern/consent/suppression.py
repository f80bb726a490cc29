"""The suppression list: identifiers (of erased people, or added by hand) kept only as
salted hashes, so a later tracking call, import or send carrying one is recognised
without Accord keeping the identifier itself."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from accord.govern.consent.repository import SuppressionRepository
from accord.govern.workspaces.models import Workspace

# Suppressions are by identifier type and normalized value (the caller normalizes).
Pair = tuple[str, str]


def digest(salt: str, type_name: str, value: str) -> str:
    return hashlib.sha256(f"{salt}\x1f{type_name}\x1f{value}".encode()).hexdigest()


# A workspace's salt never changes once made: kept per process, so checking a batch of
# tracking calls costs one indexed query.
_SALTS: dict[uuid.UUID, str] = {}
_MAX_SALTS = 10_000


def salt_of(session: Session, workspace_id: uuid.UUID) -> str:
    salt = _SALTS.get(workspace_id)
    if salt is None:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise LookupError(workspace_id)
        salt = workspace.privacy_salt
        if len(_SALTS) >= _MAX_SALTS:
            _SALTS.clear()
        _SALTS[workspace_id] = salt
    return salt


def suppress(
    session: Session,
    workspace_id: uuid.UUID,
    pairs: Iterable[Pair],
    *,
    reason: str,
    request_id: uuid.UUID | None = None,
) -> int:
    """Add identifiers to the list (those already on it are left); returns how many."""
    salt = salt_of(session, workspace_id)
    rows = {digest(salt, t, v): t for t, v in pairs if v}
    return SuppressionRepository.from_session(session).add_many(
        workspace_id, rows, reason=reason, request_id=request_id
    )


def suppressed(session: Session, workspace_id: uuid.UUID, pairs: Iterable[Pair]) -> set[Pair]:
    """Which of these identifiers are on the list."""
    pairs = [p for p in pairs if p[1]]
    if not pairs:
        return set()
    salt = salt_of(session, workspace_id)
    by_digest = {digest(salt, t, v): (t, v) for t, v in pairs}
    found = SuppressionRepository.from_session(session).present(workspace_id, list(by_digest))
    return {by_digest[d] for d in found}
