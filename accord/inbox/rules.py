"""A workspace's inbox settings (the settings group ``inbox``) and the rules they hold:
the reopen window, which team a channel goes to, and who counts as a VIP. They are
written only by :func:`accord.inbox.setup.save_inbox_settings`."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.settings import SettingsGroup
from accord.profile.models import Profile

PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("open", "pending", "snoozed", "resolved")
CHANNELS = ("email", "web", "phone", "sms", "chat", "social")
OPS = (">=", ">", "<=", "<", "==", "!=", "in", "contains")


def priority_rank(priority: str) -> int:
    return PRIORITIES.index(priority) if priority in PRIORITIES else 1


@dataclass
class Condition:
    field: str  # revenue | order_count | traits.NAME | stats.NAME
    op: str
    value: Any

    def value_of(self, profile: Profile) -> Any:
        if self.field == "revenue":
            return profile.revenue
        if self.field == "order_count":
            return profile.order_count
        if self.field.startswith("traits."):
            trait = (profile.traits or {}).get(self.field[7:])
            return trait.get("value") if isinstance(trait, dict) else None
        if self.field.startswith("stats."):
            return (profile.stats or {}).get(self.field[6:])
        return None

    def matches(self, profile: Profile) -> bool:
        actual = self.value_of(profile)
        if actual is None:
            return False
        expected = self.value
        if isinstance(actual, Decimal | int | float) and not isinstance(actual, bool):
            try:
                actual, expected = Decimal(str(actual)), Decimal(str(expected))
            except ArithmeticError:
                return False
        try:
            if self.op == ">=":
                return bool(actual >= expected)
            if self.op == ">":
                return bool(actual > expected)
            if self.op == "<=":
                return bool(actual <= expected)
            if self.op == "<":
                return bool(actual < expected)
            if self.op == "==":
                return str(actual).lower() == str(expected).lower()
            if self.op == "!=":
                return str(actual).lower() != str(expected).lower()
            if self.op == "in":
                return str(actual).lower() in {str(v).lower() for v in expected}
            if self.op == "contains":
                return str(expected).lower() in str(actual).lower()
        except TypeError:
            return False
        return False


class VipRule(BaseModel):
    """A customer matching any rule's condition is a VIP."""

    model_config = ConfigDict(extra="ignore")

    field: str = Field(min_length=1, max_length=120, description="revenue, order_count, ...")
    op: Literal[">=", ">", "<=", "<", "==", "!=", "in", "contains"] = ">="
    value: Any = None


class InboxRules(BaseModel):
    """``workspace.settings["inbox"]``: the reopen window, which team takes a channel,
    who is a VIP, surveys and the name the customer sees. What was stored besides these
    fields (earlier versions kept any key) is ignored on reading."""

    model_config = ConfigDict(extra="ignore")

    reopen_window_hours: int | float = Field(168, ge=0)
    default_team: str | None = Field(None, max_length=120)
    channel_teams: dict[Literal["email", "web", "phone", "sms", "chat", "social"], str] = Field(
        default_factory=dict
    )
    vip_rules: list[VipRule] = Field(default_factory=list, max_length=50)
    csat: bool = True
    support_name: str | None = Field(None, max_length=200)


class InboxRulesIn(InboxRules):
    """Inbox rules as an admin sends them: a field this version does not know is an
    error, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


INBOX = SettingsGroup("inbox", InboxRules)


@dataclass
class InboxSettings:
    reopen_window: timedelta = timedelta(days=7)
    default_team: str | None = None
    channel_teams: dict[str, str] = field(default_factory=dict)
    vip_rules: list[Condition] = field(default_factory=list)
    csat: bool = True
    support_name: str = "Support"

    @classmethod
    def of(cls, workspace: Workspace) -> InboxSettings:
        rules = INBOX.read(workspace)
        return cls(
            reopen_window=timedelta(hours=float(rules.reopen_window_hours)),
            default_team=rules.default_team,
            channel_teams={str(k): v for k, v in rules.channel_teams.items()},
            vip_rules=[Condition(r.field, r.op, r.value) for r in rules.vip_rules],
            csat=rules.csat,
            support_name=rules.support_name or workspace.name,
        )

    def is_vip(self, profile: Profile | None) -> bool:
        return profile is not None and any(rule.matches(profile) for rule in self.vip_rules)
