"""The consent settings group: regions' opt-in rules, double opt-in, the notice version,
Segment's consent categories and what becomes of suppressed identifiers."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.consent.schemas import ConsentSettings
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import SettingsGroup

CONSENT = SettingsGroup("consent", ConsentSettings)


# Parsed settings by workspace and version: every send reads them, and each write bumps
# the version, so an entry is never stale for the version it names.
_PARSED: dict[tuple[uuid.UUID, int], ConsentSettings] = {}
_MAX_PARSED = 1_000


def read(workspace: Workspace) -> ConsentSettings:
    key = (workspace.id, CONSENT.version(workspace))
    parsed = _PARSED.get(key)
    if parsed is None:
        if len(_PARSED) >= _MAX_PARSED:
            _PARSED.clear()
        parsed = _PARSED[key] = CONSENT.read(workspace)
    return parsed


def with_version(session: Session, workspace_id: uuid.UUID) -> tuple[ConsentSettings, int]:
    return CONSENT.read_with_version(session, workspace_id)


def save(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[ConsentSettings, int]:
    return CONSENT.save(session, workspace_id, raw, actor=actor, expected_version=expected_version)
