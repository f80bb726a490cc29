from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from accord.outreach.schemas import Lift


class JourneyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    template: str | None = Field(default=None, description="A ready-made journey's key")
    definition: dict[str, Any] | None = None


class JourneyUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    definition: dict[str, Any] | None = None


class JourneyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    status: str
    version: int
    template: str | None
    definition: dict[str, Any]
    created_at: datetime
    created_by: str | None
    updated_at: datetime | None
    people: dict[str, int] = Field(default_factory=dict)


class EnterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile_ids: list[uuid.UUID] = Field(min_length=1, max_length=1000)


class EntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    journey_id: uuid.UUID
    version: int
    profile_id: uuid.UUID
    status: str
    step: str | None
    wake_at: datetime | None
    waiting_for: str | None
    holdout: bool
    entered_at: datetime
    finished_at: datetime | None
    reason: str | None


class StepCount(BaseModel):
    step: str
    kind: str
    name: str | None
    reached: int


class JourneyReport(BaseModel):
    journey_id: uuid.UUID
    people: dict[str, int]
    funnel: list[StepCount]
    messages: dict[str, int]
    goal: str | None
    entered: int
    reached_goal: int
    holdout: int
    holdout_reached_goal: int
    conversion: Lift | None


class TemplateRead(BaseModel):
    key: str
    name: str
    description: str
    definition: dict[str, Any]
