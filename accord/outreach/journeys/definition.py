"""A journey's definition, validated: its trigger, its steps as one vertical flow
(each step goes to the next unless it names another; a branch and a wait for an event
name where each outcome goes), its goal, re-entry and holdout. No step may be reached
again from itself: a journey always ends."""

from __future__ import annotations

import re
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from accord.govern.workspaces.settings import invalid_settings
from accord.kit.errors import AccordError

StepKind = Literal[
    "wait",
    "wait_event",
    "branch",
    "email",
    "sms",
    "task",
    "set_trait",
    "audience",
    "webhook",
    "exit",
]
# The steps that send the person a message, and the channel of each.
MESSAGES = {"email": "email", "sms": "sms"}
MAX_STEPS = 50


class Trigger(BaseModel):
    """How people enter: an ``event`` (with property values it must have), entering a
    ``segment``, a ``date`` held in a trait (``field``: a birthday comes round every
    year, a renewal date once; ``days_before`` it), or ``manual`` (the API or the
    console)."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["event", "segment", "date", "manual"]
    event: str | None = Field(default=None, max_length=200)
    where: dict[str, Any] = Field(default_factory=dict)
    segment_id: uuid.UUID | None = None
    field: str | None = Field(default=None, max_length=120)
    days_before: int = Field(default=0, ge=0, le=365)
    every_year: bool = True

    @model_validator(mode="after")
    def _complete(self) -> Trigger:
        if self.kind == "event" and not self.event:
            raise ValueError("an event trigger names its event")
        if self.kind == "segment" and self.segment_id is None:
            raise ValueError("a segment trigger names its segment")
        if self.kind == "date" and not self.field:
            raise ValueError("a date trigger names the trait that holds the date")
        if self.field and not re.fullmatch(r"[A-Za-z0-9_.-]+", self.field):
            raise ValueError("a trait's name holds letters, digits, '_', '.' and '-' only")
        return self


class Condition(BaseModel):
    """What a branch asks: did the person do ``event`` (within ``within_seconds`` of
    entering), open or click the email of step ``step``, belong to ``segment_id``, or
    have trait ``field`` equal to ``value``."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["event", "opened", "clicked", "segment", "trait"]
    event: str | None = None
    step: str | None = None
    segment_id: uuid.UUID | None = None
    field: str | None = None
    value: Any = None


class Step(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_-]+$")
    kind: StepKind
    name: str | None = Field(default=None, max_length=120)
    next: str | None = None
    # wait: a duration, then (optionally) the next time this hour comes in the person's
    # time zone
    seconds: int | None = Field(default=None, ge=0, le=366 * 86400)
    at_hour: int | None = Field(default=None, ge=0, le=23)
    # wait_event: until the event, at most timeout_seconds; on_event where it goes then
    event: str | None = Field(default=None, max_length=200)
    timeout_seconds: int | None = Field(default=None, ge=1, le=366 * 86400)
    on_event: str | None = None
    # branch
    condition: Condition | None = None
    yes: str | None = None
    # email (a subject, and HTML or text), sms (the text)
    subject: str | None = Field(default=None, max_length=300)
    html: str | None = Field(default=None, max_length=500_000)
    text: str | None = Field(default=None, max_length=200_000)
    purpose: Literal["marketing", "service", "surveys"] = "marketing"
    # set_trait
    traits: dict[str, Any] | None = None
    # task: a conversation for an agent (``subject``, ``text`` as its note), to be
    # answered ``via`` a channel, at a priority
    via: Literal["phone", "email", "sms"] = "phone"
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    # audience (``add`` or ``remove``, named ``audience``) and webhook: a signed event to
    # one of the workspace's destinations
    destination_id: uuid.UUID | None = None
    action: Literal["add", "remove"] = "add"
    audience: str | None = Field(default=None, max_length=120)

    @model_validator(mode="after")
    def _complete(self) -> Step:
        need = {
            "wait": self.seconds is not None or self.at_hour is not None,
            "wait_event": bool(self.event) and self.timeout_seconds is not None,
            "branch": self.condition is not None and self.yes is not None,
            "email": bool(self.subject) and bool(self.html or self.text),
            "sms": bool(self.text),
            "task": bool(self.subject),
            "set_trait": bool(self.traits),
            "audience": self.destination_id is not None,
            "webhook": self.destination_id is not None,
            "exit": True,
        }
        if not need[self.kind]:
            words = {
                "wait": "a wait needs seconds or at_hour",
                "wait_event": "a wait for an event needs the event and timeout_seconds",
                "branch": "a branch needs a condition and where yes goes",
                "email": "an email needs a subject and a body",
                "sms": "a text message needs its text",
                "task": "a task needs a subject",
                "set_trait": "a trait change needs traits",
                "audience": "an audience step names its destination",
                "webhook": "a webhook step names its destination",
            }
            raise ValueError(f"step {self.id}: {words[self.kind]}")
        return self

    def exits(self) -> list[str]:
        return [x for x in (self.next, self.on_event, self.yes) if x]


class Goal(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event: str = Field(min_length=1, max_length=200)


class Definition(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trigger: Trigger
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)
    goal: Goal | None = None
    reentry: Literal["never", "after_finish", "always"] = "after_finish"
    holdout_percent: int = Field(default=0, ge=0, le=50)

    @model_validator(mode="after")
    def _flow(self) -> Definition:
        ids = [s.id for s in self.steps]
        if len(set(ids)) != len(ids):
            raise ValueError("step ids must be unique")
        known = set(ids)
        for step in self.steps:
            for target in step.exits():
                if target not in known:
                    raise ValueError(f"step {step.id} goes to {target!r}, which is no step")
            asked = step.condition.step if step.condition is not None else None
            if asked is not None and asked not in known:
                raise ValueError(f"step {step.id} asks about {asked!r}")
        for start in ids:  # no step reaches itself again
            seen: set[str] = set()
            todo = list(self.successors(start))
            while todo:
                at = todo.pop()
                if at == start:
                    raise ValueError(f"step {start} can be reached again from itself")
                if at not in seen:
                    seen.add(at)
                    todo.extend(self.successors(at))
        return self

    def step(self, step_id: str) -> Step:
        return next(s for s in self.steps if s.id == step_id)

    def following(self, step_id: str) -> str | None:
        """The step after this one in the flow (its ``next``, else the one below)."""
        step = self.step(step_id)
        if step.kind == "exit":
            return None
        if step.next:
            return step.next
        ids = [s.id for s in self.steps]
        i = ids.index(step_id)
        return ids[i + 1] if i + 1 < len(ids) else None

    def successors(self, step_id: str) -> list[str]:
        step = self.step(step_id)
        out = [x for x in (step.on_event, step.yes) if x]
        after = self.following(step_id)
        return out + ([after] if after else [])

    def listens_for(self) -> set[str]:
        """The events this definition acts on: its trigger, its goal, its waits."""
        names = {s.event for s in self.steps if s.kind == "wait_event" and s.event}
        if self.trigger.kind == "event" and self.trigger.event:
            names.add(self.trigger.event)
        if self.goal is not None:
            names.add(self.goal.event)
        return names


def parse(raw: Any) -> Definition:
    try:
        return Definition.model_validate(raw)
    except ValidationError as exc:
        error = invalid_settings(exc)
        raise AccordError(
            f"The journey is not valid: {error.message}",
            code="invalid_journey",
            status=422,
            field=f"definition.{error.field}" if error.field != "body" else "definition",
            errors=error.errors,
        ) from None
