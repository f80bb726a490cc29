"""A workspace's matching settings (group ``match``): the match probability at which two
people merge on their own, and the one from which a pair goes to review (unset, the
server's ``ACCORD_MATCH_AUTO_MERGE`` and ``ACCORD_MATCH_REVIEW`` apply), and the traits
that hold a number naming a person in another system. This module is the one place that
writes them."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import get_workspace
from accord.govern.workspaces.settings import SettingsGroup, Versioned
from accord.kit.errors import invalid


class MatchSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_merge: float | None = Field(
        default=None, gt=0, le=1, description="Merge on their own at or above this"
    )
    review: float | None = Field(
        default=None, gt=0, le=1, description="Propose for review at or above this"
    )
    id_traits: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(
        default_factory=list,
        max_length=5,
        description="Traits holding a number that names a person in another system "
        "(customer, member or national number), compared allowing one typo; none set: "
        "the traits named as a personal id number usually is (ssn, soc_sec_id, national_id, "
        "tax_id, passport_number...)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> MatchSettings:
        both = self.auto_merge is not None and self.review is not None
        if both and self.review > self.auto_merge:  # type: ignore[operator]
            raise ValueError("review cannot be above auto_merge")
        return self


MATCH = SettingsGroup("match", MatchSettings)


def update(
    session: Session,
    actor: Principal,
    workspace: Workspace,
    value: MatchSettings,
    settings: Settings,
    expected_version: int | None = None,
) -> MatchSettings:
    auto = value.auto_merge if value.auto_merge is not None else settings.match_auto_merge
    review = value.review if value.review is not None else settings.match_review
    if review > auto:
        raise invalid(f"review ({review}) cannot be above auto_merge ({auto})", field="review")
    return MATCH.write(session, workspace, value, actor=actor, expected_version=expected_version)


class MatchSettingsBody(MatchSettings, Versioned):
    """MatchSettings as the API reads and writes them, with their version."""


def update_versioned(
    session: Session, actor: Principal, body: MatchSettingsBody, settings: Settings
) -> dict[str, Any]:
    workspace = get_workspace(session, actor.workspace_id)
    value = MatchSettings.model_validate(body.model_dump(exclude={"version"}))
    update(session, actor, workspace, value, settings, expected_version=body.version)
    return MATCH.current(workspace)
