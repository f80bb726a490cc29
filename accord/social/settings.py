"""What a workspace listens for and how it triages: the settings group ``listening``,
written only through :data:`LISTENING` (validated, versioned, audited)."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from accord.govern.workspaces.settings import SettingsGroup

Decision = Literal["respond", "wait", "dismiss"]
Sentiment = Literal["positive", "neutral", "negative"]
IntentKind = Literal[
    "complaint", "question", "praise", "purchase_intent", "churn_threat", "urgent", "spam"
]
Priority = Literal["urgent", "high", "normal", "low"]
MAX_TERMS = 200


def _terms(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        term = " ".join(str(value).split())
        if not term:
            continue
        if len(term) > 100:
            raise ValueError(f"{term[:20]!r}... is longer than 100 characters")
        if term.lower() not in (t.lower() for t in out):
            out.append(term)
    if len(out) > MAX_TERMS:
        raise ValueError(f"at most {MAX_TERMS} terms")
    return out


class Competitor(BaseModel):
    """A competitor and the words that name it: mentions of it count for share of voice."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=120)
    terms: list[str] = Field(default_factory=list, description="Names, products, handles, hashtags")

    _clean = field_validator("terms")(classmethod(lambda cls, v: _terms(v)))


class TriageRule(BaseModel):
    """A rule of the workspace's own, tried before the standard ones, first match wins.
    Every condition set must hold; an empty condition holds for every mention."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=80)
    sentiments: list[Sentiment] = Field(default_factory=list)
    intents: list[IntentKind] = Field(default_factory=list, description="Any one of them")
    networks: list[str] = Field(default_factory=list)
    about: list[str] = Field(
        default_factory=list, description='"brand" or competitors\' names; empty: any'
    )
    min_followers: int | None = Field(None, ge=0)
    min_customer_value: float | None = Field(None, ge=0)
    known_customer: bool | None = None
    words: list[str] = Field(default_factory=list, description="Any one of them in the text")
    decision: Decision
    priority: Priority = "normal"

    _clean = field_validator("words")(classmethod(lambda cls, v: _terms(v)))


class Sla(BaseModel):
    """How soon a mention to respond to must be answered, in minutes, by priority."""

    model_config = ConfigDict(extra="forbid")

    urgent: int = Field(30, ge=1, le=10080)
    high: int = Field(60, ge=1, le=10080)
    normal: int = Field(240, ge=1, le=10080)
    low: int = Field(1440, ge=1, le=10080)

    def minutes(self, priority: str) -> int:
        return int(getattr(self, priority, self.normal))


class Alerts(BaseModel):
    """When the team is told that something is brewing: mentions in the last ``window``
    minutes at least ``spike_factor`` times the usual rate for that time (and at least
    ``min_mentions``), or a share of negative mentions at least ``negative_share``."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    window_minutes: int = Field(60, ge=5, le=1440)
    spike_factor: float = Field(3.0, ge=1.5, le=100)
    negative_share: float = Field(0.5, gt=0, le=1)
    min_mentions: int = Field(10, ge=1, le=100000)
    emails: list[str] = Field(default_factory=list, description="Also told by email")

    @field_validator("emails")
    @classmethod
    def _emails(cls, v: list[str]) -> list[str]:
        out = []
        for e in v:
            e = e.strip().lower()
            if not re.match(r"^[^@\s]+@[^@\s]+\.[^@\s]+$", e):
                raise ValueError(f"{e!r} is not an email address")
            out.append(e)
        return out


class ListeningSettings(BaseModel):
    """``workspace.settings["listening"]`` as stored."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    brands: list[str] = Field(default_factory=list, description="The brand's names")
    products: list[str] = Field(default_factory=list)
    handles: list[str] = Field(
        default_factory=list, description="The brand's own accounts (@acme, acme.bsky.social)"
    )
    hashtags: list[str] = Field(default_factory=list)
    competitors: list[Competitor] = Field(default_factory=list)
    languages: list[str] = Field(
        default_factory=list, description="Only mentions in these languages; empty: any"
    )
    exclusions: list[str] = Field(
        default_factory=list, description="A mention holding any of these is not heard"
    )
    currency: str = Field("USD", min_length=3, max_length=3)
    influencer_followers: int = Field(
        10000, ge=1, description="From this many followers an author is an influencer"
    )
    valuable_customer: float = Field(
        1000.0, ge=0, description="From this lifetime revenue a customer is valuable"
    )
    engagement_growth: int = Field(
        20, ge=1, description="A wait becomes respond once this many more people engaged"
    )
    sla: Sla = Field(default_factory=Sla)
    rules: list[TriageRule] = Field(default_factory=list)
    alerts: Alerts = Field(default_factory=Alerts)

    _clean = field_validator("brands", "products", "handles", "hashtags", "exclusions")(
        classmethod(lambda cls, v: _terms(v))
    )

    @field_validator("languages")
    @classmethod
    def _languages(cls, v: list[str]) -> list[str]:
        out = []
        for lang in v:
            lang = lang.strip().lower()
            if not re.match(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$", lang):
                raise ValueError(f"{lang!r} is not a language code (en, pt-br)")
            out.append(lang)
        return out

    @field_validator("currency")
    @classmethod
    def _currency(cls, v: str) -> str:
        if not v.isalpha():
            raise ValueError(f"{v!r} is not a currency code")
        return v.upper()

    @model_validator(mode="after")
    def _names(self) -> ListeningSettings:
        names = [c.name.lower() for c in self.competitors]
        if len(set(names)) != len(names):
            raise ValueError("two competitors have the same name")
        if "brand" in names:
            raise ValueError('"brand" names the workspace\'s own brand, not a competitor')
        rules = [r.name.lower() for r in self.rules]
        if len(set(rules)) != len(rules):
            raise ValueError("two triage rules have the same name")
        return self

    def terms(self) -> list[str]:
        """Every term a connector listens for (the brand's and competitors')."""
        own = [*self.brands, *self.products, *self.handles, *self.hashtags]
        return [*own, *(t for c in self.competitors for t in [c.name, *c.terms])]


LISTENING = SettingsGroup("listening", ListeningSettings)
