"""The scoring API's bodies: runs with their progress and metrics, a person's scores."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict


class RunRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    status: str
    stage: str | None
    progress: float
    requested_by: str | None
    queued_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    as_of: datetime | None
    customers: int
    people: int
    error: str | None


class RunDetail(RunRead):
    models: dict[str, Any]
    metrics: dict[str, Any]


class RunStarted(BaseModel):
    run: RunRead
    new: bool


class ChurnFactor(BaseModel):
    feature: str
    label: str
    contribution: float


class ScoreRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    profile_id: uuid.UUID
    computed_at: datetime
    first_order_at: datetime | None
    last_order_at: datetime | None
    recency_days: int | None
    frequency: int
    monetary: Decimal
    r_score: int | None
    f_score: int | None
    m_score: int | None
    rfm_group: str | None
    rfm_label: str | None = None
    expected_purchases: float | None
    p_alive: float | None
    expected_value: float | None
    clv: float | None
    churn_risk: float | None
    churn_factors: list[ChurnFactor]
    persona: int | None
    persona_name: str | None
    conversations: int
    service_cost: float
    acquisition_cost: float
    relationship_value: float


class GroupCount(BaseModel):
    key: str
    label: str
    description: str
    people: int
    revenue: float
    average_clv: float | None


class CustomerSummary(BaseModel):
    """What the customer dashboards show: the last finished run, the one under way, the
    people per RFM group now."""

    run: RunDetail | None
    running: RunRead | None
    groups: list[GroupCount]
