"""Request and response models of live chat, and the workspace's chat settings."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ChatSettings(BaseModel):
    """The settings group ``chat``: what the widget looks like and asks."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field("Chat with us", max_length=80)
    greeting: str = Field("Hi! How can we help?", max_length=300)
    prechat: bool = Field(False, description="Ask for name and email before the first message")
    color: str = Field("#4f46e5", pattern=r"^#[0-9a-fA-F]{6}$")


class ChatSettingsIn(ChatSettings):
    version: int | None = Field(
        None, description="The version read; a change made since is refused with 409"
    )


class ChatSettingsRead(ChatSettings):
    version: int


class SessionIn(BaseModel):
    model_config = ConfigDict(extra="ignore")

    writeKey: str | None = None
    anonymousId: str = Field(min_length=1, max_length=200)
    visitorId: str | None = Field(None, max_length=64)
    token: str | None = Field(None, max_length=100)


class ConditionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fact: str = Field(max_length=120)
    op: str = Field(max_length=20)
    value: Any = None


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["message", "article", "notify"]
    body: str | None = Field(None, max_length=2000)
    author: str | None = Field(None, max_length=120, description="Shown as the sender")
    team: str | None = Field(None, max_length=120)
    title: str | None = Field(None, max_length=200)
    url: str | None = Field(None, max_length=2000)


class TriggerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    enabled: bool = True
    event: Literal["page_view", "time_on_page", "time_on_site", "idle", "exit_intent", "custom"]
    event_value: str = Field("", max_length=120, description="Seconds, or the custom name")
    match: Literal["all", "any"] = "all"
    conditions: list[ConditionIn] = Field(default_factory=list, max_length=30)
    action: ActionIn
    max_per_visitor: int = Field(1, ge=1, le=100)
    cap_hours: int = Field(24, ge=1, le=24 * 365)
    holdout_percent: int = Field(0, ge=0, le=90)
    convert_days: int = Field(7, ge=1, le=365)
    position: int = Field(0, ge=0, le=10_000)


class TriggerRead(BaseModel):
    id: uuid.UUID
    name: str
    enabled: bool
    event: str
    event_value: str
    match: str
    conditions: list[dict[str, Any]]
    action: dict[str, Any]
    max_per_visitor: int
    cap_hours: int
    holdout_percent: int
    convert_days: int
    position: int
    updated_at: datetime

    model_config = ConfigDict(from_attributes=True)


class TriggerReport(BaseModel):
    trigger_id: uuid.UUID
    name: str
    shown: int
    accepted: int
    converted: int
    holdout: int
    holdout_converted: int
    accept_rate: float | None
    conversion: float | None
    holdout_conversion: float | None
    lift: float | None
    convert_days: int


class VisitorRead(BaseModel):
    id: uuid.UUID
    anonymous_id: str
    user_id: str | None
    name: str | None
    email: str | None
    current_url: str | None
    current_title: str | None
    seconds_on_page: int
    pages_this_visit: int
    pages: list[dict[str, Any]]
    visits: int
    returning: bool
    referrer: str | None
    utm: dict[str, Any]
    country: str | None
    cart_value: Decimal
    cart_currency: str | None
    profile_id: uuid.UUID | None
    conversation_id: uuid.UUID | None
    last_seen_at: datetime
