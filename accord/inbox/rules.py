"""A workspace's inbox settings (``workspace.settings["inbox"]``) and the rules they
hold: the reopen window, which team a channel goes to, and who counts as a VIP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from accord.govern.workspaces.models import Workspace
from accord.profile.models import Profile

PRIORITIES = ("low", "normal", "high", "urgent")
STATUSES = ("open", "pending", "snoozed", "resolved")
CHANNELS = ("email", "web", "phone", "chat", "social")
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
        raw = (workspace.settings or {}).get("inbox") or {}
        rules = [
            Condition(str(r["field"]), str(r.get("op", ">=")), r.get("value"))
            for r in raw.get("vip_rules") or []
            if isinstance(r, dict) and r.get("field")
        ]
        return cls(
            reopen_window=timedelta(hours=float(raw.get("reopen_window_hours", 168))),
            default_team=raw.get("default_team"),
            channel_teams=dict(raw.get("channel_teams") or {}),
            vip_rules=rules,
            csat=bool(raw.get("csat", True)),
            support_name=str(raw.get("support_name") or workspace.name),
        )

    def is_vip(self, profile: Profile | None) -> bool:
        return profile is not None and any(rule.matches(profile) for rule in self.vip_rules)


def validate_inbox_settings(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems with an inbox settings document as ``(field, message)``."""
    problems: list[tuple[str, str]] = []
    window = raw.get("reopen_window_hours", 168)
    if not isinstance(window, int | float) or window < 0:
        problems.append(("reopen_window_hours", "must be a number of hours, 0 or more"))
    for i, rule in enumerate(raw.get("vip_rules") or []):
        if not isinstance(rule, dict) or not rule.get("field"):
            problems.append((f"vip_rules[{i}].field", "each rule needs a field"))
        elif rule.get("op", ">=") not in OPS:
            problems.append((f"vip_rules[{i}].op", f"must be one of {', '.join(OPS)}"))
    for channel in raw.get("channel_teams") or {}:
        if channel not in CHANNELS:
            problems.append((f"channel_teams.{channel}", f"must be one of {', '.join(CHANNELS)}"))
    return problems
