"""Who a request is about, found through the identity graph: the live person holding the
identifier, every profile merged into them (however long the chain), all their
identifiers, and every event that carries one of those identifiers, whoever it was
attributed to (and, for an identifier no person holds, the events that carry it).

Events are found through indexes only: by person, by primary identifier, through the
identity links of their identifiers (an event carrying one of them beside someone else's
identifier is attributed by that other identifier, and the two are linked), and among the
events still pending, failed or unattributed (each a partial index)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.collect.identifiers import InvalidIdentifier
from accord.collect.messages import ALIAS_PREVIOUS
from accord.govern.workspaces.service import get_workspace
from accord.kit.errors import invalid, not_found
from accord.privacy.repository import SubjectRepository

Pair = tuple[str, str]
STATUSES_WITHOUT_PERSON = ("pending", "failed")
UNATTRIBUTED = "unattributed"


@dataclass
class Subject:
    workspace_id: uuid.UUID
    requested: Pair
    live_id: uuid.UUID | None = None
    profile_ids: list[uuid.UUID] = field(default_factory=list)  # the live person first
    identifier_ids: list[uuid.UUID] = field(default_factory=list)
    pairs: set[Pair] = field(default_factory=set)  # every identifier, the requested one too
    event_ids: set[uuid.UUID] = field(default_factory=set)
    # Other people some of those events are attributed to (they carried the subject's
    # identifier beside theirs): recomputed once the events are gone.
    others: set[uuid.UUID] = field(default_factory=set)

    @property
    def found(self) -> bool:
        return bool(self.profile_ids or self.event_ids or self.identifier_ids)

    def values(self, type_name: str) -> list[str]:
        return sorted(v for t, v in self.pairs if t == type_name)


def normalize(session: Session, workspace_id: uuid.UUID, type_name: str, raw: str) -> Pair:
    """An identifier as a request gives it: any type, normalized as collection does (a
    malformed one is 422 naming the field)."""
    try:
        type_name = ids.check_type_name(type_name)
    except InvalidIdentifier as error:
        raise invalid(str(error), field="identifier_type") from None
    region = get_workspace(session, workspace_id).default_region
    try:
        return type_name, ids.normalize(type_name, raw, region=region)
    except InvalidIdentifier as error:
        raise invalid(str(error), field="identifier_value") from None


def carries(
    identifiers: list[list[str]], user_id: str | None, anon: str | None, s: Subject
) -> bool:
    """Whether an event's identifiers (or its sender's ids) name the subject."""
    senders = {v for t, v in s.pairs if t in (ids.USER_ID, ids.ANONYMOUS_ID)}
    for pair in identifiers:
        if len(pair) != 2:
            continue
        type_name, value = pair
        if (type_name, value) in s.pairs:
            return True
        if type_name == ALIAS_PREVIOUS and value in senders:
            return True
    return (user_id is not None and user_id.strip() in s.values(ids.USER_ID)) or (
        anon is not None and anon.strip() in s.values(ids.ANONYMOUS_ID)
    )


def find(session: Session, workspace_id: uuid.UUID, requested: Pair) -> Subject:
    """The subject of a request by ``requested`` (already normalized)."""
    repo = SubjectRepository.from_session(session)
    subject = Subject(workspace_id=workspace_id, requested=requested, pairs={requested})
    held = repo.identifier(workspace_id, *requested)
    if held is not None and held.profile_id is not None:
        live = repo.live_of(workspace_id, held.profile_id)
        if live is not None:
            subject.live_id = live
            subject.profile_ids = repo.merged_into(workspace_id, live)
    idents = repo.identifiers_of(subject.profile_ids) if subject.profile_ids else []
    if held is not None and all(i.id != held.id for i in idents):
        idents.append(held)  # blocked, or nobody's yet
    subject.identifier_ids = [i.id for i in idents]
    subject.pairs.update((i.type, i.value) for i in idents)
    subject.event_ids = _events(repo, subject, unheld=held is None or held.profile_id is None)
    return subject


def person_ids(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[uuid.UUID]:
    """The live person behind ``profile_id`` first, then every profile merged into them
    (404 for a profile of no person of this workspace)."""
    repo = SubjectRepository.from_session(session)
    live = repo.live_of(workspace_id, profile_id)
    if live is None:
        raise not_found("Profile", field="profile_id")
    return repo.merged_into(workspace_id, live)


def of_people(session: Session, workspace_id: uuid.UUID, live_ids: list[uuid.UUID]) -> Subject:
    """Several people at once as one subject (retention erases people known only by
    anonymous ids in batches): them, the profiles merged into them, their identifiers
    and events."""
    repo = SubjectRepository.from_session(session)
    people: list[uuid.UUID] = []
    for live in live_ids:
        people.extend(p for p in repo.merged_into(workspace_id, live) if p not in people)
    idents = repo.identifiers_of(people) if people else []
    subject = Subject(
        workspace_id=workspace_id,
        requested=("", ""),
        profile_ids=people,
        identifier_ids=[i.id for i in idents],
        pairs={(i.type, i.value) for i in idents},
    )
    subject.event_ids = _events(repo, subject, unheld=False)
    return subject


def _events(repo: SubjectRepository, s: Subject, *, unheld: bool) -> set[uuid.UUID]:
    found = repo.event_ids_of_people(s.profile_ids) if s.profile_ids else set()
    people = set(s.profile_ids)
    for event_id, person in repo.event_ids_by_primary(s.identifier_ids).items():
        found.add(event_id)
        if person is not None and person not in people:
            s.others.add(person)
    mine = set(s.identifier_ids)
    foreign: set[uuid.UUID] = set()
    linked_events: set[uuid.UUID] = set()
    for a, b, link_event in repo.links_touching(s.workspace_id, s.identifier_ids):
        foreign.update(x for x in (a, b) if x not in mine)
        if link_event is not None:
            linked_events.add(link_event)
    statuses = (*STATUSES_WITHOUT_PERSON, UNATTRIBUTED) if unheld else STATUSES_WITHOUT_PERSON
    values = sorted({v for _, v in s.pairs if v})
    for candidate, idents, user_id, anon, holder in repo.candidate_events(
        s.workspace_id,
        by_primary=sorted(foreign),
        by_id=sorted(linked_events - found),
        statuses=statuses,
        values=values,
    ):
        if candidate not in found and carries(idents, user_id, anon, s):
            found.add(candidate)
            if holder is not None and holder not in people:
                s.others.add(holder)
    return found
