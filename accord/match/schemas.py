from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from accord.profile.schemas import ProfileSummary


class RunRequest(BaseModel):
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb", description="duckdb (one machine) or spark (ACCORD_SPARK_MASTER)"
    )
    wait: bool = Field(
        default=False,
        description="Run within the request and answer with the finished run; otherwise the "
        "run is queued for the matching thread and answered at once (202)",
    )


class RunRead(BaseModel):
    id: uuid.UUID
    kind: str
    engine: str
    trigger: str
    status: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    records: int
    pairs: int
    merged: int
    proposed: int
    households: int
    report: dict[str, Any]
    error: str | None


class FieldEvidence(BaseModel):
    level: str = Field(description="The comparison level the two values reached")
    weight: float = Field(description="Its match weight (log2 Bayes factor)")
    a: str | None
    b: str | None


class CandidateRead(BaseModel):
    id: uuid.UUID
    kind: Literal["duplicate", "household"]
    status: str
    match_probability: float
    match_weight: float
    profile_a: ProfileSummary
    profile_b: ProfileSummary
    fields: dict[str, FieldEvidence]
    created_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    merge_id: uuid.UUID | None


class Household(BaseModel):
    members: list[ProfileSummary]
    links: int
