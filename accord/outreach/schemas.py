from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from accord.govern.workspaces.settings import Versioned
from accord.outreach.settings import OutreachSettings

Purpose = Literal["marketing", "service", "surveys", "personalization"]


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    channel: Literal["email", "sms"] = Field(
        default="email",
        description="email, or sms: a text message (its template is ``text``; no subject)",
    )
    purpose: Purpose = Field(
        default="marketing",
        description="What consent the campaign needs; service messages are not promotions "
        "(no frequency cap, no hold) and carry no unsubscribe link",
    )
    segment_id: uuid.UUID | None = None
    subject: str = Field(default="", max_length=300)
    html: str = Field(default="", max_length=500_000)
    text: str = Field(default="", max_length=200_000)
    from_name: str | None = Field(default=None, max_length=120)
    holdout_percent: int = Field(default=0, ge=0, le=50)
    goal_event: str = Field(default="Order Completed", min_length=1, max_length=120)
    goal_days: int = Field(default=7, ge=1, le=90)
    respect_caps: bool = True
    usual_hour: bool = Field(
        default=False,
        description="Send each person's message at the hour of the day they are usually "
        "active (their events of the last 90 days), within a day of the launch",
    )


class CampaignUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=120)
    purpose: Purpose | None = None
    segment_id: uuid.UUID | None = None
    subject: str | None = Field(default=None, max_length=300)
    html: str | None = Field(default=None, max_length=500_000)
    text: str | None = Field(default=None, max_length=200_000)
    from_name: str | None = Field(default=None, max_length=120)
    holdout_percent: int | None = Field(default=None, ge=0, le=50)
    goal_event: str | None = Field(default=None, min_length=1, max_length=120)
    goal_days: int | None = Field(default=None, ge=1, le=90)
    respect_caps: bool | None = None
    usual_hour: bool | None = None
    version: int | None = Field(default=None, description="The version read; must be current")


class CampaignRead(BaseModel):
    id: uuid.UUID
    name: str
    channel: str
    purpose: str
    segment_id: uuid.UUID | None
    subject: str
    html: str
    text: str
    from_name: str | None
    status: str
    holdout_percent: int
    goal_event: str
    goal_days: int
    respect_caps: bool
    usual_hour: bool = False
    audience: int
    scheduled_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None
    created_at: datetime
    created_by: str | None
    version: int
    counts: dict[str, int] = Field(default_factory=dict)


class LaunchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = Field(default=None, description="Send at this time (else now)")


class PreviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile_id: uuid.UUID


class PreviewRead(BaseModel):
    subject: str
    html: str
    text: str


class TestSendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    address: str = Field(min_length=3, max_length=255)
    profile_id: uuid.UUID | None = Field(
        default=None, description="Render as this person (else as an example person)"
    )


class SendRead(BaseModel):
    id: uuid.UUID
    profile_id: uuid.UUID
    channel: str
    address: str | None
    status: str
    code: str | None
    reason: str | None
    attempts: int
    sent_at: datetime | None
    opened_at: datetime | None
    clicked_at: datetime | None
    source: str


class Lift(BaseModel):
    treatment: float
    control: float
    difference: float
    low: float | None
    high: float | None


class ReportRead(BaseModel):
    campaign_id: uuid.UUID
    counts: dict[str, int]
    recipients: int
    sent: int
    opened: int
    clicked: int
    open_rate: float | None
    click_rate: float | None
    holdout: int
    goal_event: str
    goal_days: int
    converted: int
    holdout_converted: int
    conversion: Lift | None
    revenue_per_person: Lift | None
    revenue: float
    links: list[dict[str, object]]


class OutreachSettingsRead(OutreachSettings, Versioned):
    pass


class OutreachSettingsIn(OutreachSettings, Versioned):
    model_config = ConfigDict(extra="forbid")
