"""The knowledge base over HTTP, and the help center's settings group."""

from __future__ import annotations

import re
import uuid
from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

LOCALE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
Status = Literal["draft", "review", "published", "archived"]


def _locale(value: str) -> str:
    if not LOCALE.match(value):
        raise ValueError("a language code such as en, de or pt-BR")
    return value


class HelpCenterSettings(BaseModel):
    """The settings group ``helpcenter``: whether the public help center is on, how it
    looks, its languages, and the words its search treats as the same."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    title: str = Field("Help center", max_length=120)
    intro: str = Field("How can we help?", max_length=300)
    default_locale: str = "en"
    locales: list[str] = Field(default_factory=lambda: ["en"], max_length=20)
    logo_url: str | None = Field(None, max_length=500)
    colour: str = "#1f5f8b"
    # "return, send back, refund": one line per group of words that mean the same.
    synonyms: list[str] = Field(default_factory=list, max_length=500)
    contact: Literal["chat", "form", "none"] = "form"
    # Articles offered in the chat widget and the contact form as the question is typed.
    suggest: bool = True

    @field_validator("default_locale")
    @classmethod
    def _check_default(cls, value: str) -> str:
        return _locale(value)

    @field_validator("locales")
    @classmethod
    def _check_locales(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(_locale(v) for v in value)) or ["en"]

    @field_validator("colour")
    @classmethod
    def _check_colour(cls, value: str) -> str:
        if not COLOUR.match(value):
            raise ValueError("a colour as #rrggbb")
        return value.lower()

    @field_validator("logo_url")
    @classmethod
    def _check_logo(cls, value: str | None) -> str | None:
        if value and not (value.startswith("/") or value.startswith("https://")):
            raise ValueError("an https:// address or a path on this site")
        return value or None


class CategoryIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    slug: str = Field(min_length=1, max_length=120)
    names: dict[str, str] = Field(min_length=1)
    descriptions: dict[str, str] = Field(default_factory=dict)
    position: int = Field(0, ge=0, le=1_000_000)
    icon: str | None = Field(None, max_length=40)

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str) -> str:
        if not SLUG.match(value):
            raise ValueError("lower-case letters, digits and hyphens")
        return value


class CategoryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    names: dict[str, str]
    descriptions: dict[str, str]
    position: int
    icon: str | None


class ArticleIn(BaseModel):
    """A new article: its first language's text (a draft unless ``status`` says)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    body: str = Field("", max_length=200_000)
    summary: str | None = Field(None, max_length=500)
    locale: str | None = None
    slug: str | None = Field(None, max_length=160)
    category_id: uuid.UUID | None = None
    visibility: Literal["public", "internal"] = "public"
    owner_id: uuid.UUID | None = None
    review_by: date | None = None
    status: Literal["draft", "review", "published"] = "draft"

    @field_validator("locale")
    @classmethod
    def _check_locale(cls, value: str | None) -> str | None:
        return _locale(value) if value is not None else None

    @field_validator("slug")
    @classmethod
    def _check_slug(cls, value: str | None) -> str | None:
        if value is not None and not SLUG.match(value):
            raise ValueError("lower-case letters, digits and hyphens")
        return value


class ArticlePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category_id: uuid.UUID | None = None
    clear_category: bool = False
    visibility: Literal["public", "internal"] | None = None
    owner_id: uuid.UUID | None = None
    review_by: date | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)


class TranslationIn(BaseModel):
    """A new version of one language's text. ``expected_version``: the version it was
    edited from (a later save by someone else is a 409, not lost)."""

    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=300)
    body: str = Field("", max_length=200_000)
    summary: str | None = Field(None, max_length=500)
    note: str | None = Field(None, max_length=300)
    expected_version: int | None = Field(None, ge=0, le=2_000_000_000)


class StatusIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status
    publish_at: datetime | None = None


class RevisionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    title: str
    summary: str | None
    body: str
    note: str | None
    author: str | None
    created_at: datetime


class TranslationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    locale: str
    status: str
    title: str
    summary: str | None
    body: str
    version: int
    published_version: int | None
    published_at: datetime | None
    publish_at: datetime | None
    updated_at: datetime
    updated_by: str | None


class ArticleRead(BaseModel):
    id: uuid.UUID
    slug: str
    category_id: uuid.UUID | None
    visibility: str
    owner_id: uuid.UUID | None
    review_by: date | None
    position: int
    helpful: int
    unhelpful: int
    views: int
    created_at: datetime
    updated_at: datetime
    translations: list[TranslationRead]


class SearchHitRead(BaseModel):
    article_id: uuid.UUID
    slug: str
    locale: str
    title: str
    excerpt: str
    url: str
    internal: bool
    score: float


class SearchRead(BaseModel):
    query: str
    corrected: dict[str, str]
    results: list[SearchHitRead]
    search_id: uuid.UUID | None = None
