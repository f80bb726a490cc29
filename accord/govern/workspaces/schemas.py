from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from accord.govern.workspaces.models import Workspace


class WorkspaceRead(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    default_region: str
    timezone: str
    created_at: datetime

    @classmethod
    def of(cls, w: Workspace) -> WorkspaceRead:
        return cls(
            id=w.id,
            name=w.name,
            slug=w.slug,
            default_region=w.default_region,
            timezone=w.timezone,
            created_at=w.created_at,
        )


class WorkspaceUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
