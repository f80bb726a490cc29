from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from accord.analyze.segments.rules import KEY


class SegmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    description: str | None = Field(None, max_length=2000)
    definition: dict[str, Any] = Field(
        description="The rule tree: a group {kind: all|any, conditions: [...]}, "
        "{kind: not, condition}, or one condition (trait, value, computed, event, sequence, "
        "identifier, consent, service, segment, location); see docs/segments.md"
    )


class SegmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    description: str | None
    definition: dict[str, Any]
    status: str
    size: int
    version: int
    topics: list[str]
    calendar: bool
    built_at: datetime | None
    created_at: datetime
    created_by: str | None


class DefinitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    definition: dict[str, Any]
    sample: int = Field(10, ge=0, le=100)


class PersonBrief(BaseModel):
    id: uuid.UUID
    name: str | None
    email: str | None
    last_seen_at: datetime | None


class EstimateRead(BaseModel):
    size: int
    total: int = Field(description="Live people in the workspace")
    exact: bool = Field(description="Counted over everyone (else over a random sample)")
    fraction: float = Field(description="The share of people counted (1: all)")
    sample: list[PersonBrief]
    millis: float


class SegmentMemberRead(BaseModel):
    profile_id: uuid.UUID
    name: str | None
    email: str | None
    since: datetime


class MembersPage(BaseModel):
    data: list[SegmentMemberRead]
    next_after: uuid.UUID | None = Field(description="Pass as `after` for the next page")


class ChangeRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    segment_id: uuid.UUID
    profile_id: uuid.UUID
    kind: Literal["entered", "exited"]
    at: datetime
    cause: str
    detail: str | None
    event: str = Field(description="Audience Entered or Audience Exited")


class SizePoint(BaseModel):
    day: str
    size: int


class ExplainRead(BaseModel):
    profile_id: uuid.UUID
    member: bool = Field(description="In the segment now, as stored")
    holds: bool = Field(description="The definition holds for the person now")
    tree: dict[str, Any]


class ProfileSegment(BaseModel):
    id: uuid.UUID
    name: str
    since: datetime


class ProfileSegments(BaseModel):
    current: list[ProfileSegment]
    history: list[ChangeRead]
    computed: dict[str, Any]


class ComputedTraitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: str = Field(min_length=1, max_length=80, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=120)
    event: str = Field(min_length=1, max_length=200)
    where: list[dict[str, Any]] = Field(default_factory=list, max_length=10)
    aggregate: Literal["count", "sum", "min", "max", "average", "first", "last", "most_frequent"]
    property: str | None = Field(None, max_length=200, pattern=KEY)
    window_days: float | None = Field(None, gt=0, le=3650)


class ComputedTraitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    key: str
    name: str
    event: str
    where: list[dict[str, Any]]
    aggregate: str
    property: str | None
    window_seconds: int | None
    created_at: datetime


class BuildRead(BaseModel):
    segment: SegmentRead
    queued: bool = Field(description="The build runs as a job (a large workspace)")
    entered: int
    exited: int
