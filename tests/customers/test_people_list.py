"""The people list: the latest seen first, then those never seen, page by page; and on
PostgreSQL a page is read along the index of the minute people were last seen, sorting
only within those minutes, not every person of the workspace."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository
from tests.helpers import plans_of, scans_of


def _people(session: Session, workspace: ProvisionedWorkspace, seen: list[Any]) -> list[uuid.UUID]:
    """One live person per entry, last seen that many minutes ago (None: never), and one
    merged person seen just now (never listed)."""
    now = utcnow()
    rows = []
    for minutes in [*seen, 0]:
        rows.append(
            {
                "id": new_id(),
                "workspace_id": workspace.workspace.id,
                "merged_into_id": None,
                "contested": False,
                "traits": {},
                "stats": {},
                "last_seen_at": None if minutes is None else now - timedelta(minutes=minutes),
                "order_count": 0,
                "revenue": 0,
                "created_at": now,
            }
        )
    rows[-1]["merged_into_id"] = rows[0]["id"]
    session.execute(insert(Profile), rows)
    return [r["id"] for r in rows[:-1]]


def test_pages_follow_the_latest_seen_then_the_never_seen(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    seen = [5, None, 1, 30, None, 1, 2, None, 60]
    ids = _people(session, workspace, seen)
    minutes = dict(zip(ids, seen, strict=True))
    expected = sorted((i for i in ids if minutes[i] is not None), key=lambda i: (minutes[i], i))
    expected += sorted(i for i in ids if minutes[i] is None)
    repo = ProfileRepository.from_session(session)
    ws = workspace.workspace.id
    for limit in (1, 2, 3, 4, 6, 9, 20):
        pages = []
        for offset in range(0, len(ids) + limit, limit):
            pages.extend(p.id for p in repo.search(ws, None, limit=limit, offset=offset))
        assert pages == expected, limit
    # A page that starts among the never seen, and one past everyone.
    assert [p.id for p in repo.search(ws, None, limit=2, offset=7)] == expected[7:9]
    assert repo.search(ws, None, limit=5, offset=9) == []


def test_people_seen_within_one_minute_are_listed_to_the_microsecond(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    """The index holds the minute; the order within it is the moment's, then the id."""
    minute = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    offsets = [50, 10, 30, 59.999999, -0.000001, 10, 0, 60]  # seconds past the minute
    ids = _people(session, workspace, [1] * len(offsets))
    at = {i: minute + timedelta(seconds=o) for i, o in zip(ids, offsets, strict=True)}
    for person, moment in at.items():
        session.execute(update(Profile).where(Profile.id == person).values(last_seen_at=moment))
    expected = sorted(ids, key=lambda i: (-at[i].timestamp(), i))
    repo = ProfileRepository.from_session(session)
    ws = workspace.workspace.id
    for limit in (1, 3, 8):
        pages = []
        for offset in range(0, len(ids), limit):
            pages.extend(p.id for p in repo.search(ws, None, limit=limit, offset=offset))
        assert pages == expected, limit


def test_a_workspace_of_people_never_seen_is_listed_by_id(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ids = sorted(_people(session, workspace, [None, None, None]))
    repo = ProfileRepository.from_session(session)
    ws = workspace.workspace.id
    assert [p.id for p in repo.search(ws, None, limit=2, offset=0)] == ids[:2]
    assert [p.id for p in repo.search(ws, None, limit=2, offset=2)] == ids[2:]


def _nodes(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def test_a_page_of_a_large_workspace_is_read_along_the_index(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    session.execute(
        text(
            "INSERT INTO profiles (id, workspace_id, contested, traits, stats, last_seen_at,"
            " order_count, revenue, created_at)"
            " SELECT gen_random_uuid(), :ws, false, '{}', '{}',"
            " now() - make_interval(secs => i), 0, 0, now()"
            " FROM generate_series(1, 20000) AS i"
        ),
        {"ws": ws},
    )
    session.execute(text("ANALYZE profiles"))
    repo = ProfileRepository.from_session(session)
    plans = plans_of(
        session,
        lambda: repo.search(ws, None, limit=50, offset=100),
        lambda statement: "FROM profiles" in statement,
    )
    assert plans
    for plan in plans:
        scans = [s for s in scans_of(plan) if s.get("Relation Name") == "profiles"]
        assert [s["Node Type"] for s in scans] == ["Index Scan"], scans
        assert scans[0]["Index Name"] == "ix_profiles_workspace_id_seen_minute"
        assert scans[0]["Scan Direction"] == "Backward"
        # The index gives the minutes in order: only each minute's people are sorted.
        sorts = [n["Node Type"] for n in _nodes(plan) if "Sort" in n["Node Type"]]
        assert sorts == ["Incremental Sort"], sorts
    page = repo.search(ws, None, limit=50, offset=100)
    assert len(page) == 50
    assert [p.last_seen_at for p in page] == sorted((p.last_seen_at for p in page), reverse=True)
