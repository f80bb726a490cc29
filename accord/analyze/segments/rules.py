"""A segment's definition: a tree of conditions (all / any / not, nested) over what the
workspace knows of a person. Pure: validation, what a tree depends on (so only the
segments a change touches are evaluated again) and which parts of it move with time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from accord.govern.consent.rules import ALL, CHANNELS, PURPOSES, STATUSES

MAX_DEPTH = 6
MAX_CONDITIONS = 60

# Operators on a value. "within_last" / "more_than_ago" / "within_next" compare a date
# with now; "anniversary_within" compares the month and day (a birthday) in the
# person's time zone.
COMPARE = ("eq", "neq", "gt", "gte", "lt", "lte")
TEXT = ("contains", "not_contains", "starts_with")
LISTS = ("in", "not_in")
PRESENCE = ("exists", "not_exists")
RELATIVE = ("within_last", "more_than_ago", "within_next")
CALENDAR = ("anniversary_within",)
OPS = COMPARE + TEXT + LISTS + PRESENCE + ("between",) + RELATIVE + CALENDAR
COUNT_OPS = ("gte", "gt", "eq", "lte", "lt")

# What a profile holds besides its traits: the columns and computed values folded by
# the profile layer, and the value scores of customer analytics when present.
VALUES: dict[str, str] = {
    "revenue": "number",
    "order_count": "number",
    "average_order_value": "number",
    "last_order_at": "date",
    "first_seen_at": "date",
    "last_seen_at": "date",
    "event_count": "number",
    "preferred_channel": "text",
    "email": "text",
    "phone": "text",
    "display_name": "text",
}

SERVICE_FACTS = ("open_conversation", "conversations", "csat")
# The scores of customer analytics (``analyze/scoring``), kept per person by its last run.
SCORES: dict[str, str] = {
    "rfm_group": "text",
    "r_score": "number",
    "f_score": "number",
    "m_score": "number",
    "recency_days": "number",
    "clv": "number",
    "expected_purchases": "number",
    "p_alive": "number",
    "churn_risk": "number",
    "persona_name": "text",
    "relationship_value": "number",
    "service_cost": "number",
}
# A trait or property name (dots step into nested ones): any text but quotes,
# backslashes, braces, commas and control characters, which JSON paths cannot carry.
KEY = r"^[^\"\\{},\x00-\x1f\x7f]+$"


class Window(BaseModel):
    """A length of time: days, hours and minutes add up."""

    model_config = ConfigDict(extra="forbid")
    days: int = Field(0, ge=0, le=3650)
    hours: int = Field(0, ge=0, le=24 * 3650)
    minutes: int = Field(0, ge=0, le=60 * 24 * 3650)

    @model_validator(mode="after")
    def _positive(self) -> Window:
        if self.delta <= timedelta(0):
            raise ValueError("a window must be longer than zero")
        return self

    @property
    def delta(self) -> timedelta:
        return timedelta(days=self.days, hours=self.hours, minutes=self.minutes)


class Leaf(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ValueTest(Leaf):
    op: Literal[OPS]  # type: ignore[valid-type]
    value: Any = None

    @model_validator(mode="after")
    def _value_fits(self) -> ValueTest:
        check_value(self.op, self.value)
        return self


def check_value(op: str, value: Any) -> None:
    if op in PRESENCE:
        return
    if op in LISTS:
        if not isinstance(value, list) or not value or len(value) > 1000:
            raise ValueError(f"'{op}' takes a list of 1 to 1,000 values")
        return
    if op == "between":
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError("'between' takes two values: [low, high]")
        return
    if op in RELATIVE or op in CALENDAR:
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ValueError(f"'{op}' takes a number of days")
        return
    if value is None:
        raise ValueError(f"'{op}' needs a value")
    if op in TEXT and not isinstance(value, str):
        raise ValueError(f"'{op}' takes text")


class TraitCondition(ValueTest):
    """A trait of the golden record; nested traits by dots (``address.city``)."""

    kind: Literal["trait"]
    field: str = Field(min_length=1, max_length=200, pattern=KEY)


class ValueCondition(ValueTest):
    """A value the profile keeps: revenue, orders, dates seen, preferred channel..."""

    kind: Literal["value"]
    field: str

    @field_validator("field")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in VALUES:
            raise ValueError(f"unknown value; one of {', '.join(VALUES)}")
        return v


class ScoreCondition(ValueTest):
    """A score of customer analytics: RFM group or scores, lifetime value, churn risk,
    persona, relationship value (as of the workspace's last recompute)."""

    kind: Literal["score"]
    field: str

    @field_validator("field")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in SCORES:
            raise ValueError(f"unknown score; one of {', '.join(SCORES)}")
        return v

    @model_validator(mode="after")
    def _not_relative(self) -> ScoreCondition:
        if self.op in RELATIVE or self.op in CALENDAR:
            raise ValueError("scores are compared as numbers or text, not as dates")
        return self


class ComputedCondition(ValueTest):
    """A computed trait the workspace defined, by its key."""

    kind: Literal["computed"]
    key: str = Field(min_length=1, max_length=80)


class PropertyTest(Leaf):
    property: str = Field(min_length=1, max_length=200, pattern=KEY)
    op: Literal[COMPARE + TEXT + LISTS + PRESENCE + ("between",)]  # type: ignore[valid-type]
    value: Any = None

    @model_validator(mode="after")
    def _value_fits(self) -> PropertyTest:
        check_value(self.op, self.value)
        return self


class EventMatch(Leaf):
    """Which events count: a track event's name (or ``page`` / ``screen`` views) and
    tests on its properties."""

    name: str = Field(min_length=1, max_length=200)
    where: list[PropertyTest] = Field(default_factory=list, max_length=10)


class Count(Leaf):
    op: Literal[COUNT_OPS] = "gte"  # type: ignore[valid-type]
    value: int = Field(1, ge=0, le=1_000_000)


class EventCondition(EventMatch):
    """``name`` (with ``where``) happened ``count`` times, over the last ``within`` or
    ever. ``count`` {op: eq, value: 0} is "never" (or "not in the window")."""

    kind: Literal["event"]
    count: Count = Field(default_factory=Count)
    within: Window | None = None


class SequenceCondition(Leaf):
    """``first`` happened (within ``lookback``) and ``then`` did not follow within
    ``within`` of it: "Checkout Started and not Order Completed within 1 hour". True
    once the ``within`` has passed without it."""

    kind: Literal["sequence"]
    first: EventMatch
    then: EventMatch
    within: Window
    lookback: Window = Field(default_factory=lambda: Window(days=30))


class IdentifierCondition(Leaf):
    kind: Literal["identifier"]
    type: str = Field(min_length=1, max_length=40)
    present: bool = True


class ConsentCondition(Leaf):
    """The person's current statement for a channel and purpose (the most specific one
    that applies; ``none`` when there is none)."""

    kind: Literal["consent"]
    channel: str
    purpose: str
    status: Literal["granted", "denied", "withdrawn", "pending", "none"]

    @model_validator(mode="after")
    def _known(self) -> ConsentCondition:
        if self.channel not in (*CHANNELS, ALL):
            raise ValueError(f"unknown channel; one of {', '.join(CHANNELS)}")
        if self.purpose not in (*PURPOSES, ALL):
            raise ValueError(f"unknown purpose; one of {', '.join(PURPOSES)}")
        assert set(STATUSES) >= {"granted", "denied", "withdrawn", "pending"}
        return self


class ServiceCondition(Leaf):
    """Customer service facts: an open conversation; the number of conversations; a
    satisfaction score (the lowest given in the window)."""

    kind: Literal["service"]
    fact: Literal["open_conversation", "conversations", "csat"]
    op: Literal[(*COUNT_OPS, "neq")] = "gte"  # type: ignore[valid-type]
    value: int = Field(1, ge=0, le=1_000_000)
    within: Window | None = None


class SegmentCondition(Leaf):
    kind: Literal["segment"]
    segment_id: uuid.UUID
    member: bool = True


class LocationCondition(ValueTest):
    """Where the person lives, from the address traits (or the top-level ones)."""

    kind: Literal["location"]
    field: Literal["country", "state", "city", "postal_code"]


class Group(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["all", "any"]
    conditions: list[Condition] = Field(min_length=1, max_length=MAX_CONDITIONS)


class Not(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: Literal["not"]
    condition: Condition


Condition = Annotated[
    Group
    | Not
    | TraitCondition
    | ValueCondition
    | ScoreCondition
    | ComputedCondition
    | EventCondition
    | SequenceCondition
    | IdentifierCondition
    | ConsentCondition
    | ServiceCondition
    | SegmentCondition
    | LocationCondition,
    Field(discriminator="kind"),
]
Group.model_rebuild()
Not.model_rebuild()

LEAVES = (
    TraitCondition,
    ValueCondition,
    ScoreCondition,
    ComputedCondition,
    EventCondition,
    SequenceCondition,
    IdentifierCondition,
    ConsentCondition,
    ServiceCondition,
    SegmentCondition,
    LocationCondition,
)


class Definition(BaseModel):
    """The root of a tree, checked for depth and size."""

    model_config = ConfigDict(extra="forbid")
    root: Condition

    @model_validator(mode="after")
    def _bounded(self) -> Definition:
        count = 0
        for depth, _node in walk(self.root):
            count += 1
            if depth > MAX_DEPTH:
                raise ValueError(f"conditions nest at most {MAX_DEPTH} deep")
        if count > MAX_CONDITIONS:
            raise ValueError(f"a segment has at most {MAX_CONDITIONS} conditions")
        return self


def parse(data: Any) -> Condition:
    return Definition.model_validate({"root": data}).root


def walk(node: Any, depth: int = 1) -> Iterator[tuple[int, Any]]:
    yield depth, node
    if isinstance(node, Group):
        for child in node.conditions:
            yield from walk(child, depth + 1)
    elif isinstance(node, Not):
        yield from walk(node.condition, depth + 1)


def leaves(node: Any) -> list[Any]:
    return [n for _, n in walk(node) if isinstance(n, LEAVES)]


# --- what a tree depends on ----------------------------------------------------------
# Topics of a change: "traits" (an identify call), "orders", "activity" (any event),
# "event:<name>", "identifiers", "consent", "service", "segment:<id>", "scores" (a
# recompute of customer analytics); "*" is everything
# (a merge, a split).


# Which change moves each value of the profile: identify calls (traits), orders and
# refunds (orders), any event at all (activity).
VALUE_TOPICS = {
    "revenue": "orders",
    "order_count": "orders",
    "average_order_value": "orders",
    "last_order_at": "orders",
    "first_seen_at": "activity",
    "last_seen_at": "activity",
    "event_count": "activity",
    "preferred_channel": "activity",
    "email": "traits",
    "phone": "traits",
    "display_name": "traits",
}


def topics(node: Any, computed_events: dict[str, str] | None = None) -> set[str]:
    out: set[str] = set()
    for leaf in leaves(node):
        if isinstance(leaf, TraitCondition | LocationCondition):
            out.add("traits")
        elif isinstance(leaf, ValueCondition):
            out.add(VALUE_TOPICS[leaf.field])
        elif isinstance(leaf, ScoreCondition):
            out.add("scores")
        elif isinstance(leaf, EventCondition):
            out.add(f"event:{leaf.name}")
        elif isinstance(leaf, SequenceCondition):
            out.update({f"event:{leaf.first.name}", f"event:{leaf.then.name}"})
        elif isinstance(leaf, ComputedCondition):
            name = (computed_events or {}).get(leaf.key)
            out.add(f"event:{name}" if name else "activity")
        elif isinstance(leaf, IdentifierCondition):
            out.add("identifiers")
        elif isinstance(leaf, ConsentCondition):
            out.add("consent")
        elif isinstance(leaf, ServiceCondition):
            out.add("service")
        elif isinstance(leaf, SegmentCondition):
            out.add(f"segment:{leaf.segment_id}")
    return out


def referenced_segments(node: Any) -> set[uuid.UUID]:
    return {leaf.segment_id for leaf in leaves(node) if isinstance(leaf, SegmentCondition)}


def moves_with_time(leaf: Any) -> bool:
    """Whether the leaf's truth can change with no new data, as time passes."""
    if isinstance(leaf, EventCondition):
        return leaf.within is not None
    if isinstance(leaf, SequenceCondition):
        return True
    if isinstance(leaf, ServiceCondition):
        return leaf.within is not None
    if isinstance(leaf, TraitCondition | ValueCondition | ComputedCondition):
        return leaf.op in RELATIVE or leaf.op in CALENDAR
    return False


def calendar(node: Any) -> bool:
    """Whether the tree has a condition on the calendar (an anniversary, a trait date
    relative to today): evaluated again at every quarter hour, when some time zone's day
    begins."""
    for leaf in leaves(node):
        if getattr(leaf, "op", None) in CALENDAR:
            return True
        if isinstance(leaf, TraitCondition | ComputedCondition) and leaf.op in RELATIVE:
            return True
    return False
