"""The language of proactive triggers, with no storage: an event (page view, time on
page or site, idle, exit intent, a custom ``accord.trigger(name)``), conditions over the
visitor's facts joined by all/any, and the holdout draw. Pure functions, tested alone."""

from __future__ import annotations

import fnmatch
import hashlib
import re
import uuid
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

EVENTS = ("page_view", "time_on_page", "time_on_site", "idle", "exit_intent", "custom")
TIMED_EVENTS = ("time_on_page", "time_on_site", "idle")
FACTS = {
    "url": "the page's full URL",
    "path": "the page's path",
    "title": "the page's title",
    "referrer": "where this visit came from",
    "utm_source": "utm_source of this visit",
    "utm_medium": "utm_medium of this visit",
    "utm_campaign": "utm_campaign of this visit",
    "time_on_page": "seconds on this page",
    "time_on_site": "seconds on the site this visit",
    "visits": "visits so far, this one included",
    "pages": "pages seen this visit",
    "returning": "true when the visitor came before",
    "identified": "true when the site identified the visitor",
    "verified": "true when the site's server vouched for who the visitor is",
    "country": "two-letter country code",
    "cart_value": "the value of the cart",
    "hour": "hour of day in the workspace's time zone (0-23)",
    "weekday": "mon ... sun in the workspace's time zone",
    "agents_available": "true when an agent can answer now",
    "profile.revenue": "the known customer's revenue",
    "profile.order_count": "the known customer's orders",
    "profile.TRAIT": "any trait of the known customer's profile",
}
OPS = (
    "is",
    "is_not",
    "contains",
    "not_contains",
    "starts_with",
    "glob",
    "regex",
    ">",
    ">=",
    "<",
    "<=",
    "in",
)
ACTIONS = ("message", "article", "notify")
MAX_REGEX = 300


class RuleError(ValueError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Condition:
    fact: str
    op: str
    value: Any

    def holds(self, facts: dict[str, Any]) -> bool:
        return compare(facts.get(self.fact), self.op, self.value)


@dataclass
class Rule:
    event: str
    event_value: str = ""
    match: str = "all"
    conditions: list[Condition] = field(default_factory=list)

    def fires(self, event: Event, facts: dict[str, Any]) -> bool:
        if not event_matches(self.event, self.event_value, event):
            return False
        if not self.conditions:
            return True
        results = (c.holds(facts) for c in self.conditions)
        return any(results) if self.match == "any" else all(results)


@dataclass(frozen=True)
class Event:
    """What the widget reported: ``kind`` is one of EVENTS; ``seconds`` for the timed
    ones, ``name`` for a custom trigger."""

    kind: str
    seconds: float = 0
    name: str = ""


def event_matches(kind: str, value: str, event: Event) -> bool:
    if kind != event.kind:
        return False
    if kind in TIMED_EVENTS:
        return event.seconds >= threshold(value)
    if kind == "custom":
        return value.strip().lower() == event.name.strip().lower()
    return True


def threshold(value: str) -> float:
    try:
        return max(float(value or 0), 0.0)
    except ValueError:
        return 0.0


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None


def _truth(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "1", "on")
    return bool(value)


def compare(actual: Any, op: str, expected: Any) -> bool:
    """``actual`` (a fact) against ``expected`` (from the rule); a missing fact never
    matches, except ``is_not`` and ``not_contains``."""
    if actual is None:
        return op in ("is_not", "not_contains")
    if op in (">", ">=", "<", "<="):
        a, b = _number(actual), _number(expected)
        if a is None or b is None:
            return False
        return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]
    if isinstance(actual, bool):
        same = actual == _truth(expected)
        return same if op == "is" else (not same if op == "is_not" else False)
    text = str(actual).lower()
    if op in ("is", "is_not"):
        a_num, b_num = _number(actual), _number(expected)
        same = (
            a_num == b_num
            if a_num is not None and b_num is not None
            else text == str(expected).strip().lower()
        )
        return same if op == "is" else not same
    if op == "contains":
        return str(expected).lower() in text
    if op == "not_contains":
        return str(expected).lower() not in text
    if op == "starts_with":
        return text.startswith(str(expected).lower())
    if op == "in":
        options = expected if isinstance(expected, list) else str(expected).split(",")
        return text in {str(o).strip().lower() for o in options}
    if op == "glob":
        return fnmatch.fnmatchcase(text, str(expected).lower())
    if op == "regex":
        try:
            return re.search(str(expected), str(actual), re.IGNORECASE) is not None
        except re.error:
            return False
    return False


def parse_conditions(raw: Any) -> list[Condition]:
    """Validated conditions; a problem names its place (``conditions[2].op``)."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise RuleError("conditions", "conditions must be a list")
    out = []
    for i, item in enumerate(raw):
        where = f"conditions[{i}]"
        if not isinstance(item, dict):
            raise RuleError(where, "each condition is an object with fact, op and value")
        fact = str(item.get("fact") or "").strip()
        op = str(item.get("op") or "").strip()
        if fact not in FACTS and not (fact.startswith("profile.") and len(fact) > 8):
            raise RuleError(f"{where}.fact", f"unknown fact {fact!r}")
        if op not in OPS:
            raise RuleError(f"{where}.op", f"op must be one of {', '.join(OPS)}")
        value = item.get("value")
        if op == "regex":
            if len(str(value)) > MAX_REGEX:
                raise RuleError(f"{where}.value", "the pattern is too long")
            try:
                re.compile(str(value))
            except re.error as exc:
                raise RuleError(f"{where}.value", f"not a valid pattern: {exc}") from None
        if op in (">", ">=", "<", "<=") and _number(value) is None:
            raise RuleError(f"{where}.value", "a number is needed")
        out.append(Condition(fact, op, value))
    return out


def check_event(event: str, value: str) -> None:
    if event not in EVENTS:
        raise RuleError("event", f"event must be one of {', '.join(EVENTS)}")
    if event in TIMED_EVENTS and threshold(value) <= 0:
        raise RuleError("event_value", "give the number of seconds")
    if event == "custom" and not value.strip():
        raise RuleError("event_value", "give the name the page passes to accord.trigger()")


def check_action(action: Any) -> dict[str, Any]:
    if not isinstance(action, dict) or action.get("kind") not in ACTIONS:
        raise RuleError("action.kind", f"the action's kind must be one of {', '.join(ACTIONS)}")
    kind = action["kind"]
    clean: dict[str, Any] = {"kind": kind}
    for key, limit in (("body", 2000), ("author", 120), ("team", 120), ("title", 200)):
        if action.get(key):
            clean[key] = str(action[key]).strip()[:limit]
    if action.get("url"):
        url = str(action["url"]).strip()
        if not url.startswith(("https://", "http://", "/")):
            raise RuleError("action.url", "the article's link must be http(s) or a path")
        clean["url"] = url[:2000]
    if kind == "message" and not clean.get("body"):
        raise RuleError("action.body", "a proactive message needs its text")
    if kind == "article" and not (clean.get("url") and clean.get("title")):
        raise RuleError("action.url", "a suggested article needs a title and a link")
    return clean


def in_holdout(trigger_id: uuid.UUID, visitor_id: uuid.UUID, percent: int) -> bool:
    """A stable draw per trigger and visitor: the same visitor is always in or out."""
    if percent <= 0:
        return False
    digest = hashlib.sha256(f"{trigger_id}:{visitor_id}".encode()).digest()
    return int.from_bytes(digest[:4], "big") % 100 < min(percent, 100)
