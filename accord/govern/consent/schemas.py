"""The consent settings (the settings group ``consent``) and the API's shapes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from accord.govern.consent import rules

Mode = Literal["opt_in", "opt_out"]


def _default_regions() -> dict[str, dict[str, Mode]]:
    strict: dict[str, Mode] = {p: "opt_in" for p in rules.PURPOSES if p != "service"}
    return {region: dict(strict) for region in ("EU", "GB", "CH", "CA", "BR")}


def _default_mode() -> dict[str, Mode]:
    return {p: "opt_out" for p in rules.PURPOSES if p != "service"}


def _default_categories() -> dict[str, list[str]]:
    # Segment's consent categories (context.consent.categoryPreferences) as
    # "channel.purpose" pairs; the category names are matched case-insensitively.
    return {
        "marketing": ["all.marketing"],
        "email": ["email.marketing"],
        "sms": ["sms.marketing"],
        "advertising": ["ads.advertising", "all.advertising"],
        "targeting": ["ads.advertising", "all.advertising"],
        "personalization": ["all.personalization"],
        "analytics": ["all.personalization"],
        "surveys": ["all.surveys"],
    }


class ConsentSettings(BaseModel):
    """How a workspace asks for permission. ``regions`` says, per consent region (EU for
    the EEA, else a country code), which purposes need an opt-in; every other region
    follows ``default``. Service messages (replies, receipts) never need an opt-in but a
    denial still stops them."""

    model_config = ConfigDict(extra="forbid")

    regions: dict[str, dict[str, Mode]] = Field(default_factory=_default_regions)
    default: dict[str, Mode] = Field(default_factory=_default_mode)
    # Email marketing granted through a form, the API, an import or the preference center
    # waits for a click on a confirmation link: never, in opt-in regions, or always.
    double_opt_in: Literal["never", "opt_in_regions", "always"] = "opt_in_regions"
    # The version of the privacy notice people are shown now (kept with each record).
    notice_version: str = Field(default="1", min_length=1, max_length=64)
    categories: dict[str, list[str]] = Field(default_factory=_default_categories)
    # What happens to a tracking call or import row carrying a suppressed identifier.
    suppressed_events: Literal["drop", "quarantine"] = "drop"

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: dict[str, dict[str, Mode]]) -> dict[str, dict[str, Mode]]:
        out: dict[str, dict[str, Mode]] = {}
        for region, modes in value.items():
            code = region.strip().upper()
            if not (len(code) == 2 and code.isalpha()):
                raise ValueError(f"{region!r} is not a region (EU or a two-letter country code)")
            out[code] = _check_purposes(modes)
        return out

    @field_validator("default")
    @classmethod
    def _default(cls, value: dict[str, Mode]) -> dict[str, Mode]:
        return _check_purposes(value)

    @field_validator("categories")
    @classmethod
    def _categories(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for name, pairs in value.items():
            for pair in pairs:
                channel, _, purpose = pair.partition(".")
                if channel not in (*rules.CHANNELS, rules.ALL) or purpose not in rules.PURPOSES:
                    raise ValueError(f"{pair!r} is not channel.purpose")
            out[name.strip().lower()] = list(pairs)
        return out

    def mode(self, region: str, purpose: str) -> Mode:
        if purpose == "service":
            return "opt_out"
        return self.regions.get(region, {}).get(purpose) or self.default.get(purpose, "opt_in")

    def needs_confirmation(self, region: str) -> bool:
        if self.double_opt_in == "always":
            return True
        return self.double_opt_in == "opt_in_regions" and self.mode(region, "marketing") == "opt_in"


def _check_purposes(modes: dict[str, Mode]) -> dict[str, Mode]:
    for purpose in modes:
        if purpose not in rules.PURPOSES:
            raise ValueError(f"{purpose!r} is not a purpose ({', '.join(rules.PURPOSES)})")
    return dict(modes)


class ConsentIn(BaseModel):
    """A statement of consent to record for a person."""

    model_config = ConfigDict(extra="forbid")

    channel: str = Field(description="email, sms, phone, chat, push, post, ads, or all")
    purpose: str = Field(
        description="service, marketing, personalization, surveys, advertising, or all"
    )
    status: Literal["granted", "denied", "withdrawn"]
    legal_basis: str | None = None
    source: str = "api"
    reason: str | None = Field(default=None, max_length=2000)
    notice_version: str | None = Field(default=None, max_length=64)
    expires_at: datetime | None = None
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=400)
    at: datetime | None = None


class ConsentRecordOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    channel: str
    purpose: str
    status: str
    legal_basis: str | None
    source: str
    recorded_at: datetime
    expires_at: datetime | None
    recorded_by: str | None
    reason: str | None
    ip: str | None
    user_agent: str | None
    notice_version: str | None
    origin_profile_id: uuid.UUID
    merge_id: uuid.UUID | None
    voided_at: datetime | None


class ConsentStateOut(BaseModel):
    channel: str
    purpose: str
    status: str
    allowed: bool
    reason: str
    source: str | None = None
    recorded_at: datetime | None = None
    expires_at: datetime | None = None


class ConsentOut(BaseModel):
    profile_id: uuid.UUID
    region: str
    states: list[ConsentStateOut]
    history: list[ConsentRecordOut]
