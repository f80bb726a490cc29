"""Outreach > Journeys > a journey's flow: the editor. The definition is one form: the
trigger, goal, re-entry and holdout at the top, then each step as a card in one column
(its kind's fields, where a branch's "yes" or an awaited event leads, and what continues
down). Every button submits the whole form: saving, adding a step of a kind after any
step, removing one, moving one up or down, and publishing (saved first). The definition
is saved through ``journeys.service.update``; a refusal is shown beside the step or
setting it names, the unsaved form kept as typed."""

from __future__ import annotations

import json
import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.kit.deps import DbSession
from accord.kit.errors import AccordError
from accord.outreach.journeys import queries, service
from accord.outreach.journeys.models import Journey
from accord.web.auth import Console, ConsoleUser
from accord.web.outreach_pages import can_write, require_reader, require_writer
from accord.web.pages import page
from accord.web.segment_pages import all_segments

router = APIRouter(prefix="/outreach", include_in_schema=False)

JOURNEYS = "/outreach/journeys"
AREA = "journeys"
UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
KINDS = {
    "wait": "Wait",
    "wait_event": "Wait for an event",
    "branch": "Branch",
    "email": "Email",
    "sms": "Text message",
    "set_trait": "Set traits",
    "exit": "Exit",
}
CONDITIONS = {
    "event": "did an event",
    "opened": "opened an email",
    "clicked": "clicked in an email",
    "segment": "is in a segment",
    "trait": "has a trait value",
}
REENTRY = {
    "never": "Never again",
    "after_finish": "Once they have finished",
    "always": "Every time",
}
TRIGGERS = {"event": "An event", "segment": "Entering a segment", "manual": "By hand only"}
STEP_FIELDS = (
    *("id", "kind", "name", "next", "amount", "unit", "at_hour", "event"),
    *("timeout_amount", "timeout_unit", "on_event", "cond_kind", "cond_event", "cond_step"),
    *("cond_segment", "cond_field", "cond_value", "yes", "subject", "html", "text"),
    *("purpose", "traits"),
)
NOTICES = {
    "saved": "Saved.",
    "created": "Draft created: edit its steps, then publish it.",
    "published": "Published",
}
OPS = re.compile(r"^(add):(-?\d+):([a-z_]+)$|^(remove|up|down):(\d+)$")


async def form_fields(request: Request) -> dict[str, str]:
    """The posted form, its text fields only."""
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


Fields = Annotated[dict[str, str], Depends(form_fields)]


# --- the definition as the form's strings, and back ---------------------------------------


def split_seconds(seconds: int | None) -> tuple[str, str]:
    """A duration as a number in the largest unit that divides it: 7200 -> ("2", "hours")."""
    if seconds is None:
        return "", "days"
    for unit in ("days", "hours", "minutes"):
        if seconds and seconds % UNITS[unit] == 0:
            return str(seconds // UNITS[unit]), unit
    return str(seconds), "seconds"


def _text(value: Any) -> str:
    """A trait's or condition's value as typed: strings as they are, others as JSON."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value)


def _value(text: str) -> Any:
    """A typed value: a number, true, false or null as such, anything else a string."""
    text = text.strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        return text
    return parsed if isinstance(parsed, (int, float, bool)) or parsed is None else text


def step_values(step: dict[str, Any]) -> dict[str, str]:
    """One step of a definition as the form's strings."""
    condition = step.get("condition") or {}
    amount, unit = split_seconds(step.get("seconds"))
    t_amount, t_unit = split_seconds(step.get("timeout_seconds"))
    traits = step.get("traits") or {}
    at_hour = step.get("at_hour")
    return {
        "id": step.get("id", ""),
        "kind": step.get("kind", ""),
        "name": step.get("name") or "",
        "next": step.get("next") or "",
        "amount": amount,
        "unit": unit,
        "at_hour": "" if at_hour is None else str(at_hour),
        "event": step.get("event") or "",
        "timeout_amount": t_amount,
        "timeout_unit": t_unit,
        "on_event": step.get("on_event") or "",
        "cond_kind": condition.get("kind", "event"),
        "cond_event": condition.get("event") or "",
        "cond_step": condition.get("step") or "",
        "cond_segment": str(condition.get("segment_id") or ""),
        "cond_field": condition.get("field") or "",
        "cond_value": _text(condition.get("value")),
        "yes": step.get("yes") or "",
        "subject": step.get("subject") or "",
        "html": step.get("html") or "",
        "text": step.get("text") or "",
        "purpose": step.get("purpose") or "marketing",
        "traits": "\n".join(f"{k}={_text(v)}" for k, v in traits.items()),
    }


def draft_of(journey: Journey) -> dict[str, Any]:
    """A journey's definition being edited, as the form's strings."""
    d = journey.definition
    trigger = d.get("trigger") or {}
    return {
        "name": journey.name,
        "trigger_kind": trigger.get("kind", "event"),
        "trigger_event": trigger.get("event") or "",
        "trigger_segment": str(trigger.get("segment_id") or ""),
        "trigger_where": json.dumps(trigger["where"]) if trigger.get("where") else "",
        "goal_event": (d.get("goal") or {}).get("event", ""),
        "reentry": d.get("reentry", "after_finish"),
        "holdout_percent": str(d.get("holdout_percent", 0)),
        "steps": [step_values(s) for s in d.get("steps", [])],
    }


def draft_from(fields: dict[str, str]) -> dict[str, Any]:
    """The posted form as the draft (steps in the order posted, by their index)."""
    count = fields.get("step_count", "0")
    steps = []
    for i in range(min(int(count) if count.isdigit() else 0, 200)):
        if f"steps.{i}.kind" in fields:
            steps.append({k: fields.get(f"steps.{i}.{k}", "") for k in STEP_FIELDS})
    return {
        "name": fields.get("name", ""),
        "trigger_kind": fields.get("trigger_kind", "event"),
        "trigger_event": fields.get("trigger_event", ""),
        "trigger_segment": fields.get("trigger_segment", ""),
        "trigger_where": fields.get("trigger_where", ""),
        "goal_event": fields.get("goal_event", ""),
        "reentry": fields.get("reentry", "after_finish"),
        "holdout_percent": fields.get("holdout_percent", "0"),
        "steps": steps,
    }


def _seconds(amount: str, unit: str) -> Any:
    """A number and a unit as seconds (what is not a whole number passes as typed, for
    the definition's check to name)."""
    amount = amount.strip()
    if not amount:
        return None
    if re.fullmatch(r"-?\d{1,9}", amount):
        return int(amount) * UNITS.get(unit, 1)
    return amount


def _step(v: dict[str, str]) -> dict[str, Any]:
    kind = v["kind"]
    out: dict[str, Any] = {"id": v["id"], "kind": kind}
    if v["name"].strip():
        out["name"] = v["name"].strip()
    if v["next"] and kind != "exit":
        out["next"] = v["next"]
    if kind == "wait":
        out["seconds"] = _seconds(v["amount"], v["unit"])
        out["at_hour"] = v["at_hour"] or None
    elif kind == "wait_event":
        out["event"] = v["event"].strip()
        out["timeout_seconds"] = _seconds(v["timeout_amount"], v["timeout_unit"])
        out["on_event"] = v["on_event"] or None
    elif kind == "branch":
        c: dict[str, Any] = {"kind": v["cond_kind"] or "event"}
        if c["kind"] == "event":
            c["event"] = v["cond_event"].strip()
        elif c["kind"] in ("opened", "clicked"):
            c["step"] = v["cond_step"] or None
        elif c["kind"] == "segment":
            c["segment_id"] = v["cond_segment"] or None
        else:
            c["field"] = v["cond_field"].strip()
            c["value"] = _value(v["cond_value"])
        out["condition"] = c
        out["yes"] = v["yes"] or None
    elif kind == "email":
        out.update(subject=v["subject"], html=v["html"] or None, text=v["text"] or None)
        out["purpose"] = v["purpose"] or "marketing"
    elif kind == "sms":
        out["text"] = v["text"].strip() or None
        out["purpose"] = v["purpose"] or "marketing"
    elif kind == "set_trait":
        traits = {}
        for line in v["traits"].splitlines():
            key, _, value = line.partition("=")
            if key.strip():
                traits[key.strip()] = _value(value)
        out["traits"] = traits
    return {k: x for k, x in out.items() if x is not None}


def definition_from(draft: dict[str, Any]) -> dict[str, Any]:
    """The draft as a definition for the service to check."""
    trigger: dict[str, Any] = {"kind": draft["trigger_kind"]}
    if trigger["kind"] == "event":
        trigger["event"] = draft["trigger_event"].strip()
        try:
            where = json.loads(draft["trigger_where"]) if draft["trigger_where"] else {}
        except ValueError:
            where = {}
        if where:
            trigger["where"] = where
    elif trigger["kind"] == "segment":
        trigger["segment_id"] = draft["trigger_segment"] or None
    out: dict[str, Any] = {
        "trigger": trigger,
        "steps": [_step(s) for s in draft["steps"]],
        "reentry": draft["reentry"],
        "holdout_percent": draft["holdout_percent"].strip() or "0",
    }
    if draft["goal_event"].strip():
        out["goal"] = {"event": draft["goal_event"].strip()}
    return out


# --- adding, removing and moving steps --------------------------------------------------------


def new_step(kind: str, steps: list[dict[str, str]], at: int) -> dict[str, str]:
    """A step of ``kind`` ready to save as it is (a branch's "yes" is the last step, when
    that comes after it), with an id no other step has."""
    taken = {s["id"] for s in steps}
    stem = kind.replace("_", "-")
    n = 1
    while f"{stem}-{n}" in taken:
        n += 1
    v = step_values({"id": f"{stem}-{n}", "kind": kind})
    if kind == "wait":
        v.update(amount="1", unit="days")
    elif kind == "wait_event":
        v.update(event="Order Completed", timeout_amount="1", timeout_unit="days")
    elif kind == "branch":
        v.update(cond_kind="event", cond_event="Order Completed")
        if at < len(steps) - 1:
            v["yes"] = steps[-1]["id"]
    elif kind == "email":
        v.update(subject="A new email", text="Hello {{ person.first_name | default('there') }},")
    elif kind == "sms":
        v["text"] = (
            "Hi {{ person.first_name | default('there') }}, a word from {{ workspace.name }}."
        )
    elif kind == "set_trait":
        v["traits"] = "journey_stage=reached"
    return v


def apply(op: str, steps: list[dict[str, str]]) -> tuple[list[dict[str, str]], str | None]:
    """The steps after ``op`` (add:<after>:<kind>, remove:<i>, up:<i>, down:<i>), and the
    id of the step to scroll to."""
    found = OPS.match(op)
    if not found:
        return steps, None
    steps = list(steps)
    if found.group(1):
        after, kind = int(found.group(2)), found.group(3)
        if kind not in KINDS:
            return steps, None
        at = max(-1, min(after, len(steps) - 1)) + 1
        step = new_step(kind, steps, at)
        steps.insert(at, step)
        return steps, step["id"]
    what, i = found.group(4), int(found.group(5))
    if i >= len(steps):
        return steps, None
    if what == "remove":
        gone = steps.pop(i)["id"]
        for s in steps:  # the optional ways to it go down instead
            for key in ("next", "on_event"):
                if s[key] == gone:
                    s[key] = ""
        return steps, steps[min(i, len(steps) - 1)]["id"] if steps else None
    j = i - 1 if what == "up" else i + 1
    if 0 <= j < len(steps):
        steps[i], steps[j] = steps[j], steps[i]
    return steps, steps[j if 0 <= j < len(steps) else i]["id"]


# --- refusals beside their step ---------------------------------------------------------------

STEP_AT = re.compile(r"steps(?:\[(\d+)\]|\.([A-Za-z0-9_-]+))(?:\.(\w+))?")
NAMED = re.compile(r"\bstep ([A-Za-z0-9_-]+)")
SETTINGS = ("trigger", "goal", "reentry", "holdout_percent")
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
    return editor(request, session, console, journey, draft_of(journey), notice=notice, focus=step)


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
    draft["steps"], focus = apply(op, draft["steps"])
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
