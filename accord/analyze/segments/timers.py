"""When a person's membership may next change with no new data, only because time
passes: the moment an event leaves a window, a sequence's wait runs out or a date
crosses "N days ago". One query per such condition over the people in scope; the
earliest moment after now is the person's timer for the segment."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from accord.analyze.segments import rules
from accord.analyze.segments.compile import Compiler, FactContext
from accord.collect.models import Event
from accord.profile.models import Profile


def next_changes(compiler: Compiler, node: Any) -> dict[uuid.UUID, datetime]:
    """Per person in the compiler's scope (everyone when it has none), the earliest
    time after now at which a condition of ``node`` may change by itself."""
    due: dict[uuid.UUID, datetime] = {}
    for leaf in rules.leaves(node):
        if not rules.moves_with_time(leaf):
            continue
        for pid, at in _leaf_times(compiler, leaf):
            if at > compiler.now and (pid not in due or at < due[pid]):
                due[pid] = at
    return due


def _leaf_times(compiler: Compiler, leaf: Any) -> list[tuple[uuid.UUID, datetime]]:
    now = compiler.now
    if isinstance(leaf, rules.EventCondition):
        assert leaf.within is not None
        span = leaf.within.delta
        # The oldest event in the window leaves it first (and the count drops).
        return [(pid, at + span) for pid, at in _oldest(compiler, leaf, now - span)]
    if isinstance(leaf, rules.SequenceCondition):
        wait, back = leaf.within.delta, leaf.lookback.delta
        out = [(pid, at + wait) for pid, at in _oldest(compiler, leaf.first, now - wait)]
        out += [(pid, at + back) for pid, at in _oldest(compiler, leaf.first, now - back)]
        return out
    if isinstance(leaf, rules.ValueCondition) and leaf.op in rules.RELATIVE:
        return _value_times(compiler, leaf)
    if isinstance(leaf, rules.ServiceCondition) and leaf.within is not None:
        # The service facts' owner says when each person's oldest row in the window was
        # made; it leaves the window that long after.
        times = getattr(compiler.facts.get(leaf.fact), "times", None)
        if times is None:
            return []
        ctx = FactContext(compiler.session, compiler.workspace_id, now, compiler.in_scope)
        span = leaf.within.delta
        return [(pid, at + span) for pid, at in compiler.session.execute(times(leaf, ctx)) if pid]
    return []


def _oldest(
    compiler: Compiler, match: rules.EventMatch, since: datetime
) -> list[tuple[uuid.UUID, datetime]]:
    stmt = (
        select(Event.profile_id, func.min(Event.timestamp))
        .where(
            *compiler.event_filter(match), Event.timestamp > since, Event.timestamp <= compiler.now
        )
        .group_by(Event.profile_id)
    )
    return [(pid, at) for pid, at in compiler.session.execute(stmt) if pid is not None]


def _value_times(
    compiler: Compiler, leaf: rules.ValueCondition
) -> list[tuple[uuid.UUID, datetime]]:
    """A date value compared with now: "within the last N days" ends, and "more than N
    days ago" begins, N days after the date; "within the next N days" begins N days
    before it and ends at it."""
    span = timedelta(days=float(leaf.value))
    if leaf.field in ("first_seen_at", "last_seen_at"):
        column: Any = getattr(Profile, leaf.field)
    elif leaf.field == "last_order_at":
        column = Profile.stats["last_order_at"].as_string()
    else:
        return []
    # Only dates whose moment is still ahead.
    edge = compiler.now - span if leaf.op != "within_next" else compiler.now
    bound = edge if leaf.field != "last_order_at" else edge.isoformat()
    stmt = select(Profile.id, column).where(compiler.live(), column.is_not(None), column > bound)
    out = []
    for pid, value in compiler.session.execute(stmt):
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
        if leaf.op == "within_next":
            out += [(pid, at - span), (pid, at)]
        else:
            out.append((pid, at + span))
    return out
