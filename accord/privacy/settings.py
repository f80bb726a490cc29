"""The privacy settings group: retention days per kind of data, when requests are due,
and what an erase keeps because the law requires it."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import SettingsGroup
from accord.privacy.schemas import PrivacySettings

PRIVACY = SettingsGroup("privacy", PrivacySettings)


def read(workspace: Workspace) -> PrivacySettings:
    return PRIVACY.read(workspace)


def with_version(session: Session, workspace_id: uuid.UUID) -> tuple[PrivacySettings, int]:
    return PRIVACY.read_with_version(session, workspace_id)
