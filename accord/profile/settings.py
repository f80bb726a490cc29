"""How the golden record chooses between sources (group ``profile``): a priority per
source (a write key's or an import's name), higher first; among sources of one priority
the latest non-empty value wins. This module is the one place that writes it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from accord.govern.workspaces.settings import SettingsGroup, Versioned


class ProfileSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    source_priority: dict[str, int] = Field(
        default_factory=dict,
        description="Source name -> priority (-1000 to 1000; unlisted sources are 0)",
    )

    @field_validator("source_priority")
    @classmethod
    def _priorities(cls, value: dict[str, int]) -> dict[str, int]:
        if len(value) > 500:
            raise ValueError("at most 500 sources")
        for source, priority in value.items():
            if not source.strip() or len(source) > 200 or "\x00" in source:
                raise ValueError(f"{source[:40]!r} is not a source name")
            if not -1000 <= priority <= 1000:
                raise ValueError(f"{source}: the priority is between -1000 and 1000")
        return value


PROFILE = SettingsGroup("profile", ProfileSettings)


class ProfileSettingsBody(ProfileSettings, Versioned):
    """ProfileSettings as the API reads and writes them, with their version."""
