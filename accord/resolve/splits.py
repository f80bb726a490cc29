"""Undoing a merge by hand: the absorbed side's identifiers, events and orders go back to
their own person, through the same repartition resolution uses, and the two sides are
kept apart from then on (a separation), with the consent each side had."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.govern.consent import service as consent
from accord.kit.dialect import lock_workspace
from accord.kit.errors import conflict, not_found
from accord.kit.time import utcnow
from accord.resolve.consent import live_of
from accord.resolve.context import WorkspaceContext
from accord.resolve.models import Merge
from accord.resolve.repository import IdentifierRepository, MergeRepository, SeparationRepository
from accord.resolve.service import repartition


def split(session: Session, workspace_id: uuid.UUID, merge_id: uuid.UUID, actor: str) -> Merge:
    """Undo a merge: the absorbed side's identifiers, events and orders return to their own
    profile, both golden records are recomputed, and the two are kept apart from now on."""
    lock_workspace(session, workspace_id, "resolve")
    merges = MergeRepository.from_session(session)
    merge = merges.get(workspace_id, merge_id)
    if merge is None:
        raise not_found("Merge", field="merge_id")
    if merge.undone_at is not None:
        raise conflict("This merge was already split", field="merge_id", code="already_split")
    ctx = WorkspaceContext.load(session, workspace_id)
    idents = IdentifierRepository.from_session(session)
    survivor_side = [uuid.UUID(s) for s in merge.survivor_identifiers]
    absorbed_side = [uuid.UUID(s) for s in merge.absorbed_identifiers]
    rows = idents.by_ids(survivor_side + absorbed_side)
    SeparationRepository.from_session(session).add(
        workspace_id,
        merge.id,
        [i for i in survivor_side if i in rows],
        [i for i in absorbed_side if i in rows],
        reason=f"split by {actor}",
    )
    hints = {i: merge.absorbed_id for i in absorbed_side if i in rows}
    hints.update({i: merge.survivor_id for i in survivor_side if i in rows})
    repartition(session, ctx, rows.values(), hints=hints, actor=actor)
    consent.on_split(
        session,
        workspace_id,
        merge.id,
        merge.survivor_id,
        merge.absorbed_id,
        lambda origins: live_of(session, origins),
    )
    merge.undone_at = utcnow()
    merge.undone_by = actor
    session.flush()
    return merge
