"""The ``outreach`` settings group: what every campaign and journey of a workspace
obeys. Frequency caps per person and channel across all of them (a cap may apply only
to a segment's members: fewer promotions for the most valuable customers), quiet hours
in the person's time zone, holding promotions from a customer whose service issue is
open or who was just unhappy, the sending rate of each transport, and the postal address
every marketing email carries."""

from __future__ import annotations

import uuid
from datetime import time
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator, model_validator
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import SettingsGroup


class Cap(BaseModel):
    """At most ``limit`` promotional messages in ``days`` days, on ``channel`` (``all``:
    every channel together); only for the members of ``segment_id`` when it is set."""

    channel: Literal["email", "sms", "all"] = "all"
    limit: int = Field(ge=0, le=1000)
    days: int = Field(ge=1, le=365)
    segment_id: uuid.UUID | None = None


Channel = Literal["email", "sms"]


class QuietHours(BaseModel):
    """No promotional message between ``start`` and ``end`` in the person's time zone
    (their ``timezone`` trait, else the workspace's); one due then waits for ``end``."""

    start: time = time(21, 0)
    end: time = time(8, 0)
    channels: list[Channel] = Field(default_factory=lambda: list[Channel](["sms"]))


class OutreachSettings(BaseModel):
    from_address: str = Field(
        default="",
        max_length=255,
        description="The From of campaigns (else the support mailbox's address); sent "
        "through the mailbox's relay, bounces return to the mailbox",
    )
    postal_address: str = Field(default="", max_length=500)
    footer: str = Field(default="", max_length=2000)
    caps: list[Cap] = Field(
        default_factory=lambda: [Cap(channel="all", limit=3, days=7)], max_length=20
    )
    quiet_hours: QuietHours | None = Field(default_factory=QuietHours)
    hold_on_open_conversation: bool = True
    hold_on_csat_at_most: int | None = Field(default=2, ge=1, le=5)
    hold_csat_days: int = Field(default=30, ge=1, le=365)
    hold_days: int = Field(default=3, ge=0, le=30)
    email_per_second: float = Field(default=200.0, gt=0, le=10_000)
    sms_per_second: float = Field(default=10.0, gt=0, le=1_000)

    @field_validator("from_address", "postal_address", "footer")
    @classmethod
    def _strip(cls, value: str) -> str:
        return value.strip()

    @model_validator(mode="after")
    def _quiet_hours_differ(self) -> OutreachSettings:
        if self.quiet_hours is not None and self.quiet_hours.start == self.quiet_hours.end:
            raise ValueError("quiet_hours: start and end must differ")
        return self


OUTREACH = SettingsGroup("outreach", OutreachSettings)


def read(workspace: Workspace) -> OutreachSettings:
    return OUTREACH.read(workspace)


def with_version(session: Session, workspace_id: uuid.UUID) -> tuple[OutreachSettings, int]:
    return OUTREACH.read_with_version(session, workspace_id)


def save(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[OutreachSettings, int]:
    return OUTREACH.save(session, workspace_id, raw, actor=actor, expected_version=expected_version)
