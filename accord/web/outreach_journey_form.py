"""The journey editor's form: a definition as the form's strings (the trigger, goal,
re-entry and holdout, then each step's fields), the posted form back as a definition for
the service to check, and the step changes its buttons ask for (adding a step of a kind
after any step, removing one, moving one up or down). The routes and the page are
``outreach_journey_editor.py``."""

from __future__ import annotations

import json
import re
from typing import Any

UNITS = {"seconds": 1, "minutes": 60, "hours": 3600, "days": 86400}
KINDS = {
    "wait": "Wait",
    "wait_event": "Wait for an event",
    "branch": "Branch",
    "email": "Email",
    "sms": "Text message",
    "task": "Task for an agent",
    "webhook": "Webhook",
    "audience": "Audience",
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
TRIGGERS = {
    "event": "An event",
    "segment": "Entering a segment",
    "date": "On a date a trait holds",
    "manual": "By hand only",
}
# How an agent is to answer a task, and its priorities, with their words.
VIA = {"phone": "A phone call", "email": "An email", "sms": "A text message"}
PRIORITIES = {"low": "Low", "normal": "Normal", "high": "High", "urgent": "Urgent"}
AUDIENCE_ACTIONS = {"add": "Add them to the audience", "remove": "Remove them from it"}
STEP_FIELDS = (
    *("id", "kind", "name", "next", "amount", "unit", "at_hour", "event"),
    *("timeout_amount", "timeout_unit", "on_event", "cond_kind", "cond_event", "cond_step"),
    *("cond_segment", "cond_field", "cond_value", "yes", "subject", "html", "text"),
    *("purpose", "traits", "via", "priority", "destination_id", "action", "audience"),
)
OPS = re.compile(r"^(add):(-?\d+):([a-z_]+)$|^(remove|up|down):(\d+)$")


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
        "via": step.get("via") or "phone",
        "priority": step.get("priority") or "normal",
        "destination_id": str(step.get("destination_id") or ""),
        "action": step.get("action") or "add",
        "audience": step.get("audience") or "",
    }


def draft_of(name: str, d: dict[str, Any]) -> dict[str, Any]:
    """A journey's name and definition, being edited, as the form's strings."""
    trigger = d.get("trigger") or {}
    return {
        "name": name,
        "trigger_kind": trigger.get("kind", "event"),
        "trigger_event": trigger.get("event") or "",
        "trigger_segment": str(trigger.get("segment_id") or ""),
        "trigger_where": json.dumps(trigger["where"]) if trigger.get("where") else "",
        "trigger_field": trigger.get("field") or "",
        "trigger_days_before": str(trigger.get("days_before") or 0),
        "trigger_every_year": "0" if trigger.get("every_year") is False else "1",
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
        "trigger_field": fields.get("trigger_field", ""),
        "trigger_days_before": fields.get("trigger_days_before", "0"),
        "trigger_every_year": "0" if fields.get("trigger_every_year") == "0" else "1",
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
    elif kind == "task":
        out["subject"] = v["subject"].strip() or None
        out["text"] = v["text"].strip() or None
        out["via"] = v["via"] or "phone"
        out["priority"] = v["priority"] or "normal"
    elif kind in ("webhook", "audience"):
        out["destination_id"] = v["destination_id"] or None
        if kind == "audience":
            out["action"] = v["action"] or "add"
            out["audience"] = v["audience"].strip() or None
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
    elif trigger["kind"] == "date":
        trigger["field"] = draft["trigger_field"].strip() or None
        trigger["days_before"] = draft["trigger_days_before"].strip() or "0"
        trigger["every_year"] = draft["trigger_every_year"] != "0"
    out: dict[str, Any] = {
        "trigger": {k: x for k, x in trigger.items() if x is not None},
        "steps": [_step(s) for s in draft["steps"]],
        "reentry": draft["reentry"],
        "holdout_percent": draft["holdout_percent"].strip() or "0",
    }
    if draft["goal_event"].strip():
        out["goal"] = {"event": draft["goal_event"].strip()}
    return out


# --- adding, removing and moving steps --------------------------------------------------------


def new_step(
    kind: str, steps: list[dict[str, str]], at: int, destination: str = ""
) -> dict[str, str]:
    """A step of ``kind`` ready to save as it is (a branch's "yes" is the last step, when
    that comes after it; a webhook or audience goes to ``destination``, the workspace's
    first), with an id no other step has."""
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
    elif kind == "task":
        v["subject"] = "Call {{ person.first_name | default('this customer') }}"
    elif kind in ("webhook", "audience"):
        v["destination_id"] = destination
    elif kind == "set_trait":
        v["traits"] = "journey_stage=reached"
    return v


def apply(
    op: str, steps: list[dict[str, str]], destination: str = ""
) -> tuple[list[dict[str, str]], str | None]:
    """The steps after ``op`` (add:<after>:<kind>, remove:<i>, up:<i>, down:<i>), and the
    id of the step to scroll to (``destination``: where a new webhook or audience step
    sends)."""
    found = OPS.match(op)
    if not found:
        return steps, None
    steps = list(steps)
    if found.group(1):
        after, kind = int(found.group(2)), found.group(3)
        if kind not in KINDS:
            return steps, None
        at = max(-1, min(after, len(steps) - 1)) + 1
        step = new_step(kind, steps, at, destination)
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
