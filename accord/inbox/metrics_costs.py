"""What service costs (the settings group ``service_costs``): a fixed cost per
conversation on each channel (telephony, SMS or platform fees), an agent's hourly cost and
the minutes of agent time each reply takes on each channel, in one currency. The service
dashboards turn volumes and replies into money with them (``metrics_trends``); writes
go through :data:`COSTS` (validated, versioned, audited), from the API and the console.

The cost of a conversation is its channel's fixed cost plus, for every reply an agent
wrote in it, that reply channel's minutes at the hourly cost. It is an estimate: Accord
does not clock agents, so the minutes per reply stand for the handling time."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import SettingsGroup, Versioned
from accord.inbox.rules import CHANNELS

MAX_MONEY = Decimal("1000000")
DEFAULT_REPLY_MINUTES = {
    "email": 6.0,
    "web": 6.0,
    "chat": 3.0,
    "phone": 8.0,
    "sms": 3.0,
    "social": 4.0,
}


def _channels(value: dict[str, Any], what: str) -> dict[str, Any]:
    unknown = sorted(set(value) - set(CHANNELS))
    if unknown:
        raise ValueError(f"{what}: unknown channel {unknown[0]!r} (one of {', '.join(CHANNELS)})")
    return value


class ServiceCosts(BaseModel):
    """The costs of service in one workspace (all zero until an admin sets them)."""

    model_config = ConfigDict(extra="forbid")

    currency: str = Field(
        default="USD", pattern=r"^[A-Z]{3}$", description="ISO 4217 code, e.g. EUR"
    )
    per_conversation: dict[str, Decimal] = Field(
        default_factory=dict,
        description="Fixed cost of one conversation by channel (email, web, phone, chat, "
        "social): telephony, SMS or platform fees",
    )
    agent_hourly: Decimal = Field(
        default=Decimal("0"), ge=0, le=MAX_MONEY, description="What an hour of an agent costs"
    )
    reply_minutes: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_REPLY_MINUTES),
        description="Minutes of agent time one reply takes, by channel (a call: its handling)",
    )

    @field_validator("per_conversation")
    @classmethod
    def _costs(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        _channels(value, "per_conversation")
        for channel, cost in value.items():
            if not Decimal("0") <= cost <= MAX_MONEY:
                raise ValueError(f"per_conversation.{channel}: must be 0 to {MAX_MONEY:,}")
        return {k: v.quantize(Decimal("0.0001")) for k, v in value.items()}

    @field_validator("agent_hourly")
    @classmethod
    def _hourly(cls, value: Decimal) -> Decimal:
        return value.quantize(Decimal("0.0001"))

    @field_validator("reply_minutes")
    @classmethod
    def _minutes(cls, value: dict[str, float]) -> dict[str, float]:
        _channels(value, "reply_minutes")
        for channel, minutes in value.items():
            if not 0 <= minutes <= 600:
                raise ValueError(f"reply_minutes.{channel}: must be 0 to 600 minutes")
        return value

    def fixed(self, channel: str) -> Decimal:
        return self.per_conversation.get(channel, Decimal("0"))

    def minutes(self, channel: str) -> float:
        return float(self.reply_minutes.get(channel, DEFAULT_REPLY_MINUTES.get(channel, 5.0)))

    @property
    def configured(self) -> bool:
        """Whether any cost is set (otherwise every cost reads zero)."""
        return self.agent_hourly > 0 or any(v > 0 for v in self.per_conversation.values())


class ServiceCostsBody(ServiceCosts, Versioned):
    """The API's form of the group: its fields plus the ``version`` read or expected."""


COSTS = SettingsGroup("service_costs", ServiceCosts)


def read(workspace: Workspace) -> ServiceCosts:
    return COSTS.read(workspace)


def with_version(session: Session, workspace_id: uuid.UUID) -> tuple[ServiceCosts, int]:
    """The workspace's costs and their version."""
    return COSTS.read_with_version(session, workspace_id)


def save(
    session: Session,
    workspace_id: uuid.UUID,
    raw: dict[str, Any],
    *,
    actor: Principal,
    expected_version: int | None = None,
) -> tuple[ServiceCosts, int]:
    """Replace the costs (422 naming the field, 409 on a stale ``version``; audited)."""
    return COSTS.save(session, workspace_id, raw, actor=actor, expected_version=expected_version)
