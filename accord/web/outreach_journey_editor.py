"""Outreach > Journeys > a journey's flow: the editor. The definition is one form: the
trigger, goal, re-entry and holdout at the top, then each step as a card in one column
(its kind's fields, where a branch's "yes" or an awaited event leads, and what continues
down). Every button submits the whole form: saving, adding a step of a kind after any
step, removing one, moving one up or down, and publishing (saved first). The definition
is saved through ``journeys.service.update``; a refusal is shown beside the step or
setting it names, the unsaved form kept as typed."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.analyze.audiences import service as audiences
from accord.analyze.audiences.models import Destination
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError
from accord.outreach.journeys import queries, service
from accord.outreach.journeys.models import Journey
from accord.web.auth import Console, ConsoleUser
from accord.web.outreach_journey_form import (
    AUDIENCE_ACTIONS,
    CONDITIONS,
    KINDS,
    PRIORITIES,
    REENTRY,
    TRIGGERS,
    UNITS,
    VIA,
    apply,
    definition_from,
    draft_from,
    draft_of,
)
from accord.web.outreach_pages import can_write, require_reader, require_writer
from accord.web.pages import page
from accord.web.segment_pages import all_segments

router = APIRouter(prefix="/outreach", include_in_schema=False)

JOURNEYS = "/outreach/journeys"
AREA = "journeys"
NOTICES = {
    "saved": "Saved.",
    "created": "Draft created: edit its steps, then publish it.",
    "published": "Published",
}


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form, its text fields only."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


Fields = Annotated[dict[str, str], Depends(form_fields)]


# --- refusals beside their step ---------------------------------------------------------------

STEP_AT = re.compile(r"steps(?:\[(\d+)\]|\.([A-Za-z0-9_-]+))(?:\.(\w+))?")
NAMED = re.compile(r"\bstep ([A-Za-z0-9_-]+)")
SETTINGS = ("trigger", "goal", "reentry", "holdout_percent")
SETTING_WORDS = {
    "trigger.event": "Event",
    "trigger.field": "Trait",
    "trigger.days_before": "Days before",
    "goal.event": "Goal",
    "holdout_percent": "Holdout",
}
WORDS = {
    "seconds": "Wait",
    "at_hour": "At hour",
    "timeout_seconds": "Timeout",
    "event": "Event",
    "subject": "Subject",
    "html": "HTML",
    "text": "Text",
    "traits": "Traits",
    "condition": "Condition",
    "destination_id": "Destination",
    "via": "Answer via",
    "priority": "Priority",
    "action": "Action",
    "audience": "Audience",
}


def placed_errors(error: AccordError | None, steps: list[dict[str, str]]) -> dict[str, list[str]]:
    """Each message of a refusal under the key of where it is shown: ``step:<index>``
    for a step (named by its index, its id, or "step <id>" in the words), ``settings``
    for the trigger, goal, re-entry and holdout, ``name``, else ``journey``."""
    if error is None:
        return {}
    index = {s["id"]: i for i, s in enumerate(steps)}
    out: dict[str, list[str]] = {}
    pairs = [(e.field, e.message) for e in error.errors] or [(error.field or "", error.message)]
    for field, message in pairs:
        message = message.removeprefix("The journey is not valid: ")
        key = "journey"
        at = STEP_AT.search(field or "")
        named = NAMED.search(message)
        if at and at.group(1) is not None:
            key = f"step:{at.group(1)}"
        elif at and at.group(2) in index:
            key = f"step:{index[at.group(2)]}"
        elif named and named.group(1) in index:
            key = f"step:{index[named.group(1)]}"
        elif any(s in (field or "") for s in SETTINGS):
            key = "settings"
            words = SETTING_WORDS.get((field or "").removeprefix("definition."))
            message = re.sub(r"^[\w.]+: ", "", message)
            if words:
                message = f"{words}: {message}"
        elif field == "name":
            key = "name"
        if key.startswith("step:"):
            own = steps[int(key[5:])]["id"] if int(key[5:]) < len(steps) else ""
            message = re.sub(r"^(steps\[\d+\][.\w]*: )?", "", message)
            message = message.removeprefix(f"step {own}: ")
            message = message[:1].upper() + message[1:]
        if at and at.group(3):
            message = f"{WORDS.get(at.group(3), at.group(3))}: {message}"
        out.setdefault(key, []).append(message)
    return out


# --- the page -------------------------------------------------------------------------------


def flow_of(steps: list[dict[str, str]]) -> list[dict[str, Any]]:
    """Each step's card: its title, and where it leads (``jumps``: the labelled ways to
    another step; ``down``: what goes on to the card below, or None at an end)."""
    titles = {s["id"]: (s["name"] or s["id"]) for s in steps}
    cards = []
    for i, s in enumerate(steps):
        jumps = []
        if s["kind"] == "branch" and s["yes"]:
            jumps.append(("yes", "If yes", s["yes"], titles.get(s["yes"], s["yes"])))
        if s["kind"] == "wait_event" and s["on_event"]:
            event = s["event"] or "the event"
            jumps.append(
                ("event", f"On {event}", s["on_event"], titles.get(s["on_event"], s["on_event"]))
            )
        if s["next"] and s["kind"] != "exit":
            label = {"branch": "If no", "wait_event": "After the timeout"}.get(s["kind"], "Then")
            jumps.append(("next", label, s["next"], titles.get(s["next"], s["next"])))
        last = i == len(steps) - 1
        down: str | None = None
        if not (s["kind"] == "exit" or s["next"] or last):
            down = {"branch": "If no", "wait_event": "After the timeout"}.get(s["kind"], "")
        ends = s["kind"] == "exit" or (last and not s["next"])
        cards.append(
            {"i": i, "v": s, "title": titles[s["id"]], "jumps": jumps, "down": down, "ends": ends}
        )
    return cards


def summary(errors: dict[str, list[str]], steps: list[dict[str, str]]) -> str:
    """The refusal above the form: the first message, with the step it is about."""
    for key, messages in errors.items():
        if key.startswith("step:"):
            i = int(key[5:])
            title = (steps[i]["name"] or steps[i]["id"]) if i < len(steps) else ""
            return f"Step {i + 1} ({title}): {messages[0]}"
        return messages[0]
    return ""


def _destinations(session: Session, console: Console) -> list[Destination]:
    """The workspace's destinations, by name: where a webhook or audience step sends."""
    found = audiences.destinations(session, console.principal.workspace_id)
    return sorted(found, key=lambda d: d.name.lower())


def editor(
    request: Request,
    session: Session,
    console: Console,
    journey: Journey,
    draft: dict[str, Any],
    *,
    error: AccordError | None = None,
    notice: str | None = None,
    focus: str | None = None,
) -> HTMLResponse:
    """The journey's flow in its editor (read only for whoever may not change it, and
    for an archived journey)."""
    steps = draft["steps"]
    errors = placed_errors(error, steps)
    sent_to = _destinations(session, console)
    return page(
        request,
        session,
        console,
        "outreach/journey.html",
        AREA,
        status_code=error.status if error else 200,
        journey=journey,
        draft=draft,
        cards=flow_of(steps),
        kinds=KINDS,
        conditions=CONDITIONS,
        reentry=REENTRY,
        triggers=TRIGGERS,
        units=list(UNITS),
        segments=all_segments(session, console),
        destinations=sent_to,
        destination_names={str(d.id): d.name for d in sent_to},
        via=VIA,
        priorities=PRIORITIES,
        audience_actions=AUDIENCE_ACTIONS,
        emails=[s for s in steps if s["kind"] == "email"],
        error=error,
        errors=errors,
        summary=summary(errors, steps),
        notice=notice,
        focus=focus,
        people=queries.journey_read(session, journey).people,
        can_write=can_write(console),
        editable=can_write(console) and journey.status != "archived",
        tab="flow",
    )


@router.get("/journeys/{journey_id:uuid}")
def journey_page(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    journey_id: uuid.UUID,
    done: str | None = None,
    version: int | None = None,
    step: str | None = None,
) -> HTMLResponse:
    require_reader(console)
    journey = service.get(session, console.principal.workspace_id, journey_id)
    notice = NOTICES.get(done or "")
    if done == "published":
        notice = f"Published as version {version or journey.version}: new entrants take it."
    draft = draft_of(journey.name, journey.definition)
    return editor(request, session, console, journey, draft, notice=notice, focus=step)


@router.post("/journeys/{journey_id:uuid}")
def save_journey(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    journey_id: uuid.UUID,
    fields: Fields,
) -> Response:
    """Save the form after the step change its button asks for (if any); then, for
    Publish, publish what was saved."""
    require_writer(console)
    journey = service.get(session, console.principal.workspace_id, journey_id)
    draft = draft_from(fields)
    op = fields.get("op", "save")
    active = [d for d in _destinations(session, console) if d.status == "active"]
    draft["steps"], focus = apply(op, draft["steps"], str(active[0].id) if active else "")
    try:
        with session.begin_nested():
            service.update(
                session,
                console.principal,
                journey.id,
                name=draft["name"],
                definition=definition_from(draft),
            )
        if op == "publish":
            with session.begin_nested():
                service.publish(session, console.principal, journey.id)
            return RedirectResponse(
                f"{JOURNEYS}/{journey.id}?done=published&version={journey.version}",
                status_code=303,
            )
    except AccordError as error:
        session.refresh(journey)
        return editor(request, session, console, journey, draft, error=error, focus=focus)
    anchor = f"&step={focus}#step-{focus}" if focus else ""
    return RedirectResponse(f"{JOURNEYS}/{journey.id}?done=saved{anchor}", status_code=303)
