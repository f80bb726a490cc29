from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, Field

from accord.profile.schemas import ProfileSummary


class IdentifierRead(BaseModel):
    type: str
    value: str
    source: str
    first_seen_at: datetime
    last_seen_at: datetime


class TraitRead(BaseModel):
    value: Any
    source: str
    at: datetime
    event: str = Field(description="messageId of the event that supplied the value")


class ProfileRead(ProfileSummary):
    identifiers: list[IdentifierRead]
    traits: dict[str, Any] = Field(description="The golden record: the winning value per trait")
    trait_sources: dict[str, TraitRead] = Field(description="Where each winning value came from")
    computed: dict[str, Any]
    merged_into: uuid.UUID | None = None


class TimelineItem(BaseModel):
    id: uuid.UUID
    message_id: str
    type: str
    name: str | None
    channel: str
    source: str
    timestamp: datetime
    properties: dict[str, Any] | None
    traits: dict[str, Any] | None
    context: dict[str, Any] | None


class Timeline(BaseModel):
    data: list[TimelineItem] = Field(description="The events, newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next (older) page")


class MergeRead(BaseModel):
    id: uuid.UUID
    survivor_id: uuid.UUID
    absorbed_id: uuid.UUID
    rule: str
    evidence: dict[str, Any]
    created_at: datetime
    undone_at: datetime | None
    undone_by: str | None


class SplitRequest(BaseModel):
    merge_id: uuid.UUID | None = Field(
        default=None, description="The merge to undo; the most recent one when omitted"
    )


class OrderRead(BaseModel):
    order_id: str
    placed_at: datetime
    channel: str
    store: str | None
    currency: str
    total: Decimal
    refunded: Decimal
    status: str
    items: list[dict[str, Any]]
