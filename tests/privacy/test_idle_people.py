"""Retention's walk over the people idle since a cutoff: oldest first, by the moment
they were last seen, page after page from a cursor; read along the index of the minute
they were last seen, whose bounds compare alike on both backends."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from sqlalchemy import insert
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.privacy.repository import RetentionRepository
from accord.profile.models import Profile


def _person(workspace_id: uuid.UUID, seen: datetime | None) -> dict[str, object]:
    return {
        "id": new_id(),
        "workspace_id": workspace_id,
        "contested": False,
        "traits": {},
        "stats": {},
        "last_seen_at": seen,
        "order_count": 0,
        "revenue": 0,
        "created_at": utcnow(),
    }


def test_idle_people_are_walked_oldest_first_to_the_moment(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ws = workspace.workspace.id
    minute = utcnow().replace(second=0, microsecond=0) - timedelta(days=2)
    cutoff = minute + timedelta(seconds=40)
    # Seconds from ``minute``: several within it, a tie, the minute before, one at the
    # cutoff's own minute but after it, and people seen since.
    offsets = [30, 0, 10, 10, 39.999, -0.5, -61, 40, 45, 3600]
    rows = [_person(ws, minute + timedelta(seconds=o)) for o in offsets]
    rows.append(_person(ws, None))  # never seen: not idle
    session.execute(insert(Profile), rows)
    seen_at = {r["id"]: r["last_seen_at"] for r in rows}
    expected = sorted(
        (i for i, at in seen_at.items() if at is not None and at < cutoff),  # type: ignore[operator]
        key=lambda i: (seen_at[i], i),
    )
    assert len(expected) == 7
    repo = RetentionRepository.from_session(session)
    for limit in (1, 2, 3, 7, 50):
        walked: list[uuid.UUID] = []
        cursor = None
        while True:
            page = repo.idle_people(ws, cutoff, cursor, limit)
            walked.extend(p for p, _ in page)
            if len(page) < limit:
                break
            cursor = (page[-1][1], page[-1][0])
        assert walked == expected, limit
