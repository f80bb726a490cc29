from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# What a campaign runs on, and the channel group people it brings fall into (its links'
# default utm_medium is the second value, which ``channels.campaign_group`` groups so).
CAMPAIGN_CHANNELS: dict[str, tuple[str, str]] = {
    "print": ("offline", "print"),
    "radio": ("offline", "radio"),
    "tv": ("offline", "tv"),
    "podcast": ("offline", "podcast"),
    "event": ("offline", "event"),
    "store": ("offline", "store"),
    "outdoor": ("offline", "outdoor"),
    "direct_mail": ("offline", "direct_mail"),
    "paid_search": ("paid_search", "cpc"),
    "paid_social": ("paid_social", "paid_social"),
    "display": ("display", "display"),
    "email": ("email", "email"),
    "social": ("social", "social"),
    "affiliate": ("affiliate", "affiliate"),
    "referral": ("referral", "referral"),
    "other": ("other", "other"),
}
CampaignChannel = Literal[
    "print",
    "radio",
    "tv",
    "podcast",
    "event",
    "store",
    "outdoor",
    "direct_mail",
    "paid_search",
    "paid_social",
    "display",
    "email",
    "social",
    "affiliate",
    "referral",
    "other",
]
ReportBy = Literal["campaign", "source", "channel"]
HORIZONS = (30, 90, 365)


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=120)
    channel: CampaignChannel = "other"
    utm_campaign: str | None = Field(
        None,
        max_length=200,
        description="The utm_campaign value that attributes people to it; "
        "default: the name, lower-cased, with dashes",
    )
    source: str | None = Field(
        None, max_length=120, description="utm_source of its links; default: the channel"
    )
    medium: str | None = Field(
        None, max_length=120, description="utm_medium of its links; default: from the channel"
    )
    cost: Decimal = Field(Decimal("0"), ge=0, le=Decimal("999999999999.99"), decimal_places=2)
    currency: str = Field("USD", pattern=r"^[A-Za-z]{3}$")
    starts_on: date | None = None
    ends_on: date | None = None
    notes: str | None = Field(None, max_length=4000)


class CampaignUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=120)
    channel: CampaignChannel | None = None
    utm_campaign: str | None = Field(None, min_length=1, max_length=200)
    source: str | None = Field(None, min_length=1, max_length=120)
    medium: str | None = Field(None, min_length=1, max_length=120)
    cost: Decimal | None = Field(None, ge=0, le=Decimal("999999999999.99"), decimal_places=2)
    currency: str | None = Field(None, pattern=r"^[A-Za-z]{3}$")
    starts_on: date | None = None
    ends_on: date | None = None
    notes: str | None = Field(None, max_length=4000)


class CampaignRead(BaseModel):
    id: uuid.UUID
    name: str
    channel: str
    channel_group: str
    utm_campaign: str
    source: str
    medium: str
    cost: Decimal
    currency: str
    starts_on: date | None
    ends_on: date | None
    notes: str | None
    links: int = Field(description="How many short links it has")
    clicks: int = Field(description="Clicks on its short links")
    created_at: datetime
    updated_at: datetime | None
    created_by: str | None


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destination: str = Field(
        min_length=1, max_length=2000, description="Where a click goes: an http(s) URL"
    )
    label: str | None = Field(None, max_length=120, description="Where it is used (page 12...)")
    code: str | None = Field(
        None,
        description="A code of your own (3-32 letters, digits, - or _); default: random",
    )
    utm_source: str | None = Field(None, max_length=120, description="Default: the campaign's")
    utm_medium: str | None = Field(None, max_length=120, description="Default: the campaign's")
    utm_term: str | None = Field(None, max_length=200)
    utm_content: str | None = Field(None, max_length=200)
    append_utm: bool = Field(True, description="Add the UTM parameters to the destination")


class LinkUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    destination: str | None = Field(None, min_length=1, max_length=2000)
    label: str | None = Field(None, max_length=120)
    utm_source: str | None = Field(None, max_length=120)
    utm_medium: str | None = Field(None, max_length=120)
    utm_term: str | None = Field(None, max_length=200)
    utm_content: str | None = Field(None, max_length=200)
    append_utm: bool | None = None


class LinkRead(BaseModel):
    id: uuid.UUID
    campaign_id: uuid.UUID
    code: str
    short_url: str = Field(description="The link to print or share: /l/<code> on Accord")
    redirect_url: str = Field(description="Where a click is sent, UTM parameters included")
    label: str | None
    destination: str
    utm_source: str | None
    utm_medium: str | None
    utm_term: str | None
    utm_content: str | None
    append_utm: bool
    clicks: int
    last_clicked_at: datetime | None
    created_at: datetime
    qr_svg: str = Field(description="The QR code as SVG (API path)")
    qr_png: str = Field(description="The QR code as PNG (API path)")


class TouchRead(BaseModel):
    channel_group: str
    channel_group_label: str
    source: str | None
    medium: str | None
    campaign: str | None
    term: str | None
    content: str | None
    referrer: str | None = Field(description="The referring site's domain")
    channel: str = Field(description="The channel of the touch's event (web, app, store...)")
    at: datetime


class AcquisitionRead(BaseModel):
    profile_id: uuid.UUID
    first_touch: TouchRead | None
    last_touch: TouchRead | None = Field(
        description="The last touch up to the first order (with no order: the latest)"
    )
    latest_touch: TouchRead | None
    first_order_at: datetime | None
    link_only: bool = Field(description="Known only from clicks on short links")
    computed_at: datetime | None


class RoiRow(BaseModel):
    key: str | None = Field(description="The utm_campaign, source or channel group")
    label: str
    campaign_id: uuid.UUID | None = None
    acquired: int = Field(description="People whose first touch it was")
    customers: int = Field(description="Of them, who ordered within the horizon")
    conversion_rate: float | None
    revenue: Decimal = Field(description="Their orders within the horizon, less refunds")
    revenue_per_acquired: Decimal | None
    cost: Decimal
    cac: Decimal | None = Field(description="Cost per customer acquired")
    roi: float | None = Field(description="(revenue - cost) / cost")
    clicks: int = Field(description="Clicks on the short links")


class RoiReport(BaseModel):
    by: ReportBy
    horizon_days: int
    currency: str
    since: date | None
    until: date | None
    rows: list[RoiRow]
    total: RoiRow
    other_currencies: list[str] = Field(
        default_factory=list,
        description="Campaigns left out because their cost is in another currency",
    )


class Rebuilding(BaseModel):
    status: Literal["started"] = "started"
