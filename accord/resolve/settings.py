"""A workspace's identity rules, as settings (group ``identity``): each identifier type's
priority, whether a person holds at most one value of it (unique) and how many at most
(limit), values that never identify anyone (blocked), and how many user ids one browser or
device may carry before it is treated as shared. Resolution reads them through
``rules.IdentityRules``; this module is the one place that writes them."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import get_workspace
from accord.govern.workspaces.settings import SettingsGroup, Versioned


class TypeSetting(BaseModel):
    model_config = ConfigDict(extra="forbid")

    priority: int | None = Field(
        default=None, ge=0, le=1000, description="Higher wins when a person is chosen"
    )
    unique: bool | None = Field(
        default=None, description="A person holds at most one value (two values: two people)"
    )
    limit: int | None = Field(default=None, ge=1, le=10_000, description="Values per person")


class IdentitySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    types: dict[str, TypeSetting] = Field(
        default_factory=dict, description="Overrides of the standard types, and other types"
    )
    blocked: dict[str, list[str]] = Field(
        default_factory=dict, description="Per type, values that identify nobody"
    )
    shared_device_threshold: int = Field(
        default=3, ge=1, le=1000, description="User ids on one device before it is shared"
    )

    @field_validator("types", "blocked")
    @classmethod
    def _type_names(cls, value: dict[str, object]) -> dict[str, object]:
        for name in value:
            try:
                ids.check_type_name(name)
            except ids.InvalidIdentifier as exc:
                raise ValueError(str(exc)) from None
        return value

    @field_validator("blocked")
    @classmethod
    def _blocked_values(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for name, values in value.items():
            if len(values) > 10_000:
                raise ValueError(f"{name}: at most 10,000 blocked values")
            if any(len(v) > ids.MAX_VALUE or "\x00" in v for v in values):
                raise ValueError(f"{name}: a blocked value is too long or holds a NUL")
        return value


IDENTITY = SettingsGroup("identity", IdentitySettings)


def declare_types(session: Session, actor: Principal, names: list[str]) -> list[str]:
    """Declare identifier types first seen in an import (not unique per person, the
    priority of other types) in the actor's workspace, and say which were new."""
    workspace = get_workspace(session, actor.workspace_id)
    current = IDENTITY.read(workspace)
    new = [n for n in dict.fromkeys(names) if n not in ids.STANDARD_TYPES]
    new = [n for n in new if n not in current.types]
    if new:
        types = {**current.types, **{n: TypeSetting(unique=False) for n in new}}
        IDENTITY.write(session, workspace, current.model_copy(update={"types": types}), actor=actor)
    return new


class IdentitySettingsBody(IdentitySettings, Versioned):
    """IdentitySettings as the API reads and writes them, with their version."""
