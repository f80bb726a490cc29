"""Outreach > Journeys: the list (status, version, people by state), a new journey from a
ready-made template or blank, the journey's report (people by state, the funnel of
people who reached each step as a chart, the messages by outcome, the goal against the
holdout in words with its 95% interval, and the entries a page at a time), pausing,
resuming and archiving, entering people by hand (found by a search), and a person's
journeys on the Customer 360. The flow's editor is ``outreach_journey_editor.py``."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.customers import queries as customer_queries
from accord.govern.access.scopes import Scope
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid
from accord.kit.signals import after_commit
from accord.outreach.journeys import queries, service
from accord.outreach.journeys.library import TEMPLATES
from accord.outreach.journeys.models import JourneyEntry
from accord.outreach.journeys.schemas import JourneyReport
from accord.profile.models import Profile
from accord.web import outreach_report as words
from accord.web.auth import Console, ConsoleUser
from accord.web.charts import BarChart, Series, Unit, chart_export
from accord.web.outreach_journey_editor import AREA, JOURNEYS
from accord.web.outreach_journey_form import KINDS
from accord.web.outreach_pages import can_write, require_reader, require_writer
from accord.web.pages import page

router = APIRouter(prefix="/outreach", include_in_schema=False)

ENTRIES_PAGE = 50
PICKED = 8
# The states of a person in a journey, in the order pages list them, with their words.
STATES = {
    "waiting": "Waiting",
    "done": "Done",
    "goal": "Reached the goal",
    "exited": "Exited",
    "holdout": "Holdout",
}
NOTICES = {
    "paused": "Paused: everyone stays where they are until you resume.",
    "active": "Resumed.",
    "archived": "Archived: everyone still in it has left, and nobody enters any more.",
}
Short = Annotated[str, Form(max_length=300)]


def _advance_soon(request: Request, session: Session, workspace_id: uuid.UUID) -> None:
    """Wake the workspace's journeys on the job engine once this transaction commits."""
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is not None:
        after_commit(session, lambda: jobs.enqueue("journeys.advance", workspace_id))


# --- the list and a new journey ------------------------------------------------------------


def entered_by(trigger: dict[str, Any]) -> str:
    """How people enter, in a few words: "on Signed Up", "7 days before the date in
    renewal_date", "by hand"."""
    kind = trigger.get("kind")
    if kind == "event":
        return f"on {trigger.get('event') or 'an event'}"
    if kind == "segment":
        return "on entering a segment"
    if kind == "date":
        days = int(trigger.get("days_before") or 0)
        when = "on" if not days else f"{days} day{'' if days == 1 else 's'} before"
        every = "every year" if trigger.get("every_year", True) else "once"
        return f"{when} the date in {trigger.get('field') or 'a trait'}, {every}"
    return "entered by hand"


@router.get("/journeys")
def journeys_list(request: Request, session: DbSession, console: ConsoleUser) -> HTMLResponse:
    require_reader(console)
    rows = [
        queries.journey_read(session, j)
        for j in queries.journeys(session, console.principal.workspace_id)
    ]
    return page(
        request,
        session,
        console,
        "outreach/journeys.html",
        AREA,
        journeys=rows,
        states=STATES,
        entered_by=entered_by,
        can_write=can_write(console),
    )


def _new_page(
    request: Request,
    session: Session,
    console: Console,
    *,
    name: str = "",
    template: str = "",
    error: AccordError | None = None,
) -> HTMLResponse:
    return page(
        request,
        session,
        console,
        "outreach/journey_new.html",
        AREA,
        status_code=error.status if error else 200,
        templates_=TEMPLATES,
        entered_by=entered_by,
        name=name,
        chosen=template,
        error=error,
    )


@router.get("/journeys/new")
def new_journey(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    template: Annotated[str, Query(max_length=40)] = "",
) -> HTMLResponse:
    require_writer(console)
    return _new_page(request, session, console, template=template)


BLANK: dict[str, Any] = {
    "trigger": {"kind": "manual"},
    "steps": [{"id": "wait-1", "kind": "wait", "seconds": 86400}, {"id": "end", "kind": "exit"}],
}


@router.post("/journeys/new")
def create_journey(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    name: Short = "",
    template: Short = "",
) -> Response:
    """A draft from the template chosen (or a blank one: a wait, then the end), then its
    editor."""
    require_writer(console)
    try:
        with session.begin_nested():
            if template and template not in TEMPLATES:
                raise invalid(f"No journey template {template!r}", field="template")
            if not name.strip() and template:
                name = str(TEMPLATES[template]["name"])
            journey = service.create(
                session,
                console.principal,
                name=name,
                template=template or None,
                definition=None if template else BLANK,
            )
    except AccordError as error:
        return _new_page(request, session, console, name=name, template=template, error=error)
    return RedirectResponse(f"{JOURNEYS}/{journey.id}?done=created", status_code=303)


# --- the report ----------------------------------------------------------------------------


def funnel_chart(report: JourneyReport, titles: dict[str, str]) -> BarChart:
    """How many people reached each step, in the order of the flow."""
    has = any(s.reached for s in report.funnel)
    return BarChart(
        key="funnel",
        title="People who reached each step",
        description="Each step of the flow and how many people got to it (a person is "
        "counted once per step, whichever version they are in).",
        labels=[
            f"{titles.get(s.step, s.step)} · {KINDS.get(s.kind, s.kind)}" for s in report.funnel
        ]
        if has
        else [],
        series=[Series("People", [float(s.reached) for s in report.funnel])] if has else [],
        horizontal=True,
        unit=Unit(decimals=0, name="people"),
        width=words.WIDTH + 160,
        height=max(words.HEIGHT, 34 * len(report.funnel) + 60),
    )


def goal_words(report: JourneyReport) -> str:
    """The goal against the holdout in a sentence, with the difference's 95% interval."""
    goal = report.goal
    if goal is None:
        return (
            "This journey has no goal: give it one (an event, such as Order Completed) "
            "to measure it."
        )
    lift = report.conversion
    if not report.holdout:
        n = report.entered
        return (
            f"{report.reached_goal:,} of {n:,} {'person' if n == 1 else 'people'} in the journey "
            f"did {goal}. No one was held out, so there is nothing to compare with."
        )
    if lift is None:
        return "The comparison with the holdout follows once people have entered."
    if not report.reached_goal and not report.holdout_reached_goal:
        return (
            f"Nobody in the journey ({report.entered:,}) or in the holdout "
            f"({report.holdout:,}) has done {goal} yet: the comparison follows when they do."
        )
    verdict = words.verdict(lift).replace("the campaign", "the journey")
    return (
        f"{lift.treatment * 100:.1f}% of those in the journey did {goal}, against "
        f"{lift.control * 100:.1f}% of the holdout ({report.holdout:,} kept out). "
        f"Difference: {words.difference(lift, rate=True)}: {verdict}."
    )


def _people(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Profile]:
    if not ids:
        return {}
    return {p.id: p for p in session.scalars(select(Profile).where(Profile.id.in_(ids)))}


@router.get("/journeys/{journey_id:uuid}/report")
def journey_report(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    journey_id: uuid.UUID,
    status: str | None = None,
    after: uuid.UUID | None = None,
    done: str | None = None,
    n: int | None = None,
    of: int | None = None,
) -> Response:
    """The report (its chart downloadable from this route) and a page of the entries
    (``status``: a state; ``after``: the page's start)."""
    require_reader(console)
    journey = service.get(session, console.principal.workspace_id, journey_id)
    report = queries.report(session, journey)
    steps = journey.definition.get("steps", [])
    titles = {s["id"]: s.get("name") or s["id"] for s in steps}
    chart = funnel_chart(report, titles)
    exported = chart_export(request, [chart])
    if exported is not None:
        return exported
    shown = status if status in STATES else None
    rows = queries.entries(session, journey.id, shown, ENTRIES_PAGE + 1, after)
    notice = NOTICES.get(done or "")
    if done == "entered" and n is not None:
        notice = f"{n} of {of or n} {'person' if (of or n) == 1 else 'people'} entered"
        notice += "." if n == (of or n) else " (the others' re-entry rule kept them out)."
    return page(
        request,
        session,
        console,
        "outreach/journey_report.html",
        AREA,
        journey=journey,
        report=report,
        chart=chart,
        goal_words=goal_words(report),
        difference=words.difference,
        messages=[
            (s, words.status_label(s), n) for s, _, n in words.progress("", report.messages).counts
        ],
        entries=rows[:ENTRIES_PAGE],
        people=_people(session, {e.profile_id for e in rows}),
        titles=titles,
        next_after=rows[ENTRIES_PAGE - 1].id if len(rows) > ENTRIES_PAGE else None,
        after=after,
        shown=shown or "",
        states=STATES,
        notice=notice,
        can_write=can_write(console),
        tab="report",
    )


# --- pausing, resuming, archiving; entering people by hand ---------------------------------


def _status(
    request: Request, session: Session, console: Console, journey_id: uuid.UUID, to: str
) -> Response:
    require_writer(console)
    service.set_status(session, console.principal, journey_id, to)
    if to == "active":
        _advance_soon(request, session, console.principal.workspace_id)
    return RedirectResponse(f"{JOURNEYS}/{journey_id}/report?done={to}", status_code=303)


@router.post("/journeys/{journey_id:uuid}/pause")
def pause(
    request: Request, session: DbSession, console: ConsoleUser, journey_id: uuid.UUID
) -> Response:
    return _status(request, session, console, journey_id, "paused")


@router.post("/journeys/{journey_id:uuid}/resume")
def resume(
    request: Request, session: DbSession, console: ConsoleUser, journey_id: uuid.UUID
) -> Response:
    return _status(request, session, console, journey_id, "active")


@router.post("/journeys/{journey_id:uuid}/archive")
def archive(
    request: Request, session: DbSession, console: ConsoleUser, journey_id: uuid.UUID
) -> Response:
    return _status(request, session, console, journey_id, "archived")


@router.get("/journeys/{journey_id:uuid}/people")
def people(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    journey_id: uuid.UUID,
    q: Annotated[str, Query(max_length=200)] = "",
) -> HTMLResponse:
    """People matching a name, email or phone, to put into the journey by hand."""
    console.principal.require(Scope.ANALYTICS_READ, Scope.OUTREACH_SEND, Scope.PROFILES_READ)
    journey = service.get(session, console.principal.workspace_id, journey_id)
    found: list[Profile] = []
    if q.strip():
        found = customer_queries.search(
            session, console.principal.workspace_id, q.strip(), limit=PICKED, offset=0
        )
    templates = request.app.state.templates
    response: HTMLResponse = templates.TemplateResponse(
        request, "outreach/_journey_people.html", {"journey": journey, "found": found, "q": q}
    )
    return response


@router.post("/journeys/{journey_id:uuid}/enter")
def enter(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    journey_id: uuid.UUID,
    profile_id: Annotated[list[uuid.UUID] | None, Form()] = None,
) -> Response:
    """Put the people ticked into the journey (those its re-entry rule lets in)."""
    require_writer(console)
    if not profile_id:
        raise invalid("Tick the people to put into the journey", field="profile_id")
    entered = service.enter_people(session, console.principal, journey_id, profile_id[:100])
    _advance_soon(request, session, console.principal.workspace_id)
    return RedirectResponse(
        f"{JOURNEYS}/{journey_id}/report?done=entered&n={len(entered)}&of={len(profile_id)}",
        status_code=303,
    )


# --- the Customer 360 ----------------------------------------------------------------------


def person_journeys(
    session: Session, console: Console, profile_id: uuid.UUID
) -> list[dict[str, Any]]:
    """The journeys the person is in or went through, latest first: each with its name,
    the person's state, the step they are at (by its name in the journey) and until when
    they wait."""
    entries: list[JourneyEntry] = queries.of_person(
        session, console.principal.workspace_id, profile_id
    )[:20]
    found = queries.by_ids(session, console.principal.workspace_id, {e.journey_id for e in entries})
    out = []
    for e in entries:
        journey = found.get(e.journey_id)
        if journey is None:
            continue
        titles = {s["id"]: s.get("name") or s["id"] for s in journey.definition.get("steps", [])}
        out.append(
            {
                "entry": e,
                "name": journey.name,
                "state": STATES.get(e.status, e.status),
                "step": titles.get(e.step or "", e.step),
            }
        )
    return out
