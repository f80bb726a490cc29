"""A workspace's identity rules: the standard types' priorities, uniqueness and limits, the
values that never identify anyone, overlaid with ``settings["identity"]``; and which of an
event's identifiers it belongs with."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol, TypeVar

from accord.collect.identifiers import (
    ANONYMOUS_ID,
    DEVICE_ID,
    EMAIL,
    LOYALTY_CARD,
    PHONE,
    SOCIAL,
    USER_ID,
)
from accord.govern.workspaces.models import Workspace
from accord.resolve.graph import Rules, TypeRule
from accord.resolve.settings import IDENTITY

# An identifier's last seen time moves when an event comes this much later (writing it on
# every event would cost a write per event for a figure read at this resolution).
LAST_SEEN_RESOLUTION = timedelta(hours=1)

DEFAULT_TYPES: dict[str, TypeRule] = {
    USER_ID: TypeRule(USER_ID, priority=100, unique=True, limit=1),
    EMAIL: TypeRule(EMAIL, priority=80, limit=5),
    LOYALTY_CARD: TypeRule(LOYALTY_CARD, priority=75, limit=3),
    PHONE: TypeRule(PHONE, priority=70, limit=5),
    SOCIAL: TypeRule(SOCIAL, priority=60, limit=10),
    DEVICE_ID: TypeRule(DEVICE_ID, priority=30, limit=20),
    ANONYMOUS_ID: TypeRule(ANONYMOUS_ID, priority=10),
}
EXTERNAL_PRIORITY = 50

DEFAULT_BLOCKED: dict[str, frozenset[str]] = {
    EMAIL: frozenset(
        {
            "test@test.com",
            "test@example.com",
            "email@example.com",
            "noreply@example.com",
            "no-reply@example.com",
            "none@none.com",
            "a@a.com",
            "null@null.com",
        }
    ),
    PHONE: frozenset({"+10000000000", "+11111111111", "+12345678900", "+19999999999"}),
    USER_ID: frozenset({"undefined", "null", "none", "0", "-1", "anonymous", "guest", "nan"}),
    ANONYMOUS_ID: frozenset({"undefined", "null", "none", "0", "nan", ""}),
    DEVICE_ID: frozenset(
        {"undefined", "null", "0", "00000000-0000-0000-0000-000000000000", "unknown"}
    ),
}


@dataclass(frozen=True)
class IdentityRules:
    """A workspace's identity rules: defaults overlaid with ``settings["identity"]``."""

    graph: Rules
    blocked: Mapping[str, frozenset[str]]
    shared_device_threshold: int
    region: str

    def priority(self, type_name: str) -> int:
        return self.graph.rule(type_name).priority

    def is_blocked(self, type_name: str, value: str) -> bool:
        return value.lower() in self.blocked.get(type_name, frozenset())

    @classmethod
    def of(cls, workspace: Workspace) -> IdentityRules:
        identity = IDENTITY.read(workspace)
        types = dict(DEFAULT_TYPES)
        for name, spec in identity.types.items():
            base = types.get(name) or TypeRule(name, priority=EXTERNAL_PRIORITY)
            types[name] = TypeRule(
                name,
                priority=base.priority if spec.priority is None else spec.priority,
                unique=base.unique if spec.unique is None else spec.unique,
                limit=base.limit if spec.limit is None else spec.limit,
            )
        blocked = {k: set(v) for k, v in DEFAULT_BLOCKED.items()}
        for name, values in identity.blocked.items():
            blocked.setdefault(name, set()).update(str(v).lower() for v in values)
        return cls(
            graph=Rules(types=types),
            blocked={k: frozenset(v) for k, v in blocked.items()},
            shared_device_threshold=identity.shared_device_threshold,
            region=workspace.default_region,
        )


class _Typed(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def value(self) -> str: ...
    @property
    def blocked(self) -> bool: ...


T = TypeVar("T", bound=_Typed)

# Who sent an event: its userId, else its anonymousId.
SENDER_ORDER = {USER_ID: 0, ANONYMOUS_ID: 1}


def primary_of(rows: list[T], rules: IdentityRules) -> T | None:
    """The identifier an event belongs with: who sent it (its userId, else its
    anonymousId), else the strongest identifier it carries. After a split, an event goes
    back with its sender, so each side is restored as it was."""
    active = [r for r in rows if not r.blocked]
    if not active:
        return None
    return min(
        active,
        key=lambda r: (SENDER_ORDER.get(r.type, 2), -rules.priority(r.type), r.type, r.value),
    )
