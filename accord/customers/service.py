"""What a user may change from the customer's page or the profiles API: undoing a merge.
The rules of splitting are resolution's; this decides which merge a person may undo."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.kit.errors import invalid
from accord.profile.queries import live_profile
from accord.resolve import service as resolve
from accord.resolve.models import Merge
from accord.resolve.repository import MergeRepository


def merges_of(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[Merge]:
    """The merges a person took part in, newest first."""
    return MergeRepository.from_session(session).for_profile(workspace_id, profile_id)


def undo_merge(
    session: Session,
    actor: Principal,
    profile_id: uuid.UUID,
    merge_id: uuid.UUID | None = None,
) -> Merge:
    """Split a merge this person survived: ``merge_id``, or their most recent one. A merge
    that is not theirs to undo (another person's, or already undone) is refused with 422
    ``no_merge``."""
    workspace_id = actor.workspace_id
    profile = live_profile(session, workspace_id, profile_id)
    undoable = [
        m
        for m in merges_of(session, workspace_id, profile.id)
        if m.undone_at is None and m.survivor_id == profile.id
    ]
    chosen = merge_id or (undoable[0].id if undoable else None)
    if chosen is None or chosen not in {m.id for m in undoable}:
        raise invalid("This profile has no such merge to undo", field="merge_id", code="no_merge")
    merge = resolve.split(session, workspace_id, chosen, actor=actor.label)
    audit.record(
        session,
        actor,
        "profile.merge.undo",
        target=str(profile.id),
        data={"merge_id": str(merge.id), "absorbed_id": str(merge.absorbed_id)},
    )
    return merge
