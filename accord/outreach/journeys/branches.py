"""What a batch's branches ask, each condition asked once for everyone in the batch
(one statement per condition, not one per person): did they do the event since they
entered, did they open or click the message of an earlier step, are they in a segment.
A trait is read from the person already loaded."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from accord.outreach.journeys.definition import Condition
from accord.outreach.journeys.repository import JourneyRepository
from accord.outreach.templates import value_of


class Entered(Protocol):
    """What is read of an entry (a row of the batch, or a new entry)."""

    @property
    def id(self) -> uuid.UUID: ...
    @property
    def profile_id(self) -> uuid.UUID: ...
    @property
    def entered_at(self) -> datetime: ...


class Answers:
    def __init__(
        self, repo: JourneyRepository, workspace_id: uuid.UUID, entries: Sequence[Entered]
    ) -> None:
        self.repo = repo
        self.workspace_id = workspace_id
        self.entries = entries
        self._events: dict[str, dict[uuid.UUID, datetime]] = {}
        self._engaged: dict[str, dict[str, tuple[bool, bool]]] = {}
        self._members: dict[uuid.UUID, set[uuid.UUID]] = {}

    def holds(
        self, cond: Condition, entry: Entered, person_id: uuid.UUID, traits: dict[str, Any]
    ) -> bool:
        if cond.kind == "event" and cond.event:
            latest = self._latest(cond.event).get(person_id)
            return latest is not None and latest >= entry.entered_at
        if cond.kind in ("opened", "clicked") and cond.step:
            got = self._engagement(cond.step).get(f"journey:{entry.id}:{cond.step}")
            if got is None:
                return False
            return got[0] if cond.kind == "opened" else got[1]
        if cond.kind == "segment" and cond.segment_id:
            return person_id in self._segment(cond.segment_id)
        if cond.kind == "trait" and cond.field:
            return bool(value_of((traits or {}).get(cond.field)) == cond.value)
        return False

    def _latest(self, event: str) -> dict[uuid.UUID, datetime]:
        found = self._events.get(event)
        if found is None:
            since = min(e.entered_at for e in self.entries)
            people = {e.profile_id for e in self.entries}
            found = self.repo.latest_events(self.workspace_id, people, event, since)
            self._events[event] = found
        return found

    def _engagement(self, step: str) -> dict[str, tuple[bool, bool]]:
        found = self._engaged.get(step)
        if found is None:
            keys = [f"journey:{e.id}:{step}" for e in self.entries]
            found = self._engaged[step] = self.repo.engagement(keys)
        return found

    def _segment(self, segment_id: uuid.UUID) -> set[uuid.UUID]:
        found = self._members.get(segment_id)
        if found is None:
            people = {e.profile_id for e in self.entries}
            found = self._members[segment_id] = self.repo.members(segment_id, people)
        return found
