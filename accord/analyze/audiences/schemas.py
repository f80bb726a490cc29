from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ENTERED = "Audience Entered"
EXITED = "Audience Exited"
TEST = "Audience Test"
EVENTS = {"entered": ENTERED, "exited": EXITED}
KINDS = {ENTERED: "entered", EXITED: "exited"}

EventName = Literal["Audience Entered", "Audience Exited"]


def _both() -> list[EventName]:
    return ["Audience Entered", "Audience Exited"]


ExportFormat = Literal["csv", "jsonl", "google", "meta"]


class DestinationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    url: str = Field(
        min_length=1,
        max_length=2000,
        description="Where deliveries are POSTed: http:// or https://",
    )
    segment_ids: list[uuid.UUID] | None = Field(
        None, max_length=500, description="The segments whose changes are sent; none: every one"
    )
    events: list[EventName] = Field(
        default_factory=_both,
        min_length=1,
        description="Which membership changes are sent",
    )


class DestinationUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120)
    url: str | None = Field(None, min_length=1, max_length=2000)
    segment_ids: list[uuid.UUID] | None = Field(
        None, max_length=500, description="An empty list: every segment"
    )
    events: list[EventName] | None = Field(None, min_length=1)
    status: Literal["active", "paused"] | None = Field(
        None, description="paused: nothing is sent until it is active again"
    )


class DestinationRead(BaseModel):
    id: uuid.UUID
    name: str
    url: str
    segment_ids: list[uuid.UUID] | None = Field(description="None: every segment")
    events: list[str]
    status: str
    created_at: datetime
    updated_at: datetime | None
    created_by: str | None
    deliveries: dict[str, int] = Field(
        default_factory=dict, description="How many deliveries are in each status"
    )


class DestinationCreated(DestinationRead):
    secret: str = Field(
        description="The signing secret of Accord-Signature, shown only now (and on rotation)"
    )


class SecretRead(BaseModel):
    secret: str


class DeliveryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID = Field(description="Also the idempotency key the receiver sees")
    destination_id: uuid.UUID
    event: str
    segment_id: uuid.UUID | None
    profile_id: uuid.UUID | None
    change_id: uuid.UUID | None
    status: str = Field(description="pending, sending, retrying, delivered or failed")
    attempts: int
    replays: int
    last_status_code: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    created_at: datetime


class DeliveriesPage(BaseModel):
    data: list[DeliveryRead]
    next_before: uuid.UUID | None = Field(
        description="Pass as `before` for the next (older) page; none at the end"
    )


class ExportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: ExportFormat = "csv"
    traits: list[str] = Field(default_factory=list, max_length=50)


class ExportReport(BaseModel):
    """What an export of the segment holds now, without its rows."""

    segment_id: uuid.UUID
    format: str
    members: int
    exported: int
    left_out_for_consent: int = Field(
        description="Members whose consent does not allow advertising (or whose every "
        "address is on the suppression list)"
    )
    left_out_without_contact: int = Field(
        description="Members without an email or a phone (hashed formats only)"
    )
    columns: list[str]
