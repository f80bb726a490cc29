"""What the social listening API reads and returns."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator

from accord.govern.workspaces.settings import Versioned
from accord.social.settings import ListeningSettings

Kind = Literal["bluesky", "mastodon", "reddit", "rss", "webhook", "import"]

# The settings each kind takes (anything else is refused), and the ones it needs.
KIND_SETTINGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "bluesky": (frozenset({"service", "appview", "jetstream", "mode", "handle"}), frozenset()),
    "mastodon": (
        frozenset({"instance", "domain", "streaming", "hashtags", "keywords", "stream"}),
        frozenset({"instance"}),
    ),
    "reddit": (
        frozenset({"api", "auth", "subreddits", "keywords", "user_agent"}),
        frozenset(),
    ),
    "rss": (frozenset({"url", "keywords"}), frozenset({"url"})),
    "webhook": (frozenset(), frozenset()),
    "import": (frozenset({"network"}), frozenset()),
}
URL_FIELDS = frozenset(
    {"service", "appview", "jetstream", "instance", "streaming", "api", "auth", "url"}
)
CREDENTIAL_FIELDS = frozenset(
    {
        "identifier",
        "app_password",
        "access_token",
        "client_id",
        "client_secret",
        "username",
        "password",
        "secret",
    }
)


class SettingError(ValueError):
    """A source setting at fault, and which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def _url(name: str, value: Any) -> str:
    text = str(value or "").strip()
    parts = urlsplit(text)
    schemes = ("ws", "wss") if name == "jetstream" else ("http", "https")
    if parts.scheme not in schemes or not parts.netloc:
        raise SettingError(f"settings.{name}", f"{text!r} is not an {' or '.join(schemes)} address")
    return text.rstrip("/")


def _list(name: str, value: Any) -> list[str]:
    if isinstance(value, str):
        value = [v for v in value.replace("\n", ",").split(",")]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SettingError(f"settings.{name}", "must be a list of words")
    out = [v.strip() for v in value if v.strip()]
    if len(out) > 100:
        raise SettingError(f"settings.{name}", "at most 100")
    return out


class SourceIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Kind
    name: str = Field(min_length=1, max_length=120)
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description="Per kind: bluesky (mode search|jetstream, service, appview, jetstream), "
        "mastodon (instance, hashtags, keywords), reddit (subreddits, keywords, user_agent), "
        "rss (url, keywords), import (network: the tool's network name for rows without one)",
    )
    credentials: dict[str, str] = Field(
        default_factory=dict,
        description="Encrypted, never returned: bluesky identifier and app_password; "
        "mastodon access_token; reddit client_id, client_secret, username, password; "
        "webhook secret (made when not given)",
    )
    enabled: bool = True
    interval_seconds: int = Field(60, ge=60, le=86400, description="How often it is fetched")

    @field_validator("credentials")
    @classmethod
    def _credentials(cls, v: dict[str, str]) -> dict[str, str]:
        unknown = sorted(set(v) - CREDENTIAL_FIELDS)
        if unknown:
            raise ValueError(f"unknown credential {unknown[0]!r}")
        return {k: str(s).strip() for k, s in v.items()}

    def settings_for_kind(self) -> dict[str, Any]:
        """The settings checked against the kind: known names, addresses that are
        http(s) (or ws(s) for a stream), lists of words."""
        allowed, needed = KIND_SETTINGS[self.kind]
        unknown = sorted(set(self.settings) - allowed)
        if unknown:
            raise SettingError(f"settings.{unknown[0]}", f"not a setting of a {self.kind} source")
        missing = sorted(needed - {k for k, v in self.settings.items() if v})
        if missing:
            raise SettingError(f"settings.{missing[0]}", f"required for a {self.kind} source")
        out: dict[str, Any] = {}
        for name, value in self.settings.items():
            if name in URL_FIELDS:
                out[name] = _url(name, value)
            elif name in ("hashtags", "keywords", "subreddits"):
                out[name] = _list(name, value)
            elif name == "mode":
                if value not in ("search", "jetstream"):
                    raise SettingError("settings.mode", "search or jetstream")
                out[name] = value
            elif name == "stream":
                out[name] = bool(value)
            else:
                out[name] = str(value).strip()[:200]
        return out


class SourcePatch(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(None, min_length=1, max_length=120)
    settings: dict[str, Any] | None = None
    credentials: dict[str, str] | None = Field(None, description="Changed ones only")
    enabled: bool | None = None
    interval_seconds: int | None = Field(None, ge=60, le=86400)


class SourceOut(BaseModel):
    id: uuid.UUID
    kind: str
    name: str
    settings: dict[str, Any]
    has_credentials: bool
    enabled: bool
    status: str
    last_error: str | None
    failures: int
    interval_seconds: int
    next_fetch_at: datetime | None
    last_fetched_at: datetime | None
    heard: int
    webhook_url: str | None = None
    webhook_secret: str | None = Field(
        None, description="Returned once, when a webhook source is created"
    )
    created_at: datetime


class IntentOut(BaseModel):
    kind: str
    confidence: float
    cue: str = ""
    subtype: str | None = None


class MentionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    source_id: uuid.UUID | None
    network: str
    external_id: str
    url: str | None
    text: str
    title: str | None
    lang: str | None
    posted_at: datetime
    received_at: datetime
    author_handle: str
    author_name: str | None
    author_url: str | None
    followers: int | None
    likes: int
    reposts: int
    replies: int
    about: str
    matched: list[str]
    sentiment: str
    sentiment_score: float
    intents: list[IntentOut]
    intent: str | None
    influence: float
    profile_id: uuid.UUID | None
    customer_value: float | None
    decision: str
    reason: str
    rule: str | None
    priority: str
    respond_by: datetime | None
    state: str
    conversation_id: uuid.UUID | None
    first_response_at: datetime | None


class MentionPage(BaseModel):
    items: list[MentionOut]
    next_cursor: str | None = None


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["respond", "wait", "dismiss"]
    reason: str = Field("", max_length=300, description="Why, in the agent's words")


class AnsweredIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    at: datetime | None = Field(None, description="When it was answered (default: now)")


class PostIn(BaseModel):
    """One post pushed by a listening tool (the webhook's and the import's fields)."""

    model_config = ConfigDict(extra="allow")


class Heard(BaseModel):
    """What a push or an import did."""

    received: int
    mentions: int
    stored: int
    updated: int
    ignored: int
    respond: int
    wait: int
    dismiss: int
    escalated: int
    conversations: int
    errors: list[dict[str, Any]] = Field(default_factory=list)


class ListeningOut(ListeningSettings, Versioned):
    pass


class ListeningIn(ListeningSettings, Versioned):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
