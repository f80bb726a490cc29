"""What a user may change from the customer's page or the profiles API: undoing a merge.
The rules of splitting are resolution's; this decides which merge a person may undo: one
that joined another whole profile into this person, not yet undone. A reassignment (some
identifiers moved between two people who both go on, as a split moves them back) absorbed
nobody and is not a merge to undo."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.kit.errors import invalid
from accord.profile.models import Profile
from accord.profile.queries import live_profile
from accord.profile.repository import ProfileRepository
from accord.resolve import splits
from accord.resolve.models import Merge
from accord.resolve.repository import MergeRepository

REASSIGNMENT = "conflict_reassignment"


def merges_of(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[Merge]:
    """The merges a person took part in, newest first."""
    return MergeRepository.from_session(session).for_profile(workspace_id, profile_id)


def undoable(merge: Merge, profile_id: uuid.UUID) -> bool:
    """Whether this person may undo ``merge``: they survived it, it joined a whole profile
    into them (not a reassignment of identifiers), and it was not undone yet."""
    return (
        merge.undone_at is None and merge.survivor_id == profile_id and merge.rule != REASSIGNMENT
    )


@dataclass
class MergeEntry:
    """One line of a person's merge history: the merge, the other profile in it (as
    recorded: one absorbed is kept, pointing at its survivor), which side this person was
    on, and whether they may undo it."""

    merge: Merge
    other: Profile | None
    survived: bool
    reassignment: bool
    can_undo: bool

    @property
    def other_live(self) -> bool:
        """Whether the other profile is a person of their own (a page to open)."""
        return self.other is not None and self.other.merged_into_id is None


def history(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[MergeEntry]:
    """The person's merge history, newest first, with the other profile of each merge."""
    merges = merges_of(session, workspace_id, profile_id)
    others = {m.absorbed_id if m.survivor_id == profile_id else m.survivor_id for m in merges}
    profiles = ProfileRepository.from_session(session).by_ids(list(others))
    out = []
    for m in merges:
        survived = m.survivor_id == profile_id
        other = profiles.get(m.absorbed_id if survived else m.survivor_id)
        out.append(
            MergeEntry(
                merge=m,
                other=other if other is not None and other.workspace_id == workspace_id else None,
                survived=survived,
                reassignment=m.rule == REASSIGNMENT,
                can_undo=undoable(m, profile_id),
            )
        )
    return out


def undo_merge(
    session: Session,
    actor: Principal,
    profile_id: uuid.UUID,
    merge_id: uuid.UUID | None = None,
) -> Merge:
    """Split a merge this person survived: ``merge_id``, or their most recent one. A merge
    that is not theirs to undo (another person's, a reassignment, or already undone) is
    refused with 422 ``no_merge``."""
    workspace_id = actor.workspace_id
    profile = live_profile(session, workspace_id, profile_id)
    mine = [m for m in merges_of(session, workspace_id, profile.id) if undoable(m, profile.id)]
    chosen = merge_id or (mine[0].id if mine else None)
    if chosen is None or chosen not in {m.id for m in mine}:
        raise invalid("This profile has no such merge to undo", field="merge_id", code="no_merge")
    merge = splits.split(session, workspace_id, chosen, actor=actor.label)
    audit.record(
        session,
        actor,
        "profile.merge.undo",
        target=str(profile.id),
        data={"merge_id": str(merge.id), "absorbed_id": str(merge.absorbed_id)},
    )
    return merge
