"""Segments' rules: saving a definition (checked, no cycles), building it in full,
evaluating the people a change touched, the timers that flip windowed conditions when
their time comes, and membership history. Services flush; the caller commits."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from accord.analyze.segments import rules
from accord.analyze.segments.compile import Compiler, FactCompiler
from accord.analyze.segments.explain import summary
from accord.analyze.segments.models import Segment
from accord.analyze.segments.repository import ComputedTraitRepository, SegmentRepository
from accord.analyze.segments.samples import Samples
from accord.analyze.segments.timers import next_changes
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.kit.dialect import lock_workspace
from accord.kit.errors import conflict, invalid, not_found
from accord.kit.signals import after_commit
from accord.kit.time import utcnow

ALL_TOPICS = "*"
DETAILED = 10  # changes of one evaluation explained condition by condition, at most
SWEEP_BATCH = 2000
LATE_SECONDS = 5
DRAIN_ROWS = 500  # waiting changes evaluated together, at most


@dataclass
class Engine:
    """What evaluating segments needs from the layers above, passed in by the edge: the
    compilers of service facts, and the job scheduler (a sweep of due timers at a time,
    the delivery of membership changes); and the estimates' samples, kept for the life
    of the process."""

    facts: Mapping[str, FactCompiler] = field(default_factory=dict)
    schedule_sweep: Callable[[uuid.UUID, datetime], None] | None = None
    changed: Callable[[uuid.UUID], None] | None = None
    samples: Samples = field(default_factory=Samples)


@dataclass
class Outcome:
    entered: int = 0
    exited: int = 0
    segments: int = 0

    def add(self, other: Outcome) -> None:
        self.entered += other.entered
        self.exited += other.exited
        self.segments += other.segments


def computed_of(session: Session, workspace_id: uuid.UUID) -> dict[str, Any]:
    return {t.key: t for t in ComputedTraitRepository.from_session(session).all(workspace_id)}


def compiler(
    session: Session,
    engine: Engine,
    workspace_id: uuid.UUID,
    now: datetime,
    scope: Collection[uuid.UUID] | None = None,
    computed: dict[str, Any] | None = None,
) -> Compiler:
    if computed is None:
        computed = computed_of(session, workspace_id)
    return Compiler(
        session,
        workspace_id,
        now,
        scope=list(scope) if scope is not None else None,
        computed=computed,
        facts=engine.facts,
    )


# --- definitions -----------------------------------------------------------------------


def parse_definition(data: Any) -> Any:
    try:
        return rules.parse(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "root")
        raise invalid(
            f"The definition is not valid: {first.get('msg')}"
            + (f" (at {where})" if where else ""),
            field="definition",
            code="invalid_definition",
        ) from error


def _check_references(
    session: Session, workspace_id: uuid.UUID, segment_id: uuid.UUID | None, node: Any
) -> None:
    """Every segment referred to exists in the workspace, and none refers back to this
    one, directly or through others."""
    repo = SegmentRepository.from_session(session)
    seen: set[uuid.UUID] = set()
    todo = list(rules.referenced_segments(node))
    while todo:
        ref = todo.pop()
        if ref == segment_id:
            raise invalid(
                "A segment cannot include itself, directly or through another segment",
                field="definition",
                code="segment_cycle",
            )
        if ref in seen:
            continue
        seen.add(ref)
        row = repo.get(workspace_id, ref)
        if row is None:
            raise invalid(
                f"No segment {ref} in this workspace", field="definition", code="unknown_segment"
            )
        todo.extend(rules.referenced_segments(rules.parse(row.definition)))


def _topics(session: Session, workspace_id: uuid.UUID, node: Any) -> list[str]:
    computed = {
        t.key: t.event for t in ComputedTraitRepository.from_session(session).all(workspace_id)
    }
    return sorted(rules.topics(node, computed))


def save(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    name: str,
    definition: Any,
    description: str | None,
    actor: Principal,
    segment: Segment | None = None,
) -> Segment:
    """Create a segment, or change one (its definition's version goes up). The caller
    builds it (``build``), usually in a job after the commit."""
    node = parse_definition(definition)
    repo = SegmentRepository.from_session(session)
    name = name.strip()
    if not name:
        raise invalid("A segment needs a name", field="name")
    other = repo.by_name(workspace_id, name)
    if other is not None and (segment is None or other.id != segment.id):
        raise conflict(f"A segment named {name!r} exists", field="name", code="segment_exists")
    _check_references(session, workspace_id, segment.id if segment else None, node)
    stored = node.model_dump(mode="json")
    if segment is None:
        segment = repo.add(
            Segment(
                workspace_id=workspace_id,
                name=name,
                description=description,
                definition=stored,
                topics=_topics(session, workspace_id, node),
                calendar=rules.calendar(node),
                status="active",
                size=0,
                version=1,
                created_by=actor.label,
            )
        )
        audit.record(session, actor, "segment.create", target=str(segment.id), data={"name": name})
        return segment
    segment.name = name
    segment.description = description
    if stored != segment.definition:
        segment.definition = stored
        segment.topics = _topics(session, workspace_id, node)
        segment.calendar = rules.calendar(node)
        segment.version += 1
    session.flush()
    audit.record(session, actor, "segment.update", target=str(segment.id), data={"name": name})
    return segment


def duplicate(session: Session, source: Segment, actor: Principal) -> Segment:
    """A copy under the first free name "<name> (copy)", "<name> (copy 2)"..."""
    repo = SegmentRepository.from_session(session)
    name, n = f"{source.name} (copy)", 2
    while repo.by_name(source.workspace_id, name[:120]) is not None:
        name, n = f"{source.name} (copy {n})", n + 1
    return save(
        session,
        source.workspace_id,
        name=name[:120],
        definition=source.definition,
        description=source.description,
        actor=actor,
    )


def get(session: Session, workspace_id: uuid.UUID, segment_id: uuid.UUID) -> Segment:
    row = SegmentRepository.from_session(session).get(workspace_id, segment_id)
    if row is None:
        raise not_found("Segment", field="segment_id")
    return row


def set_status(
    session: Session, segment: Segment, status: str, actor: Principal, now: datetime | None = None
) -> None:
    """Archive (members leave, timers stop) or restore (built again by the caller)."""
    if status not in ("active", "archived"):
        raise invalid("status is active or archived", field="status")
    if status == segment.status:
        return
    repo = SegmentRepository.from_session(session)
    if status == "archived":
        users = [
            s.name
            for s in repo.all(segment.workspace_id)
            if s.id != segment.id
            and segment.id in rules.referenced_segments(rules.parse(s.definition))
        ]
        if users:
            raise conflict(
                f"Segments use this one: {', '.join(users)}", field="status", code="segment_in_use"
            )
        now = now or utcnow()
        gone = repo.member_ids(segment.id)
        _record(session, segment, set(), gone, now, "archived", {})
        repo.remove_members(segment.id, gone)
        repo.replace_timers(segment, None, {})
        segment.size = 0
        repo.record_size(segment, now.date().isoformat())
    segment.status = status
    session.flush()
    audit.record(session, actor, f"segment.{status}", target=str(segment.id))


# --- evaluation ------------------------------------------------------------------------


def build(
    session: Session,
    engine: Engine,
    segment: Segment,
    *,
    now: datetime | None = None,
    cause: str = "build",
) -> Outcome:
    """Evaluate a segment for everyone, set-based; then the segments built on it for the
    people whose membership changed."""
    now = now or utcnow()
    if segment.status != "active":
        return Outcome()
    lock_workspace(session, segment.workspace_id, "segments")
    node = rules.parse(segment.definition)
    comp = compiler(session, engine, segment.workspace_id, now)
    repo = SegmentRepository.from_session(session)
    entered, exited = repo.membership_diff(segment.id, comp.members(node))
    _apply(session, engine, segment, entered, exited, now, cause, comp, node)
    due = next_changes(comp, node)
    repo.replace_timers(segment, None, due)
    _schedule(session, engine, segment.workspace_id, due.values(), now)
    segment.built_at = now
    session.flush()
    out = Outcome(len(entered), len(exited), 1)
    changed = entered | exited
    if changed:
        out.add(
            evaluate(
                session,
                engine,
                segment.workspace_id,
                changed,
                {f"segment:{segment.id}"},
                now=now,
                cause=f"segment {segment.name}",
            )
        )
    return out


def evaluate(
    session: Session,
    engine: Engine,
    workspace_id: uuid.UUID,
    profile_ids: Collection[uuid.UUID],
    topics: Iterable[str] = (ALL_TOPICS,),
    *,
    now: datetime | None = None,
    cause: str = "change",
    only: Collection[uuid.UUID] | None = None,
) -> Outcome:
    """Evaluate again, for ``profile_ids``, the segments whose conditions touch one of
    ``topics`` (every segment for ``*``; only those of ``only`` when given). People no
    longer live (merged into another, erased) leave every segment."""
    now = now or utcnow()
    lock_workspace(session, workspace_id, "segments")
    repo = SegmentRepository.from_session(session)
    live, dead = repo.liveness(workspace_id, profile_ids)
    out = Outcome()
    if dead:
        out.add(_leave_all(session, engine, workspace_id, dead, now, cause))
    if not live:
        return out
    touched = set(topics)
    segments = _ordered(repo.all(workspace_id))
    computed = computed_of(session, workspace_id)
    due_all: list[datetime] = []
    for segment in segments:
        if only is not None and segment.id not in only:
            continue
        if ALL_TOPICS not in touched and not touched.intersection(segment.topics):
            continue
        node = rules.parse(segment.definition)
        comp = compiler(session, engine, workspace_id, now, scope=live, computed=computed)
        matched: set[uuid.UUID] = set(session.scalars(comp.members(node)))
        current = repo.member_ids(segment.id, live)
        entered, exited = matched - current, current - matched
        _apply(session, engine, segment, entered, exited, now, cause, comp, node)
        due = (
            next_changes(comp, node)
            if any(rules.moves_with_time(x) for x in rules.leaves(node))
            else {}
        )
        repo.replace_timers(segment, live, due)
        due_all.extend(due.values())
        out.add(Outcome(len(entered), len(exited), 1))
        if entered or exited:
            touched.add(f"segment:{segment.id}")
    _schedule(session, engine, workspace_id, due_all, now)
    return out


def sweep(
    session: Session, engine: Engine, workspace_id: uuid.UUID, now: datetime | None = None
) -> Outcome:
    """Evaluate the people whose timers are due, each for the segment of the timer, as
    of the timer's own time (the moment the window closed)."""
    now = now or utcnow()
    lock_workspace(session, workspace_id, "segments")
    repo = SegmentRepository.from_session(session)
    out = Outcome()
    while True:
        due = repo.due(workspace_id, now, SWEEP_BATCH)
        if not due:
            break
        # Grouped by moment and segment: each group evaluated as of its moment.
        groups: dict[tuple[datetime, uuid.UUID], set[uuid.UUID]] = {}
        for segment_id, profile_id, at in due:
            groups.setdefault((at, segment_id), set()).add(profile_id)
        repo.drop_timers([(s, p) for s, p, _ in due])
        late: dict[uuid.UUID, set[uuid.UUID]] = {}
        for (at, segment_id), people in sorted(groups.items(), key=lambda g: g[0][0]):
            # As of the timer's own moment, so the change is recorded when it happened.
            out.add(
                evaluate(
                    session,
                    engine,
                    workspace_id,
                    people,
                    (ALL_TOPICS,),
                    now=at,
                    cause="time: a window closed",
                    only={segment_id},
                )
            )
            if (now - at).total_seconds() > LATE_SECONDS:
                late.setdefault(segment_id, set()).update(people)
        # A sweep that ran late (the engine was down) ends on the state as of now.
        for segment_id, people in late.items():
            out.add(
                evaluate(
                    session,
                    engine,
                    workspace_id,
                    people,
                    (ALL_TOPICS,),
                    now=now,
                    cause="time: a window closed",
                    only={segment_id},
                )
            )
        if len(due) < SWEEP_BATCH:
            break
    following = repo.next_due(workspace_id)
    if following is not None:
        _schedule(session, engine, workspace_id, [following], now)
    return out


def note_dirty(
    session: Session,
    workspace_id: uuid.UUID,
    profile_ids: Collection[uuid.UUID],
    topics: Collection[str],
) -> None:
    """Keep, in the transaction of a change, the people it touched for the next
    evaluation of the workspace (``drain``)."""
    SegmentRepository.from_session(session).add_dirty(workspace_id, profile_ids, topics, utcnow())


def depending_on(session: Session, workspace_id: uuid.UUID, topic: str) -> list[uuid.UUID]:
    """The active segments whose conditions depend on ``topic`` (to build again when it
    changes for everyone at once, as a recompute of the scores does)."""
    return [
        s.id for s in SegmentRepository.from_session(session).all(workspace_id) if topic in s.topics
    ]


def topics_in_use(session: Session, workspace_id: uuid.UUID) -> frozenset[str]:
    return frozenset(SegmentRepository.from_session(session).topics_in_use(workspace_id))


def asks_for(in_use: Collection[str], topics: Collection[str]) -> bool:
    """Whether a change of ``topics`` may move someone in a segment that depends on
    ``in_use`` (``*`` on either side: every change, for any segment)."""
    if not in_use:
        return False
    return ALL_TOPICS in topics or ALL_TOPICS in in_use or not set(in_use).isdisjoint(topics)


def drain(
    session: Session, engine: Engine, workspace_id: uuid.UUID, *, limit: int = DRAIN_ROWS
) -> tuple[int, Outcome]:
    """Evaluate at once every change waiting for the workspace (up to ``limit`` of them):
    under load, many changes become one evaluation. Returns how many were taken."""
    lock_workspace(session, workspace_id, "segments")
    rows = SegmentRepository.from_session(session).take_dirty(workspace_id, limit)
    if not rows:
        return 0, Outcome()
    people = {uuid.UUID(p) for r in rows for p in r.profile_ids}
    topics = {t for r in rows for t in r.topics}
    if ALL_TOPICS not in topics and not asks_for(topics_in_use(session, workspace_id), topics):
        return len(rows), Outcome()  # nothing any segment depends on
    return len(rows), evaluate(
        session, engine, workspace_id, people, topics, cause=cause_of(topics)
    )


def cause_of(topics: Collection[str]) -> str:
    events = sorted(t.removeprefix("event:") for t in topics if t.startswith("event:"))
    if ALL_TOPICS in topics:
        return "identity: a merge, split or new identifier"
    if events:
        return "event: " + ", ".join(events[:3])
    return "change: " + ", ".join(sorted(topics)[:3])


def rebuild_calendar(session: Session, engine: Engine, now: datetime | None = None) -> Outcome:
    """The segments with a calendar condition, built again (a day begins somewhere)."""
    out = Outcome()
    for segment in SegmentRepository.from_session(session).calendar():
        out.add(build(session, engine, segment, now=now, cause="time: a new day"))
    return out


def _ordered(segments: list[Segment]) -> list[Segment]:
    """Segments after the segments they use."""
    by_id = {s.id: s for s in segments}
    done: set[uuid.UUID] = set()
    out: list[Segment] = []

    def visit(s: Segment, path: set[uuid.UUID]) -> None:
        if s.id in done or s.id in path:
            return
        for ref in rules.referenced_segments(rules.parse(s.definition)):
            if ref in by_id:
                visit(by_id[ref], path | {s.id})
        done.add(s.id)
        out.append(s)

    for s in segments:
        visit(s, set())
    return out


def _apply(
    session: Session,
    engine: Engine,
    segment: Segment,
    entered: set[uuid.UUID],
    exited: set[uuid.UUID],
    now: datetime,
    cause: str,
    comp: Compiler | None,
    node: Any,
) -> None:
    """Record the people entering and leaving the segment."""
    if not entered and not exited:
        return
    repo = SegmentRepository.from_session(session)
    details: dict[uuid.UUID, str] = {}
    if comp is not None and len(entered) + len(exited) <= DETAILED:
        for pid in entered | exited:
            details[pid] = summary(session, comp, node, pid)
    repo.remove_members(segment.id, exited)
    repo.add_members(segment, entered, now)
    _record(session, segment, entered, exited, now, cause, details)
    segment.size = max(0, segment.size + len(entered) - len(exited))
    repo.record_size(segment, now.date().isoformat())
    if engine.changed is not None:
        changed = engine.changed
        workspace_id = segment.workspace_id
        after_commit(session, lambda: changed(workspace_id))


def _record(
    session: Session,
    segment: Segment,
    entered: set[uuid.UUID],
    exited: set[uuid.UUID],
    now: datetime,
    cause: str,
    details: Mapping[uuid.UUID, str],
) -> None:
    rows = [
        {
            "workspace_id": segment.workspace_id,
            "segment_id": segment.id,
            "profile_id": pid,
            "kind": kind,
            "at": now,
            "cause": cause[:200],
            "detail": details.get(pid),
        }
        for kind, ids in (("entered", entered), ("exited", exited))
        for pid in sorted(ids)
    ]
    SegmentRepository.from_session(session).add_changes(rows)


def _leave_all(
    session: Session,
    engine: Engine,
    workspace_id: uuid.UUID,
    dead: set[uuid.UUID],
    now: datetime,
    cause: str,
) -> Outcome:
    """People merged into another (or gone) leave every segment they were in."""
    repo = SegmentRepository.from_session(session)
    memberships = repo.memberships_of(dead)
    by_segment: dict[uuid.UUID, set[uuid.UUID]] = {}
    for m in memberships:
        by_segment.setdefault(m.segment_id, set()).add(m.profile_id)
    out = Outcome()
    for segment_id, people in by_segment.items():
        segment = repo.get(workspace_id, segment_id)
        if segment is None:
            continue
        repo.remove_members(segment_id, people)
        _record(session, segment, set(), people, now, f"{cause}: merged into another person", {})
        segment.size = max(0, segment.size - len(people))
        repo.record_size(segment, now.date().isoformat())
        out.add(Outcome(0, len(people), 1))
    if by_segment and engine.changed is not None:
        changed = engine.changed
        after_commit(session, lambda: changed(workspace_id))
    repo.drop_timers_of(dead)
    return out


def _schedule(
    session: Session,
    engine: Engine,
    workspace_id: uuid.UUID,
    due: Iterable[datetime],
    now: datetime,
) -> None:
    """Ask the job engine for a sweep at the earliest new timer, unless one is already
    waiting for that time or earlier."""
    earliest = min(due, default=None)
    if earliest is None or engine.schedule_sweep is None:
        return
    if SegmentRepository.from_session(session).claim_sweep(workspace_id, earliest, now):
        schedule = engine.schedule_sweep
        after_commit(session, lambda: schedule(workspace_id, earliest))
