"""Journeys that people enter on a date one of their traits holds: a birthday comes round
every year (its month and day, in the person's time zone, as the segments' calendar
conditions count it), a renewal or contract end once (the whole date, in the workspace's
time zone); ``days_before`` moves the day earlier. The hourly ``journeys.dates`` job
enters whoever's day it is, once per occurrence: the entry keeps the occurrence it was
for, so a second run that day (or a journey that ended at once) enters nobody again."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import and_, func, not_, select
from sqlalchemy.orm import Session

from accord.analyze.segments.compile import Compiler
from accord.govern.workspaces.models import Workspace
from accord.outreach.journeys.definition import Trigger
from accord.outreach.journeys.engine import definition_of, enter
from accord.outreach.journeys.repository import JourneyRepository
from accord.outreach.templates import value_of
from accord.profile.models import Profile


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def due(
    session: Session, workspace: Workspace, trigger: Trigger, now: datetime
) -> list[tuple[uuid.UUID, str]]:
    """The live people whose date it is (``days_before`` ahead), with the date held."""
    assert trigger.field is not None
    compiler = Compiler(session, workspace.id, now, default_timezone=workspace.timezone)
    held = compiler.trait_text(trigger.field)
    days = trigger.days_before
    if trigger.every_year:
        today = compiler.test(held, "anniversary_within", days)
        if days > 0:
            today = and_(today, not_(compiler.test(held, "anniversary_within", days - 1)))
    else:
        day = (now.astimezone(_zone(workspace.timezone)) + timedelta(days=days)).date()
        today = func.substr(held, 1, 10) == day.isoformat()
    rows = session.execute(
        select(Profile.id, held).where(
            Profile.workspace_id == workspace.id, Profile.merged_into_id.is_(None), today
        )
    )
    return [(pid, str(value)) for pid, value in rows if value]


def occurrence(trigger: Trigger, value: str, now: datetime) -> str:
    """Which occurrence of the date an entry is for: the date itself when it comes once,
    else its month and day in the year it comes round (``days_before`` from now)."""
    if not trigger.every_year:
        return value[:10]
    target = (now + timedelta(days=trigger.days_before)).date()
    month, day = int(value[5:7]), int(value[8:10])

    def on(year: int) -> date:
        try:
            return date(year, month, day)
        except ValueError:  # 29 February in a year without one
            return date(year, month, day - 1)

    # The year whose date is nearest (a time zone ahead of UTC reaches 1 January first).
    best = min(
        (on(y) for y in (target.year - 1, target.year, target.year + 1)),
        key=lambda d: abs((d - target).days),
    )
    return f"{best.year}-{value[5:10]}"


def enter_on_dates(session: Session, workspace_id: uuid.UUID, now: datetime) -> int:
    """Enter everyone whose date it is into the workspace's date-triggered journeys;
    returns how many entered."""
    workspace = session.get(Workspace, workspace_id)
    if workspace is None:
        return 0
    repo = JourneyRepository.from_session(session)
    entered = 0
    for journey in repo.active(workspace_id):
        trigger = definition_of(session, journey.id, journey.version).trigger
        if trigger.kind != "date" or not trigger.field:
            continue
        for profile_id, value in due(session, workspace, trigger, now):
            on = occurrence(trigger, value, now)
            before = repo.entries_of(journey.id, profile_id)
            if any((e.context or {}).get("on") == on for e in before):
                continue
            context = {"date": trigger.field, "value": value_of(value), "on": on}
            if enter(session, journey, profile_id, now, context, before) is not None:
                entered += 1
    session.flush()
    return entered
