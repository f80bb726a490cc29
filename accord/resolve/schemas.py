from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from accord.resolve.failures import MAX_RETRY_IDS


class FailedEventRead(BaseModel):
    """An event resolution gave up on, and why."""

    id: uuid.UUID
    message_id: str
    type: str
    name: str | None
    error: str | None
    received_at: datetime
    timestamp: datetime


class FailedEventPage(BaseModel):
    data: list[FailedEventRead]
    total: int
    limit: int
    offset: int


class RetryRequest(BaseModel):
    """Which failed events to resolve again: ``ids``, or every one when left out."""

    model_config = ConfigDict(extra="forbid")

    ids: list[uuid.UUID] | None = Field(default=None, max_length=MAX_RETRY_IDS)


class RetryResult(BaseModel):
    retried: int
