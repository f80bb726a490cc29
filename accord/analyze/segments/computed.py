"""Computed traits: a value computed from a person's events (count, sum, min, max,
average, first, last or most frequent of a property, over a window or ever). Nothing
is stored per person: the value is computed where it is used (segments, the 360,
exports), so it is never stale."""

from __future__ import annotations

import uuid

from pydantic import ValidationError
from sqlalchemy.orm import Session

from accord.analyze.segments import rules
from accord.analyze.segments.models import ComputedTrait
from accord.analyze.segments.repository import ComputedTraitRepository, SegmentRepository
from accord.analyze.segments.schemas import ComputedTraitIn
from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.kit.errors import conflict, invalid, not_found


def all(session: Session, workspace_id: uuid.UUID) -> list[ComputedTrait]:
    return ComputedTraitRepository.from_session(session).all(workspace_id)


def create(
    session: Session, workspace_id: uuid.UUID, body: ComputedTraitIn, actor: Principal
) -> ComputedTrait:
    repo = ComputedTraitRepository.from_session(session)
    if repo.get(workspace_id, body.key) is not None:
        raise conflict(
            f"A computed trait {body.key!r} exists", field="key", code="computed_trait_exists"
        )
    if body.aggregate != "count" and not body.property:
        raise invalid(
            f"'{body.aggregate}' needs the property it is computed from", field="property"
        )
    try:
        match = rules.EventMatch(name=body.event, where=body.where)
    except ValidationError as error:
        raise invalid(f"where: {error.errors()[0].get('msg')}", field="where") from error
    row = repo.add(
        ComputedTrait(
            workspace_id=workspace_id,
            key=body.key,
            name=body.name,
            event=body.event,
            where=[w.model_dump(mode="json") for w in match.where],
            aggregate=body.aggregate,
            property=body.property if body.aggregate != "count" else None,
            window_seconds=int(body.window_days * 86400) if body.window_days else None,
        )
    )
    audit.record(session, actor, "computed_trait.create", target=body.key, data={})
    return row


def delete(session: Session, workspace_id: uuid.UUID, key: str, actor: Principal) -> None:
    repo = ComputedTraitRepository.from_session(session)
    row = repo.get(workspace_id, key)
    if row is None:
        raise not_found("Computed trait", field="key")
    users = [
        s.name
        for s in SegmentRepository.from_session(session).all(workspace_id, archived=True)
        if any(
            isinstance(x, rules.ComputedCondition) and x.key == key
            for x in rules.leaves(rules.parse(s.definition))
        )
    ]
    if users:
        raise conflict(
            f"Segments use it: {', '.join(users)}", field="key", code="computed_trait_in_use"
        )
    session.delete(row)
    session.flush()
    audit.record(session, actor, "computed_trait.delete", target=key, data={})
