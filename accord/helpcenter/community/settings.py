"""The settings group ``community``: whether the community is on, whether a new member's
first post waits for a moderator, what the profanity filter does (``off``, ``hold`` the
post for a moderator, or ``mask`` the words) with the words the workspace adds to the
built-in list, how many links a post may hold before it waits, and how many posts a
member may make in an hour. Written only through :data:`COMMUNITY`."""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import SettingsGroup

_WORD = re.compile(r"^[\w' -]{2,40}$")


class CommunitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    hold_first_post: bool = Field(
        True, description="A new member's first post waits for a moderator"
    )
    profanity: Literal["off", "hold", "mask"] = Field(
        "hold", description="off; hold a post with a listed word for a moderator; mask the word"
    )
    words: list[str] = Field(
        default_factory=list,
        max_length=500,
        description="Words the filter catches besides its built-in list",
    )
    max_links: int = Field(2, ge=0, le=50, description="More links than this: the post waits")
    posts_per_hour: int = Field(10, ge=1, le=1000, description="Posts a member may make an hour")
    site_sign_in_url: str | None = Field(
        None,
        max_length=500,
        description="Where the site signs its customers in and sends them back verified",
    )

    @field_validator("words")
    @classmethod
    def _check_words(cls, value: list[str]) -> list[str]:
        out = []
        for word in value:
            word = word.strip().lower()
            if not _WORD.match(word):
                raise ValueError(f"{word!r}: a word or phrase of 2 to 40 letters")
            out.append(word)
        return list(dict.fromkeys(out))

    @field_validator("site_sign_in_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value and not value.startswith("https://") and not value.startswith("/"):
            raise ValueError("an https:// address or a path on this site")
        return value or None


COMMUNITY = SettingsGroup("community", CommunitySettings)


def settings_of(workspace: Workspace) -> CommunitySettings:
    return COMMUNITY.read(workspace)


def save_settings(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[CommunitySettings, int]:
    """Replace the settings (422 naming the field at fault; 409 when ``expected_version``
    is no longer current); audited as ``settings.community.update``."""
    return COMMUNITY.save(
        session, workspace_id, raw, actor=actor, expected_version=expected_version
    )
