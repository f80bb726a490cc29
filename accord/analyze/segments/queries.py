"""What the segments API and console read: a definition's size and a sample of its
people before it is saved, why one person is in or out, members, history, sizes over
time, a person's segments, and the fields the workspace has (for the builder)."""

from __future__ import annotations

import re
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.analyze.segments import rules
from accord.analyze.segments.compile import LOCATION
from accord.analyze.segments.explain import explain
from accord.analyze.segments.models import Segment, SegmentChange, SegmentMember
from accord.analyze.segments.repository import ComputedTraitRepository, SegmentRepository
from accord.analyze.segments.service import Engine, compiler, parse_definition
from accord.collect.models import Event
from accord.kit.errors import invalid
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.resolve.models import Identifier

SAMPLE = 20
EXACT_UP_TO = 100_000  # people counted exactly by the estimate; beyond, a sample
SAMPLE_PEOPLE = 20_000  # about how many people the sample of a larger workspace holds
FIELD_SAMPLE = 2000  # profiles read to list trait names
EVENT_SAMPLE = 20_000  # latest events read to list event names and properties
SUGGESTIONS = 20


@dataclass
class Estimate:
    size: int
    total: int
    sample: list[Profile]
    millis: float
    exact: bool = True
    fraction: float = 1.0


def estimate(
    session: Session,
    engine: Engine,
    workspace_id: uuid.UUID,
    definition: Any,
    *,
    sample: int = SAMPLE,
    now: datetime | None = None,
) -> Estimate:
    """How many live people a definition holds for now, and some of them (the last seen
    first). Counted exactly up to ``EXACT_UP_TO`` people. In a larger workspace, counted
    on a random set of about ``SAMPLE_PEOPLE`` of them (chosen by a hash of their ids)
    and scaled up, every sub-query of the definition reading only their
    rows: the builder's estimate stays quick whatever the size of the workspace. The
    people shown are then members found in that set. The sample and the workspace's
    count are kept a while (``Engine.samples``)."""
    started = time.perf_counter()
    node = parse_definition(definition)
    repo = SegmentRepository.from_session(session)
    when = now or utcnow()
    held = engine.samples.get(workspace_id)
    total = held[0] if held is not None else repo.live_count(workspace_id)
    if total <= EXACT_UP_TO:
        comp = compiler(session, engine, workspace_id, when)
        size = int(session.scalar(comp.count(node)) or 0)
        people = (
            list(
                session.scalars(
                    select(Profile)
                    .where(comp.live(), comp.condition(node))
                    .order_by(Profile.seen_minute.desc(), Profile.last_seen_at.desc())
                    .limit(sample)
                )
            )
            if sample
            else []
        )
        return Estimate(size, total, people, (time.perf_counter() - started) * 1000)
    if held is not None:
        chosen = held[1]
    else:
        # Of 256 parts of the people (by a hash of their ids), enough for SAMPLE_PEOPLE.
        parts = min(256, -(-256 * SAMPLE_PEOPLE // total))
        chosen = repo.live_sample(workspace_id, parts)
        engine.samples.keep(workspace_id, total, chosen)
    comp = compiler(session, engine, workspace_id, when, scope=chosen)
    matched = list(session.scalars(comp.members(node))) if chosen else []
    size = round(len(matched) * total / len(chosen)) if chosen else 0
    people = repo.last_seen(matched, sample) if sample and matched else []
    return Estimate(
        size,
        total,
        people,
        (time.perf_counter() - started) * 1000,
        False,
        len(chosen) / total,
    )


def segments(session: Session, workspace_id: uuid.UUID, *, archived: bool = False) -> list[Segment]:
    """The workspace's segments by name: the active ones, or with the archived ones too."""
    return SegmentRepository.from_session(session).all(workspace_id, archived=archived)


def members(
    session: Session, segment: Segment, limit: int, after: uuid.UUID | None = None
) -> list[tuple[SegmentMember, Profile]]:
    """A page of members with their profiles, by profile id after ``after``."""
    return SegmentRepository.from_session(session).members_page(segment.id, limit, after)


def people(session: Session, workspace_id: uuid.UUID) -> int:
    """The workspace's live people."""
    return SegmentRepository.from_session(session).live_count(workspace_id)


def why(
    session: Session,
    engine: Engine,
    segment: Segment,
    profile_id: uuid.UUID,
    now: datetime | None = None,
) -> dict[str, Any]:
    node = rules.parse(segment.definition)
    comp = compiler(session, engine, segment.workspace_id, now or utcnow(), scope=[profile_id])
    tree = explain(session, comp, node, profile_id)
    member = profile_id in SegmentRepository.from_session(session).member_ids(
        segment.id, [profile_id]
    )
    return {"profile_id": profile_id, "member": member, "holds": tree["holds"], "tree": tree}


def sizes(
    session: Session, segment: Segment, days: int = 90, now: datetime | None = None
) -> list[tuple[str, int]]:
    """The size at the end of each of the last ``days`` days (carried over days without
    a change), oldest first."""
    today = (now or utcnow()).date()
    first = today - timedelta(days=days - 1)
    repo = SegmentRepository.from_session(session)
    known = dict(repo.sizes(segment.id, first.isoformat()))
    size = repo.size_before(segment.id, first.isoformat()) or 0
    out = []
    for i in range(days):
        day = (first + timedelta(days=i)).isoformat()
        size = known.get(day, size)
        out.append((day, size))
    return out


def history(session: Session, segment: Segment, limit: int = 50) -> list[SegmentChange]:
    return SegmentRepository.from_session(session).changes_of_segment(segment.id, limit)


def of_profile(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> dict[str, Any]:
    repo = SegmentRepository.from_session(session)
    return {
        "current": repo.segments_of(workspace_id, profile_id),
        "history": repo.changes_of_profile(workspace_id, profile_id),
    }


def computed_values(
    session: Session,
    engine: Engine,
    workspace_id: uuid.UUID,
    profile_id: uuid.UUID,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The workspace's computed traits for one person, as of now."""
    traits = ComputedTraitRepository.from_session(session).all(workspace_id)
    if not traits:
        return {}
    comp = compiler(session, engine, workspace_id, now or utcnow(), scope=[profile_id])
    stmt = (
        select(*[comp.computed_value(t).label(t.key) for t in traits])
        .select_from(Profile)
        .where(Profile.id == profile_id)
    )
    row = session.execute(stmt).one_or_none()
    if row is None:
        return {}
    return {t.key: _plain(v) for t, v in zip(traits, row, strict=True)}


def _plain(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# --- the builder's fields ----------------------------------------------------------------


def fields(session: Session, workspace_id: uuid.UUID) -> dict[str, Any]:
    """What the builder offers: the traits people have (from the latest people), the
    events sent (by name, with their properties), identifier types, computed traits and
    the profile's values."""
    traits: Counter[str] = Counter()
    rows = session.scalars(
        select(Profile.traits)
        .where(Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None))
        .order_by(Profile.seen_minute.desc(), Profile.last_seen_at.desc())
        .limit(FIELD_SAMPLE)
    )
    for t in rows:
        traits.update(k for k in (t or {}) if not k.startswith("_"))
    # The names and properties of the latest events (the newest id first, an index
    # scan that stops early whatever the size of the table).
    recent = session.execute(
        select(Event.name, Event.properties)
        .where(Event.workspace_id == workspace_id, Event.type == "track")
        .order_by(Event.id.desc())
        .limit(EVENT_SAMPLE)
    ).all()
    counts: Counter[str] = Counter()
    keys: dict[str, Counter[str]] = {}
    for name, properties in recent:
        if not name:
            continue
        counts[name] += 1
        if counts[name] <= 50:
            keys.setdefault(name, Counter()).update(_keys(properties or {}))
    names = counts.most_common(200)
    props = {n: [k for k, _ in c.most_common(40)] for n, c in keys.items()}
    idents = session.scalars(
        select(Identifier.type).where(Identifier.workspace_id == workspace_id).distinct()
    ).all()
    computed = ComputedTraitRepository.from_session(session).all(workspace_id)
    return {
        "traits": [k for k, _ in traits.most_common(200)],
        "events": [{"name": n, "count": c, "properties": props.get(n, [])} for n, c in names if n],
        "identifiers": sorted(idents),
        "computed": [{"key": c.key, "name": c.name, "aggregate": c.aggregate} for c in computed],
        "values": rules.VALUES,
        "locations": list(rules.LocationCondition.model_fields["field"].annotation.__args__),  # type: ignore[union-attr]
        "service": list(rules.SERVICE_FACTS),
        "operators": list(rules.OPS),
    }


def _keys(data: dict[str, Any], prefix: str = "") -> list[str]:
    out = []
    for k, v in data.items():
        path = f"{prefix}{k}"
        if isinstance(v, dict) and len(path) < 120:
            out.extend(_keys(v, path + "."))
        else:
            out.append(path)
    return out


def suggest(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    kind: str,
    field: str,
    q: str = "",
    event: str | None = None,
) -> list[str]:
    """Values the workspace has for a trait (or a location, or an event's property),
    most frequent first, starting with ``q``."""
    if not re.match(rules.KEY, field):
        raise invalid("Not a trait or property name", field="field")
    if kind == "event" and event:
        path = tuple(field.split("."))
        value = Event.properties[path if len(path) > 1 else path[0]].as_string()
        base = select(value, func.count()).where(
            Event.workspace_id == workspace_id, Event.name == event
        )
    else:
        key = field
        if kind == "location":
            key = LOCATION.get(field, (field,))[0]
        value = Profile.traits[(key, "value")].as_string()
        base = select(value, func.count()).where(
            Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None)
        )
    stmt = base.where(value.is_not(None))
    if q:
        stmt = stmt.where(func.lower(value).startswith(q.lower(), autoescape=True))
    stmt = stmt.group_by(value).order_by(func.count().desc()).limit(SUGGESTIONS)
    return [str(v) for v, _ in session.execute(stmt) if v not in (None, "")]
