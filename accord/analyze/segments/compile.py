"""A segment's rule tree as SQL: one boolean expression over ``profiles``, the same on
SQLite and PostgreSQL. A full build selects every live person that matches, set-based;
evaluating a few people adds their ids, pushed into each sub-query (so it reads only
their rows). The explanation of one person runs the leaves one by one."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.orm import Session

from accord.analyze.scoring.models import CustomerScore
from accord.analyze.segments import rules
from accord.analyze.segments.models import ComputedTrait, SegmentMember
from accord.collect.models import Event
from accord.govern.consent.models import ConsentState
from accord.govern.consent.rules import ALL, REFUSING
from accord.kit.dialect import json_number, one_of, plus_seconds
from accord.profile.models import Profile
from accord.resolve.models import Identifier

Expr = ColumnElement[Any]
Cond = ColumnElement[bool]

# Where the address lives in a golden record (flattened, collect/traits.py), then the
# top-level trait of the same meaning.
LOCATION = {
    "country": ("address.country", "country"),
    "state": ("address.state", "state"),
    "city": ("address.city", "city"),
    "postal_code": ("address.postalCode", "postalCode"),
}
TIMEZONE_TRAITS = ("timezone", "timeZone")


@dataclass(frozen=True)
class FactContext:
    """What a service-fact compiler gets: the profile id column to correlate with, the
    workspace, now and the scope filter for its own sub-queries."""

    session: Session
    workspace_id: uuid.UUID
    now: datetime
    scope: Callable[[Any], Cond]


FactCompiler = Callable[[rules.ServiceCondition, FactContext], Cond]


@dataclass
class Compiler:
    session: Session
    workspace_id: uuid.UUID
    now: datetime
    scope: Sequence[uuid.UUID] | None = None
    computed: Mapping[str, ComputedTrait] = field(default_factory=dict)
    facts: Mapping[str, FactCompiler] = field(default_factory=dict)
    default_timezone: str = "UTC"

    def __post_init__(self) -> None:
        self._zones: list[str] | None = None

    # --- the whole tree ----------------------------------------------------------------

    def live(self) -> Cond:
        base = and_(Profile.workspace_id == self.workspace_id, Profile.merged_into_id.is_(None))
        if self.scope is not None:
            base = and_(base, self.in_scope(Profile.id))
        return base

    def members(self, node: Any) -> Select[Any]:
        """The ids of the live people (in scope) the tree holds for."""
        return select(Profile.id).where(self.live(), self.condition(node))

    def count(self, node: Any) -> Select[Any]:
        return select(func.count()).select_from(Profile).where(self.live(), self.condition(node))

    def in_scope(self, column: Any) -> Cond:
        if self.scope is None:
            return true()
        return one_of(self.session, column, list(self.scope))

    def condition(self, node: Any) -> Cond:
        if isinstance(node, rules.Group):
            parts = [self.condition(c) for c in node.conditions]
            return and_(*parts) if node.kind == "all" else or_(*parts)
        if isinstance(node, rules.Not):
            # Two-valued: a part that is unknown (NULL) for a person is false, and its
            # negation true.
            return not_(func.coalesce(self.condition(node.condition), false()))
        method: Callable[[Any], Cond] = getattr(self, f"_{node.kind}")
        return method(node)

    # --- profile fields ----------------------------------------------------------------

    def trait_text(self, key: str) -> Expr:
        text_value: Expr = Profile.traits[(key, "value")].as_string()
        return text_value

    def _trait(self, leaf: rules.TraitCondition) -> Cond:
        return self.test(self.trait_text(leaf.field), leaf.op, leaf.value, calendar_zone=True)

    def _location(self, leaf: rules.LocationCondition) -> Cond:
        nested, top = LOCATION[leaf.field]
        return self.test(
            func.coalesce(self.trait_text(nested), self.trait_text(top)), leaf.op, leaf.value
        )

    def _score(self, leaf: rules.ScoreCondition) -> Cond:
        column = getattr(CustomerScore, leaf.field)
        value = (
            select(column)
            .where(
                CustomerScore.profile_id == Profile.id,
                CustomerScore.workspace_id == self.workspace_id,
            )
            .scalar_subquery()
        )
        kind = "number" if rules.SCORES[leaf.field] == "number" else "auto"
        return self.test(value, leaf.op, leaf.value, kind=kind)

    def _value(self, leaf: rules.ValueCondition) -> Cond:
        f = leaf.field
        if f in ("revenue", "order_count"):
            return self.test(getattr(Profile, f), leaf.op, leaf.value, kind="number")
        if f in ("first_seen_at", "last_seen_at"):
            return self.test(getattr(Profile, f), leaf.op, leaf.value, kind="datetime")
        if f in ("email", "phone", "display_name"):
            return self.test(getattr(Profile, f), leaf.op, leaf.value)
        stat = Profile.stats[f].as_string()
        if rules.VALUES[f] == "number":
            return self.test(json_number(self.session, stat), leaf.op, leaf.value, kind="number")
        if rules.VALUES[f] == "date":
            return self.test(stat, leaf.op, leaf.value, kind="isotext")
        return self.test(stat, leaf.op, leaf.value)

    # --- comparisons -------------------------------------------------------------------

    def test(
        self,
        expr: Expr,
        op: str,
        value: Any,
        *,
        kind: str = "auto",
        calendar_zone: bool = False,
    ) -> Cond:
        """``expr op value``. ``kind``: "number", "datetime" (a timestamp column),
        "isotext" (an ISO date in text) or "auto" (text, as a number when the value is
        one). Text compares without regard to case; a negative test also holds where
        there is no value."""
        if op == "exists":
            return and_(expr.is_not(None), expr != "") if kind == "auto" else expr.is_not(None)
        if op == "not_exists":
            return not_(self.test(expr, "exists", None, kind=kind))
        if op in ("neq", "not_in", "not_contains"):
            positive = {"neq": "eq", "not_in": "in", "not_contains": "contains"}[op]
            return or_(expr.is_(None), not_(self.test(expr, positive, value, kind=kind)))
        if op in rules.RELATIVE:
            return self._relative(expr, op, float(value), kind)
        if op == "anniversary_within":
            return self._anniversary(expr, int(value))
        if op == "between":
            low, high = value
            return and_(
                self.test(expr, "gte", low, kind=kind), self.test(expr, "lte", high, kind=kind)
            )
        if op == "in":
            if kind == "auto" and value and all(isinstance(v, str) for v in value):
                # Texts: the value is read (and lowered) once, not once per text.
                return func.lower(expr).in_(sorted({v.lower() for v in value}))
            return or_(*[self.test(expr, "eq", v, kind=kind) for v in value])
        numeric = kind == "number" or (
            kind == "auto" and isinstance(value, int | float) and not isinstance(value, bool)
        )
        if numeric:
            number = expr if kind == "number" else json_number(self.session, expr)
            return compare(number, op, float(value))
        if kind == "datetime":
            return compare(expr, op, _as_datetime(value))
        if isinstance(value, bool):
            words = ("true", "1") if value else ("false", "0")
            hit = func.lower(expr).in_(words)
            return hit if op == "eq" else not_(hit)
        text_value = str(value)
        if op == "contains":
            return func.lower(expr).contains(text_value.lower(), autoescape=True)
        if op == "starts_with":
            return func.lower(expr).startswith(text_value.lower(), autoescape=True)
        if op == "eq":
            return func.lower(expr) == text_value.lower()
        return compare(expr, op, text_value)

    def _relative(self, expr: Expr, op: str, days: float, kind: str) -> Cond:
        span = timedelta(days=days)
        low, high = {
            "within_last": (self.now - span, self.now),
            "more_than_ago": (None, self.now - span),
            "within_next": (self.now, self.now + span),
        }[op]
        if kind == "datetime":
            parts = []
            if low is not None:
                parts.append(expr >= low)
            parts.append(expr < high if op == "more_than_ago" else expr <= high)
            return and_(*parts)
        # An ISO date or timestamp in text: compared as text, in the same layout.
        out = []
        if low is not None:
            out.append(
                expr >= low.isoformat() if kind == "isotext" else expr >= low.date().isoformat()
            )
        if op == "more_than_ago":
            out.append(expr < (high.isoformat() if kind == "isotext" else high.date().isoformat()))
        else:
            upper = high.isoformat() if kind == "isotext" else high.date().isoformat() + "~"
            out.append(expr <= upper)
        return and_(expr.is_not(None), *out)

    def zones(self) -> list[str]:
        """The time zones the workspace's people have (read once per compilation)."""
        if self._zones is None:
            tz = func.coalesce(*[self.trait_text(k) for k in TIMEZONE_TRAITS])
            found = self.session.scalars(
                select(tz)
                .where(Profile.workspace_id == self.workspace_id, tz.is_not(None))
                .distinct()
            ).all()
            self._zones = sorted({z for z in found if _zone(z) is not None})
        return self._zones

    def _anniversary(self, expr: Expr, days: int) -> Cond:
        """The month and day of ``expr`` falls within the next ``days`` days (today
        included), counted in the person's time zone (else the workspace's)."""
        month_day = func.substr(expr, 6, 5)
        tz = func.coalesce(*[self.trait_text(k) for k in TIMEZONE_TRAITS])
        zones = self.zones()
        default = _zone(self.default_timezone) or ZoneInfo("UTC")
        parts = [
            and_(tz == name, month_day.in_(_month_days(self.now, _zone(name) or default, days)))
            for name in zones
        ]
        others = month_day.in_(_month_days(self.now, default, days))
        parts.append(and_(or_(tz.is_(None), tz.not_in(zones) if zones else true()), others))
        return and_(expr.is_not(None), or_(*parts))

    # --- events ------------------------------------------------------------------------

    def event_filter(self, match: rules.EventMatch, alias: Any = Event) -> list[Cond]:
        out: list[Cond] = [alias.workspace_id == self.workspace_id, alias.profile_id.is_not(None)]
        if match.name in ("page", "screen"):
            out.append(alias.type == match.name)
        else:
            out.append(alias.name == match.name)
        for test in match.where:
            path = tuple(int(p) if p.isdigit() else p for p in test.property.split("."))
            value = alias.properties[path if len(path) > 1 else path[0]].as_string()
            out.append(self.test(value, test.op, test.value))
        out.append(self.in_scope(alias.profile_id))
        return out

    def _event(self, leaf: rules.EventCondition) -> Cond:
        where = self.event_filter(leaf)
        if leaf.within is not None:
            where.append(Event.timestamp > self.now - leaf.within.delta)
        where.append(Event.timestamp <= self.now)
        op, n = leaf.count.op, leaf.count.value
        zero_holds = _holds(0, op, n)
        if (op, n) in (("gte", 1), ("gt", 0)) or (op in ("eq", "lte", "lt") and _never(op, n)):
            # "at least once" (or "never"): a plain semi-join (or anti-join).
            found = exists(select(literal(1)).where(Event.profile_id == Profile.id, *where))
            return found if not zero_holds else not_(found)
        counted = func.count()
        grouped = (
            select(Event.profile_id.label("pid"))
            .where(*where)
            .group_by(Event.profile_id)
            .having(compare(counted, op, n) if not zero_holds else not_(compare(counted, op, n)))
            .subquery()
        )
        found = exists(select(literal(1)).where(grouped.c.pid == Profile.id))
        return found if not zero_holds else not_(found)

    def _sequence(self, leaf: rules.SequenceCondition) -> Cond:
        first = Event.__table__.alias("seq_first")
        then = Event.__table__.alias("seq_then")
        after = leaf.within.delta.total_seconds()
        followed = exists(
            select(literal(1)).where(
                *self.event_filter(leaf.then, then.c),
                then.c.profile_id == first.c.profile_id,
                # Implied by the first event's bounds, and given so the follow-up's index
                # range is the lookback's, not the whole history of the event.
                then.c.timestamp > self.now - leaf.lookback.delta,
                then.c.timestamp <= self.now,
                then.c.timestamp >= first.c.timestamp,
                then.c.timestamp <= plus_seconds(self.session, first.c.timestamp, after),
            )
        )
        return exists(
            select(literal(1)).where(
                *self.event_filter(leaf.first, first.c),
                first.c.profile_id == Profile.id,
                first.c.timestamp > self.now - leaf.lookback.delta,
                first.c.timestamp <= self.now - leaf.within.delta,
                not_(followed),
            )
        )

    # --- computed traits ---------------------------------------------------------------

    def computed_value(self, trait: ComputedTrait) -> Expr:
        """The trait's value for the person of the enclosing query (a scalar sub-query)."""
        match = rules.EventMatch(name=trait.event, where=trait.where or [])
        where = self.event_filter(match)
        where.append(Event.profile_id == Profile.id)
        where.append(Event.timestamp <= self.now)
        if trait.window_seconds:
            where.append(Event.timestamp > self.now - timedelta(seconds=trait.window_seconds))
        agg = trait.aggregate
        if agg == "count":
            return select(func.count()).where(*where).scalar_subquery()
        assert trait.property
        path = tuple(trait.property.split("."))
        raw = Event.properties[path if len(path) > 1 else path[0]].as_string()
        if agg in ("sum", "min", "max", "average"):
            number = json_number(self.session, raw)
            aggregated: Expr = {
                "sum": func.sum(number),
                "min": func.min(number),
                "max": func.max(number),
                "average": func.avg(number),
            }[agg]
            return select(aggregated).where(*where).scalar_subquery()
        if agg in ("first", "last"):
            order = Event.timestamp.asc() if agg == "first" else Event.timestamp.desc()
            return (
                select(raw)
                .where(*where, raw.is_not(None))
                .order_by(order)
                .limit(1)
                .scalar_subquery()
            )
        # most frequent, the latest breaking a tie
        return (
            select(raw)
            .where(*where, raw.is_not(None))
            .group_by(raw)
            .order_by(func.count().desc(), func.max(Event.timestamp).desc())
            .limit(1)
            .scalar_subquery()
        )

    def _computed(self, leaf: rules.ComputedCondition) -> Cond:
        trait = self.computed.get(leaf.key)
        if trait is None:
            return false()
        value = self.computed_value(trait)
        kind = "number" if trait.aggregate in ("count", "sum", "min", "max", "average") else "auto"
        return self.test(value, leaf.op, leaf.value, kind=kind)

    # --- identifiers, consent, service, segments ---------------------------------------

    def _identifier(self, leaf: rules.IdentifierCondition) -> Cond:
        found = exists(
            select(literal(1)).where(
                Identifier.profile_id == Profile.id,
                Identifier.type == leaf.type,
                Identifier.blocked.is_(False),
                self.in_scope(Identifier.profile_id),
            )
        )
        return found if leaf.present else not_(found)

    def _consent(self, leaf: rules.ConsentCondition) -> Cond:
        """The same reading as the send policy: a refusal anywhere that applies wins (the
        latest one); else the exact statement; else a grant for every channel or purpose;
        else pending; else none. Set-based: the states that apply, grouped by person."""
        c, p = leaf.channel, leaf.purpose
        applies = [
            ConsentState.workspace_id == self.workspace_id,
            ConsentState.channel.in_(sorted({c, ALL})),
            ConsentState.purpose.in_(sorted({p, ALL})),
            or_(ConsentState.expires_at.is_(None), ConsentState.expires_at > self.now),
            self.in_scope(ConsentState.profile_id),
        ]
        if leaf.status == "none":
            return not_(
                exists(select(literal(1)).where(ConsentState.profile_id == Profile.id, *applies))
            )

        def n(cond: Cond) -> Expr:
            return func.sum(case((cond, 1), else_=0))

        refusing = ConsentState.status.in_(sorted(REFUSING))
        exact = and_(ConsentState.channel == c, ConsentState.purpose == p)
        if leaf.status in REFUSING:
            latest = func.max(case((refusing, ConsentState.recorded_at), else_=None))
            mine = func.max(
                case((ConsentState.status == leaf.status, ConsentState.recorded_at), else_=None)
            )
            having: Cond = and_(n(refusing) > 0, mine == latest)
        else:
            exact_is = n(and_(exact, ConsentState.status == leaf.status)) > 0
            no_exact = n(exact) == 0
            grants = n(ConsentState.status == "granted")
            if leaf.status == "granted":
                fallback = and_(no_exact, grants > 0)
            else:
                fallback = and_(no_exact, grants == 0, n(ConsentState.status == "pending") > 0)
            having = and_(n(refusing) == 0, or_(exact_is, fallback))
        grouped = (
            select(ConsentState.profile_id.label("pid"))
            .where(*applies)
            .group_by(ConsentState.profile_id)
            .having(having)
            .subquery()
        )
        return exists(select(literal(1)).where(grouped.c.pid == Profile.id))

    def _service(self, leaf: rules.ServiceCondition) -> Cond:
        compiler = self.facts.get(leaf.fact)
        if compiler is None:
            return false()
        return compiler(leaf, FactContext(self.session, self.workspace_id, self.now, self.in_scope))

    def _segment(self, leaf: rules.SegmentCondition) -> Cond:
        found = exists(
            select(literal(1)).where(
                SegmentMember.segment_id == leaf.segment_id,
                SegmentMember.profile_id == Profile.id,
            )
        )
        return found if leaf.member else not_(found)


# --- helpers --------------------------------------------------------------------------


def compare(expr: Any, op: str, value: Any) -> Cond:
    return {  # type: ignore[no-any-return]
        "eq": lambda: expr == value,
        "gt": lambda: expr > value,
        "gte": lambda: expr >= value,
        "lt": lambda: expr < value,
        "lte": lambda: expr <= value,
        "neq": lambda: expr != value,
    }[op]()


def _holds(count: int, op: str, n: int) -> bool:
    return bool(
        {
            "eq": count == n,
            "gt": count > n,
            "gte": count >= n,
            "lt": count < n,
            "lte": count <= n,
            "neq": count != n,
        }[op]
    )


def _never(op: str, n: int) -> bool:
    """Whether ``count op n`` means "zero times"."""
    return (op, n) in (("eq", 0), ("lte", 0), ("lt", 1))


def _as_datetime(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value
    text_value = str(value)
    if len(text_value) == 10:
        text_value += "T00:00:00+00:00"
    parsed = datetime.fromisoformat(text_value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed


def _zone(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(str(name))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _month_days(now: datetime, zone: ZoneInfo, days: int) -> list[str]:
    """The "MM-DD" of today (in ``zone``) and the ``days`` after it; a birthday on
    29 February counts on the 28th in a year without one."""
    today = now.astimezone(zone).date()
    out = []
    for i in range(days + 1):
        day = today + timedelta(days=i)
        out.append(day.strftime("%m-%d"))
        if day.month == 2 and day.day == 28 and not _leap(day.year):
            out.append("02-29")
    return sorted(set(out))


def _leap(year: int) -> bool:
    try:
        date(year, 2, 29)
    except ValueError:
        return False
    return True


def case_flag(cond: Cond) -> Expr:
    """A condition as a value that reads back as true or false on both databases."""
    return case((cond, literal(1)), else_=literal(0))
