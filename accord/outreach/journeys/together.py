"""Steps taken together, in the database: when everyone of a group (one step of one
version) takes the same steps (plain waits and messages, up to the next wait or the end),
the batch's queued messages, its step log and its new waits are written by one
statement over their ids (``INSERT ... SELECT`` in ``WITH``, then the ``UPDATE``),
whatever their number, instead of rows built one person at a time. PostgreSQL only
(ids made by the database); a step that depends on the person (a branch, a wait to an
hour of their day, a trait change, a wait for an event) goes the way of
``engine.Stepper``."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, Table, cast, func, insert, literal, select, update
from sqlalchemy.orm import Session

from accord.kit.dialect import one_of
from accord.outreach.journeys.definition import MESSAGES, Definition, Step
from accord.outreach.journeys.models import JourneyEntry, JourneyStepLog
from accord.outreach.models import Send
from accord.profile.models import Profile

MAX_PATH = 50


@dataclass(frozen=True)
class Path:
    steps: list[Step]
    then: str | None  # the step after the final wait
    waits_until: timedelta | None  # None: the path ends the journey


def path_of(definition: Definition, step_id: str | None) -> Path | None:
    """The steps everyone at ``step_id`` takes alike, or None when they depend on the
    person."""
    steps: list[Step] = []
    at = step_id
    while at is not None and len(steps) < MAX_PATH:
        step = definition.step(at)
        if step.kind not in ("wait", "exit", *MESSAGES):
            return None
        if step.kind == "wait" and step.at_hour is not None:
            return None
        steps.append(step)
        if step.kind == "wait":
            return Path(steps, definition.following(at), timedelta(seconds=step.seconds or 0))
        if step.kind == "exit":
            return Path(steps, None, None)
        at = definition.following(at)
    return Path(steps, None, None) if at is None else None


def take(session: Session, ids: Sequence[uuid.UUID], path: Path, now: datetime) -> bool:
    """The path for these entries (all live people at one step of one version), in one
    statement: the entries are read once (``due``), each person's address by their
    primary key (a hash join would scan every profile of the workspace for each batch),
    the messages and the step log written from that reading, and the entries moved on.
    Returns whether it queued a message."""
    e = JourneyEntry
    among = one_of(session, e.id, list(ids))
    channels = sorted({MESSAGES[s.kind] for s in path.steps if s.kind in MESSAGES})
    columns: list[Any] = [e.id, e.workspace_id, e.journey_id, e.version, e.profile_id]
    columns += [_address_of(channel).label(channel) for channel in channels]
    due = select(*columns).where(among).cte("due")
    writes = []
    for n, step in enumerate(path.steps):
        if step.kind in MESSAGES:
            writes.append(_queue(due, step, now).cte(f"queued_{n}"))
        writes.append(_log(due, step, now).cte(f"logged_{n}"))
    waiting = path.waits_until is not None
    last = path.steps[-1] if path.steps else None
    exited = last is not None and last.kind == "exit"
    moved = (
        update(cast_table(e))
        .where(among)
        .values(
            status="waiting" if waiting else "done",
            step=path.then if waiting else None,
            wake_at=now + path.waits_until if path.waits_until is not None else None,
            waiting_for=None,
            finished_at=None if waiting else now,
            reason=(last.name or "an exit step") if exited and last is not None else None,
        )
        .add_cte(due, *writes)
    )
    session.execute(moved)
    return bool(channels)


def cast_table(model: type) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


def _address_of(channel: str) -> Any:
    """The person's address on a channel, read by their primary key for each entry."""
    column = Profile.email if channel == "email" else Profile.phone
    return select(column).where(Profile.id == JourneyEntry.profile_id).scalar_subquery()


def _queue(due: Any, step: Step, now: datetime) -> Any:
    c = due.c
    key = literal("journey:") + cast(c.id, String) + literal(f":{step.id}")
    rows = select(
        func.gen_random_uuid(),
        c.workspace_id,
        key,
        c.journey_id,
        c.version,
        literal(step.id),
        c.profile_id,
        literal(MESSAGES[step.kind]),
        literal(step.purpose),
        literal(step.purpose != "service"),
        c[MESSAGES[step.kind]],
        literal("queued"),
        literal(0),
        literal(now),
        literal(0),
        literal(0),
        literal({}, type_=Send.__table__.c.meta.type),
    )
    s = Send
    return insert(cast_table(Send)).from_select(
        [
            s.id,
            s.workspace_id,
            s.source_key,
            s.journey_id,
            s.version,
            s.step,
            s.profile_id,
            s.channel,
            s.purpose,
            s.promotional,
            s.address,
            s.status,
            s.attempts,
            s.queued_at,
            s.opens,
            s.clicks,
            s.meta,
        ],
        rows,
    )


def _log(due: Any, step: Step, now: datetime) -> Any:
    c = due.c
    outcome: Any
    detail: Any
    if step.kind in MESSAGES:  # the address is the log's detail
        outcome, detail = literal("queued"), c[MESSAGES[step.kind]]
    elif step.kind == "exit":
        outcome, detail = literal("exited"), literal(None, type_=String)
    else:
        until = now + timedelta(seconds=step.seconds or 0)
        outcome, detail = literal("waiting"), literal(f"until {until.isoformat()}")
    rows = select(
        c.workspace_id, c.journey_id, c.id, literal(step.id), literal(now), outcome, detail
    )
    log = JourneyStepLog
    return insert(cast_table(JourneyStepLog)).from_select(
        [log.workspace_id, log.journey_id, log.entry_id, log.step, log.at, log.outcome, log.detail],
        rows,
    )
