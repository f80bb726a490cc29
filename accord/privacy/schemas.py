"""The privacy settings (the settings group ``privacy``) and the API's shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from accord.govern.workspaces.settings import Versioned

Kind = Literal["export", "access", "erase"]
Status = Literal["received", "in_progress", "completed", "rejected"]
RetentionKind = Literal["events", "closed_conversations", "anonymous_profiles", "chat_visitors"]


class PrivacySettings(BaseModel):
    """How long a workspace keeps each kind of data (None: for good), when requests are
    due, and what the law requires it to keep when a person is erased."""

    model_config = ConfigDict(extra="forbid")

    request_due_days: int = Field(
        default=30, ge=1, le=90, description="Days a data-subject request is due after receipt"
    )
    keep_order_totals: bool = Field(
        default=False,
        description="Orders are legally required records: an erase keeps each order's total, "
        "currency and date, without the person, their identifiers or the items' details",
    )
    events_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Raw events (page views, track calls) received more than this many days "
        "ago are deleted; events that carry traits or orders are kept",
    )
    closed_conversations_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Conversations resolved more than this many days ago are deleted, with "
        "their messages and files",
    )
    anonymous_profiles_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="People known only by anonymous or device ids, not seen for this many "
        "days, are deleted with everything they did",
    )
    chat_visitors_days: int | None = Field(
        default=None,
        ge=1,
        le=36500,
        description="Chat visitors (a browser's pages, cart and UTM) idle this many days are "
        "deleted; their conversations stay",
    )

    def days(self, kind: str) -> int | None:
        value = getattr(self, f"{kind}_days")
        return int(value) if value is not None else None


class PrivacySettingsBody(PrivacySettings, Versioned):
    """PrivacySettings as the API reads and writes them, with their version."""


class RequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Kind = Field(description="export or access (a copy of their data), or erase")
    identifier_type: str = Field(
        min_length=1,
        max_length=40,
        description="email, phone, user_id, anonymous_id, social, loyalty_card or any type",
    )
    identifier_value: str = Field(min_length=1, max_length=320)
    note: str | None = Field(
        default=None,
        max_length=2000,
        description="How the request came and how the requester was verified; removed when "
        "an erase is done",
    )


class RejectBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=500)


class RequestRead(BaseModel):
    id: uuid.UUID
    kind: Kind
    status: Status
    identifier_type: str
    identifier_value: str | None = Field(description="None once an erase is done")
    identifier_hint: str = Field(description="The identifier masked")
    requested_by: str
    note: str | None
    created_at: datetime
    due_at: datetime
    overdue: bool
    completed_at: datetime | None
    completed_by: str | None
    profile_ids: list[uuid.UUID] = Field(description="The person and the profiles merged in")
    found: dict[str, int] = Field(
        default_factory=dict, description="What was found when the request was made or run"
    )
    receipt: dict[str, Any]


class RequestList(BaseModel):
    data: list[RequestRead]
    open: int
    overdue: int


class RetentionKindReport(BaseModel):
    kind: RetentionKind
    days: int | None
    cutoff: datetime | None
    count: int
    sample: list[str] = Field(default_factory=list, description="A few of what is concerned")


class RetentionReport(BaseModel):
    dry_run: bool
    as_of: datetime
    keep_order_totals: bool
    kinds: list[RetentionKindReport]


class AccessRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    profile_id: uuid.UUID
    actor: str
    actor_kind: str
    action: str
    via: str
    at: datetime
