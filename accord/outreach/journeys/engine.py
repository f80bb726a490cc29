"""The journey engine. People enter (``enter``); each waiting person's next steps are
taken when their time comes (``advance``), a batch of due people per transaction: the
steps they go through, the messages they are sent (queued on the send queue, which asks
consent, caps and holds before it sends), their waits and their exits are all written
in that one transaction, so a step runs exactly once per person and a crash leaves the
batch to be taken again whole. Signals (events some journey listens for) enter people,
wake those waiting for an event and end the journeys whose goal was reached."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.collect import service as collect
from accord.govern.workspaces.models import Workspace
from accord.kit.db import transaction
from accord.kit.dialect import one_of
from accord.kit.ids import new_id, new_ids
from accord.kit.time import utcnow
from accord.outreach.journeys import actions, together
from accord.outreach.journeys.branches import Answers
from accord.outreach.journeys.definition import MESSAGES, Definition, Step, parse
from accord.outreach.journeys.models import Journey, JourneyEntry, JourneySignal
from accord.outreach.journeys.repository import UNFINISHED, JourneyRepository, append
from accord.outreach.models import Send
from accord.outreach.rules import zone_of
from accord.profile.models import Profile

BATCH = 2_000
SEGMENT_BATCH = 10_000
MAX_STEPS_AT_ONCE = 50
_DEFINITIONS: dict[tuple[uuid.UUID, int], Definition] = {}


@dataclass(frozen=True)
class Wiring:
    """What the engine starts once its transaction has committed: a wake-up of a
    workspace's journeys at a time, and the delivery of a journey's queued messages."""

    wake: Callable[[uuid.UUID, datetime], None] = lambda workspace_id, at: None
    deliver: Callable[[uuid.UUID], None] = lambda journey_id: None
    notify: Callable[[uuid.UUID], None] = lambda delivery_id: None  # a destination's event


def definition_of(session: Session, journey_id: uuid.UUID, version: int) -> Definition:
    """A published version's definition (kept: a version never changes)."""
    key = (journey_id, version)
    found = _DEFINITIONS.get(key)
    if found is None:
        row = JourneyRepository.from_session(session).version(journey_id, version)
        if row is None:
            raise LookupError(key)
        if len(_DEFINITIONS) > 10_000:
            _DEFINITIONS.clear()
        found = _DEFINITIONS[key] = parse(row.definition)
    return found


def in_holdout(journey_id: uuid.UUID, profile_id: uuid.UUID, percent: int) -> bool:
    """A draw by a hash of the journey and the person: random with respect to anything
    about them, and the same every time they enter."""
    if percent <= 0:
        return False
    digest = hashlib.blake2b(journey_id.bytes + profile_id.bytes, digest_size=8).digest()
    return int.from_bytes(digest, "big") % 10_000 < percent * 100


def enter(
    session: Session,
    journey: Journey,
    profile_id: uuid.UUID,
    now: datetime,
    context: dict[str, Any] | None = None,
    before: list[JourneyEntry] | None = None,
) -> JourneyEntry | None:
    """Put a person into the journey's latest version, if its re-entry rule lets them;
    they take the first step at once (``wake_at`` now). None when they may not enter.
    ``before``: their entries of this journey, when the caller has read them already."""
    if journey.status != "active" or journey.version < 1:
        return None
    definition = definition_of(session, journey.id, journey.version)
    if before is None:
        before = JourneyRepository.from_session(session).entries_of(journey.id, profile_id)
    if before and definition.reentry == "never":
        return None
    if any(e.status in (*UNFINISHED, "holdout") for e in before) and definition.reentry != "always":
        return None
    holdout = in_holdout(journey.id, profile_id, definition.holdout_percent)
    entry = JourneyEntry(
        id=new_id(),
        workspace_id=journey.workspace_id,
        journey_id=journey.id,
        version=journey.version,
        profile_id=profile_id,
        status="holdout" if holdout else "waiting",
        step=None if holdout else definition.steps[0].id,
        wake_at=None if holdout else now,
        holdout=holdout,
        entered_at=now,
        context=context or {},
    )
    session.add(entry)
    session.flush()
    return entry


# --- taking steps ---------------------------------------------------------------------


def _wake_after(step: Step, traits: dict[str, Any], timezone: str, now: datetime) -> datetime:
    at = now + timedelta(seconds=step.seconds or 0)
    if step.at_hour is not None:
        zone = zone_of(traits, timezone)
        local = at.astimezone(zone)
        target = local.replace(hour=step.at_hour, minute=0, second=0, microsecond=0)
        if target < local:
            target += timedelta(days=1)
        at = target.astimezone(now.tzinfo)
    return at


class Ids:
    """Ids for a batch's rows, made many at a time (``kit.ids.new_ids``)."""

    def __init__(self) -> None:
        self._left: list[uuid.UUID] = []

    def __call__(self) -> uuid.UUID:
        if not self._left:
            self._left = new_ids(4096)
            self._left.reverse()
        return self._left.pop()


@dataclass(slots=True)
class Due:
    """A claimed entry read whole, as a plain row (``JourneyRepository.due_rows``)."""

    id: uuid.UUID
    workspace_id: uuid.UUID
    journey_id: uuid.UUID
    version: int
    profile_id: uuid.UUID
    step: str | None
    waiting_for: str | None
    context: dict[str, Any]
    entered_at: datetime


Entry = JourneyEntry | Due


@dataclass
class Batch:
    """What one transaction of steps writes."""

    now: datetime
    ids: Ids = field(default_factory=Ids)
    entries: list[dict[str, Any]] = field(default_factory=list)
    logs: list[dict[str, Any]] = field(default_factory=list)
    sends: list[dict[str, Any]] = field(default_factory=list)
    identifies: list[dict[str, Any]] = field(default_factory=list)
    journeys_sending: set[uuid.UUID] = field(default_factory=set)
    deliveries: list[uuid.UUID] = field(default_factory=list)

    def log(self, entry: Entry, step: Step, outcome: str, detail: str | None = None) -> None:
        self.logs.append(
            {
                "entry_id": entry.id,
                "workspace_id": entry.workspace_id,
                "journey_id": entry.journey_id,
                "step": step.id,
                "at": self.now,
                "outcome": outcome,
                "detail": detail[:500] if detail else None,
            }
        )


@dataclass(slots=True)
class Person:
    """What steps read of a person, read as plain rows for a whole batch."""

    id: uuid.UUID
    merged_into_id: uuid.UUID | None
    traits: dict[str, Any]
    email: str | None
    phone: str | None


class Stepper:
    """Takes due people through their steps until each waits or finishes."""

    def __init__(self, session: Session, workspace: Workspace, now: datetime) -> None:
        self.session = session
        self.workspace = workspace
        self.repo = JourneyRepository.from_session(session)
        self.batch = Batch(now)
        self.answers: Answers | None = None

    def run(self, entries: Sequence[Entry]) -> Batch:
        if not entries:
            return self.batch
        self.answers = Answers(self.repo, self.workspace.id, entries)
        ids = [e.profile_id for e in entries]
        people = {
            row[0]: Person(*row)
            for row in self.session.execute(
                select(
                    Profile.id, Profile.merged_into_id, Profile.traits, Profile.email, Profile.phone
                ).where(one_of(self.session, Profile.id, ids))
            )
        }
        for entry in entries:
            self.take(entry, people.get(entry.profile_id))
        return self.batch

    def _finish(self, entry: Entry, status: str, reason: str | None = None) -> None:
        self.batch.entries.append(
            {
                "id": entry.id,
                "status": status,
                "step": None,
                "wake_at": None,
                "waiting_for": None,
                "finished_at": self.batch.now,
                "reason": reason,
            }
        )

    def _wait(
        self, entry: Entry, next_step: str | None, at: datetime, waiting_for: str | None
    ) -> None:
        self.batch.entries.append(
            {
                "id": entry.id,
                "status": "waiting",
                "step": next_step,
                "wake_at": at,
                "waiting_for": waiting_for,
                "finished_at": None,
                "reason": None,
            }
        )

    def take(self, entry: Entry, person: Person | None) -> None:
        now = self.batch.now
        if person is None or person.merged_into_id is not None:
            self._finish(entry, "exited", "the person was merged into another or erased")
            return
        definition = definition_of(self.session, entry.journey_id, entry.version)
        step_id = entry.step
        if entry.waiting_for and entry.context.get("event_arrived"):
            step_id = entry.context.get("on_event") or step_id
            context = {
                k: v for k, v in entry.context.items() if k not in ("event_arrived", "on_event")
            }
            self.batch.entries.append({"id": entry.id, "context": context})
        for _ in range(MAX_STEPS_AT_ONCE):
            if step_id is None:
                self._finish(entry, "done")
                return
            step = definition.step(step_id)
            if step.kind == "exit":
                self.batch.log(entry, step, "exited")
                self._finish(entry, "done", step.name or "an exit step")
                return
            if step.kind == "wait":
                at = _wake_after(step, person.traits, self.workspace.timezone, now)
                self.batch.log(entry, step, "waiting", f"until {at.isoformat()}")
                self._wait(entry, definition.following(step.id), at, None)
                return
            if step.kind == "wait_event":
                at = now + timedelta(seconds=step.timeout_seconds or 0)
                self.batch.log(entry, step, "waiting", f"for {step.event} until {at.isoformat()}")
                entry.context = {
                    **entry.context,
                    "on_event": step.on_event or definition.following(step.id),
                }
                self.batch.entries.append({"id": entry.id, "context": entry.context})
                self._wait(entry, definition.following(step.id), at, step.event)
                return
            if step.kind == "branch":
                yes = self.holds(entry, person, step)
                self.batch.log(entry, step, "yes" if yes else "no")
                step_id = step.yes if yes else definition.following(step.id)
                continue
            if step.kind in MESSAGES:
                self.queue_message(entry, person, step)
            elif step.kind == "set_trait":
                self.set_traits(entry, person, step)
            elif step.kind in ("task", "audience", "webhook"):
                self.act(entry, person, step)
            step_id = definition.following(step.id)
        self._finish(entry, "exited", "more steps at once than a journey may take")

    def holds(self, entry: Entry, person: Person, step: Step) -> bool:
        assert step.condition is not None
        assert self.answers is not None
        return self.answers.holds(step.condition, entry, person.id, person.traits)

    def queue_message(self, entry: Entry, person: Person, step: Step) -> None:
        """An email or a text to the person, queued (sent by ``journeys.deliver``)."""
        channel = MESSAGES[step.kind]
        address = person.email if channel == "email" else person.phone
        self.batch.sends.append(
            {
                "id": self.batch.ids(),
                "workspace_id": entry.workspace_id,
                "source_key": f"journey:{entry.id}:{step.id}",
                "campaign_id": None,
                "journey_id": entry.journey_id,
                "version": entry.version,
                "step": step.id,
                "profile_id": person.id,
                "channel": channel,
                "purpose": step.purpose,
                "promotional": step.purpose != "service",
                "address": address,
                "status": "queued",
                "code": None,
                "reason": None,
                "attempts": 0,
                "queued_at": self.batch.now,
                "opens": 0,
                "clicks": 0,
                "meta": {},
            }
        )
        self.batch.journeys_sending.add(entry.journey_id)
        self.batch.log(entry, step, "queued", address)

    def act(self, entry: Entry, person: Person, step: Step) -> None:
        """A task, an audience change or a webhook (``actions.py``)."""
        profile = self.session.get(Profile, person.id)
        assert profile is not None
        now = self.batch.now
        if step.kind == "task":
            number = actions.open_task(
                self.session, self.workspace, entry.journey_id, profile, step, now
            )
            self.batch.log(entry, step, "opened", number)
            return
        outcome, detail, delivery_id = actions.to_destination(
            self.session, self.workspace, entry.journey_id, profile, step, now
        )
        self.batch.log(entry, step, outcome, detail)
        if delivery_id is not None:
            self.batch.deliveries.append(delivery_id)

    def set_traits(self, entry: Entry, person: Person, step: Step) -> None:
        address = person.email or person.phone
        if not address:
            self.batch.log(
                entry, step, "skipped", "the person has no email or phone to name them by"
            )
            return
        key = "email" if person.email else "phone"
        self.batch.identifies.append(
            {
                "type": "identify",
                "traits": {**(step.traits or {}), key: address},
                "messageId": f"journey-{entry.id}-{step.id}",
                "timestamp": self.batch.now.isoformat(),
                "context": {"channel": "journey"},
            }
        )
        self.batch.log(entry, step, "set", ", ".join(sorted(step.traits or {})))


def write(session: Session, workspace: Workspace, batch: Batch) -> None:
    repo = JourneyRepository.from_session(session)
    repo.update_entries(batch.entries)
    repo.log(batch.logs)
    if batch.sends:
        # New rows of entries taken once each in this transaction: appended as they are.
        append(session, Send.__table__, batch.sends)
    if batch.identifies:
        collect.accept(
            session,
            workspace_id=workspace.id,
            source="accord-journeys",
            region=workspace.default_region,
            messages=batch.identifies,
            received_at=batch.now,
            field_prefix="",
            require_sender=False,
        )


@dataclass(slots=True)
class Claimed:
    """A claimed entry as the claim reads it (``JourneyRepository.claim_due``)."""

    id: uuid.UUID
    journey_id: uuid.UUID
    version: int
    step: str | None
    plain: bool  # waits for no event, and none arrived
    live: bool


def _together(
    session: Session, claimed: list[Claimed], now: datetime
) -> tuple[set[uuid.UUID], list[Claimed]]:
    """On PostgreSQL, take in the database the steps of the groups whose people all take
    the same ones (``together.py``); returns the journeys that queued emails, and the
    entries left to take one by one."""
    if session.get_bind().dialect.name != "postgresql" or not claimed:
        return set(), claimed
    groups: dict[tuple[uuid.UUID, int, str | None], list[Claimed]] = {}
    rest: list[Claimed] = []
    for entry in claimed:
        if entry.plain:
            groups.setdefault((entry.journey_id, entry.version, entry.step), []).append(entry)
        else:
            rest.append(entry)
    sending: set[uuid.UUID] = set()
    for (journey_id, version, step_id), group in groups.items():
        path = together.path_of(definition_of(session, journey_id, version), step_id)
        ids = [e.id for e in group if e.live]
        if path is None or not ids:
            rest.extend(group)
            continue
        rest.extend(e for e in group if not e.live)
        if together.take(session, ids, path, now):
            sending.add(journey_id)
    return sending, rest


def advance(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    wiring: Wiring,
    *,
    batch: int = BATCH,
    clock: Callable[[], datetime] = utcnow,
    on_full: Callable[[], None] | None = None,
) -> int:
    """Take the steps of everyone due in the workspace, a batch per transaction; returns
    how many people moved. ``on_full`` is called once if the first batch was full (more
    are due: another worker may help, each locking batches of its own). Then deliveries
    start for the messages queued, and the next wake-up is set."""
    moved = 0
    sending: set[uuid.UUID] = set()
    deliveries: list[uuid.UUID] = []
    while True:
        now = clock()
        with transaction(factory) as session:
            workspace = session.get(Workspace, workspace_id)
            if workspace is None:
                return moved
            repo = JourneyRepository.from_session(session)
            active = [j.id for j in repo.active(workspace_id)]
            claimed = [Claimed(*row) for row in repo.claim_due(workspace_id, active, now, batch)]
            if not claimed:
                next_wake = repo.next_wake(workspace_id)
                break
            alike, rest = _together(session, claimed, now)
            one_by_one = [Due(*row) for row in repo.due_rows([e.id for e in rest])]
            done = Stepper(session, workspace, now).run(one_by_one)
            write(session, workspace, done)
            done.journeys_sending |= alike
        if moved == 0 and len(claimed) == batch and on_full is not None:
            on_full()
        moved += len(claimed)
        sending |= done.journeys_sending
        deliveries += done.deliveries
    for journey_id in sending:
        wiring.deliver(journey_id)
    for delivery_id in deliveries:
        wiring.notify(delivery_id)
    if next_wake is not None:
        wiring.wake(workspace_id, next_wake)
    return moved


# --- signals --------------------------------------------------------------------------


def hear(session: Session, workspace_id: uuid.UUID, signals: list[JourneySignal]) -> int:
    """Act on events some journey listens for: enter people into journeys they trigger,
    wake those waiting for them, end journeys whose goal they are. Returns how many
    people entered or moved."""
    if not signals:
        return 0
    repo = JourneyRepository.from_session(session)
    journeys = repo.active(workspace_id)
    defs = {j.id: definition_of(session, j.id, j.version) for j in journeys if j.version > 0}
    moved = 0
    people = {s.profile_id for s in signals}
    open_entries: dict[uuid.UUID, list[JourneyEntry]] = {}
    for found in repo.waiting_for(workspace_id, people):
        open_entries.setdefault(found.profile_id, []).append(found)
    for signal in sorted(signals, key=lambda s: s.at):
        for entry in open_entries.get(signal.profile_id, []):
            if entry.status not in ("waiting", "holdout"):
                continue
            if signal.at < entry.entered_at:
                continue
            definition = definition_of(session, entry.journey_id, entry.version)
            if definition.goal is not None and definition.goal.event == signal.name:
                entry.status = "goal"
                entry.finished_at = signal.at
                entry.reason = f"reached the goal: {signal.name}"
                entry.wake_at = None
                entry.waiting_for = None
                moved += 1
            elif entry.status == "waiting" and entry.waiting_for == signal.name:
                entry.context = {**entry.context, "event_arrived": signal.name}
                entry.wake_at = signal.at if signal.at > entry.entered_at else entry.entered_at
                moved += 1
        for journey in journeys:
            triggered = defs.get(journey.id)
            if triggered is None or triggered.trigger.kind != "event":
                continue
            if triggered.trigger.event != signal.name:
                continue
            if any(signal.properties.get(k) != v for k, v in triggered.trigger.where.items()):
                continue
            context = {"event": signal.name, "properties": signal.properties}
            entered = enter(session, journey, signal.profile_id, signal.at, context)
            if entered is not None:
                open_entries.setdefault(signal.profile_id, []).append(entered)
                moved += 1
    session.flush()
    return moved


def enter_from_segments(session: Session, workspace_id: uuid.UUID, now: datetime) -> int:
    """People who entered the segment an active journey is triggered by, since the last
    look (each journey keeps where it stopped reading the segment's changes)."""
    repo = JourneyRepository.from_session(session)
    entered = 0
    for journey in repo.active(workspace_id):
        definition = definition_of(session, journey.id, journey.version)
        segment_id = definition.trigger.segment_id
        if definition.trigger.kind != "segment" or segment_id is None:
            continue
        changes = repo.segment_entries(segment_id, journey.cursor_id, SEGMENT_BATCH)
        for change_id, profile_id, at in changes:
            context = {"segment": str(segment_id)}
            if enter(session, journey, profile_id, max(at, now), context) is not None:
                entered += 1
            journey.cursor_id = change_id
    session.flush()
    return entered


def listened(session: Session, workspace_id: uuid.UUID) -> frozenset[str]:
    """The event names the workspace's active journeys act on."""
    names: set[str] = set()
    for journey in JourneyRepository.from_session(session).active(workspace_id):
        if journey.version > 0:
            names |= definition_of(session, journey.id, journey.version).listens_for()
    return frozenset(names)
