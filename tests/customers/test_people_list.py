"""The people list: the latest seen first, then those never seen, page by page; and on
PostgreSQL a page is read along the index of the minute people were last seen and their
id, sorting nothing, not by sorting every person of the workspace, with or without
statistics; a search that few people match is read from the trigram indexes of names,
emails and phones, one that many match along the list's index."""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import insert, text, update
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.ids import new_id
from accord.kit.planning import in_index_order, never_analyzed, planner
from accord.kit.time import utcnow
from accord.profile import repository as profile_repository
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository
from tests.helpers import (
    count_queries,
    never_then_analyzed,
    nodes_of,
    plans_of,
    scans_of,
    sent_with_values,
)


def _people(
    session: Session, workspace: ProvisionedWorkspace, seen: list[Any]
) -> dict[uuid.UUID, datetime | None]:
    """One live person per entry, last seen that many minutes ago (None: never), and one
    merged person seen just now (never listed); each live one's last seen."""
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
    return {r["id"]: r["last_seen_at"] for r in rows[:-1]}


def _listed_order(seen: dict[uuid.UUID, datetime | None]) -> list[uuid.UUID]:
    """The order the list promises: the latest seen minute first, the newest person (the
    greatest id) first within a minute; then the never seen by id."""

    def key(person: uuid.UUID) -> tuple[datetime, uuid.UUID]:
        at = seen[person]
        assert at is not None
        return (at.replace(second=0, microsecond=0), person)

    listed = sorted((p for p, at in seen.items() if at is not None), key=key, reverse=True)
    return listed + sorted(p for p, at in seen.items() if at is None)


def _walk(session: Session, workspace: ProvisionedWorkspace, size: int, limit: int) -> list[Any]:
    repo = ProfileRepository.from_session(session)
    out: list[Any] = []
    for offset in range(0, size + limit, limit):
        out.extend(
            p.id for p in repo.search(workspace.workspace.id, None, limit=limit, offset=offset)
        )
    return out


def test_pages_follow_the_latest_seen_then_the_never_seen(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    seen = _people(session, workspace, [5, None, 1, 30, None, 1, 2, None, 60])
    expected = _listed_order(seen)
    for limit in (1, 2, 3, 4, 6, 9, 20):
        assert _walk(session, workspace, len(seen), limit) == expected, limit
    # A page that starts among the never seen, and one past everyone.
    repo = ProfileRepository.from_session(session)
    ws = workspace.workspace.id
    assert [p.id for p in repo.search(ws, None, limit=2, offset=7)] == expected[7:9]
    assert repo.search(ws, None, limit=5, offset=9) == []


def test_people_seen_within_one_minute_are_listed_newest_person_first(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    """The list is to the minute, as the console shows it: within a minute the newest
    person comes first, whatever the seconds; an earlier minute comes after."""
    minute = utcnow().replace(second=0, microsecond=0) - timedelta(hours=1)
    offsets = [50, 10, 30, 59.999999, -0.000001, 10, 0, 60]  # seconds past the minute
    seen = _people(session, workspace, [1] * len(offsets))
    for person, offset in zip(seen, offsets, strict=True):
        seen[person] = minute + timedelta(seconds=offset)
        session.execute(
            update(Profile).where(Profile.id == person).values(last_seen_at=seen[person])
        )
    expected = _listed_order(seen)
    # One of the next minute first, one of the minute before last; six between.
    assert seen[expected[0]] == minute + timedelta(seconds=60)
    assert seen[expected[-1]] == minute - timedelta(microseconds=1)
    for limit in (1, 3, 8):
        assert _walk(session, workspace, len(seen), limit) == expected, limit


def test_a_workspace_of_people_never_seen_is_listed_by_id(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    ids = sorted(_people(session, workspace, [None, None, None]))
    repo = ProfileRepository.from_session(session)
    ws = workspace.workspace.id
    assert [p.id for p in repo.search(ws, None, limit=2, offset=0)] == ids[:2]
    assert [p.id for p in repo.search(ws, None, limit=2, offset=2)] == ids[2:]


def test_a_page_of_a_large_workspace_is_read_along_the_index(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    # 20,000 people seen a second apart, and 20,000 more all seen in one minute (an
    # import): neither is sorted.
    session.execute(
        text(
            "INSERT INTO profiles (id, workspace_id, contested, traits, stats, last_seen_at,"
            " order_count, revenue, created_at)"
            " SELECT gen_random_uuid(), :ws, false, '{}', '{}',"
            " CASE WHEN i % 2 = 0 THEN now() - make_interval(secs => i)"
            " ELSE date_trunc('minute', now()) + make_interval(secs => i / 1000.0) END,"
            " 0, 0, now()"
            " FROM generate_series(1, 40000) AS i"
        ),
        {"ws": ws},
    )
    repo = ProfileRepository.from_session(session)
    # Never analyzed (a fresh import), then with statistics as autovacuum leaves them.
    for analyzed in never_then_analyzed(session, "profiles"):
        for offset in (0, 100, 30_000):
            with sent_with_values(session.get_bind()) as sent:
                repo.search(ws, None, limit=50, offset=offset)
            # The page is read with sorting disabled, and the setting restored after: the
            # plans are read the same way.
            (first, set_to), (last, put_back) = sent[0], sent[-1]
            assert "set_config(" in first
            assert "set_config(" in last
            assert sorted(set_to.values()) == ["enable_sort", "off"], set_to
            assert "enable_sort" in put_back.values()
            assert "off" not in put_back.values()
            assert all("FROM profiles" in statement for statement, _ in sent[1:-1]), sent
            with in_index_order(session):
                plans = plans_of(
                    session,
                    lambda offset=offset: repo.search(ws, None, limit=50, offset=offset),  # type: ignore[misc]
                    lambda statement: "FROM profiles" in statement,
                )
            assert plans
            for plan in plans:
                scans = [s for s in scans_of(plan) if s.get("Relation Name") == "profiles"]
                assert [s["Node Type"] for s in scans] == ["Index Scan"], (analyzed, scans)
                assert scans[0]["Index Name"] == "ix_profiles_workspace_id_seen_minute_id"
                assert scans[0]["Scan Direction"] == "Backward"
                sorts = [n["Node Type"] for n in nodes_of(plan) if "Sort" in n["Node Type"]]
                assert sorts == [], (analyzed, sorts)
            page = repo.search(ws, None, limit=50, offset=offset)
            assert len(page) == 50
            keys = [(p.last_seen_at.replace(second=0, microsecond=0), p.id) for p in page]  # type: ignore[union-attr]
            assert keys == sorted(keys, reverse=True)
    # Sorting is disabled for the list's statements alone: the transaction's setting
    # is as it was after.
    assert session.scalar(text("SHOW enable_sort")) == "on"


FIRSTS = ["maria", "james", "ana", "kenji", "fatima"]  # each a fifth of the people
# Person 12345: "maria q827ccb0e", maria.q827ccb0e@example.com, +15550012345.
NAME = "maria q" + hashlib.md5(b"12345").hexdigest()[:8]  # noqa: S324 (test data)
# What finds them: a second word, an email's start, a phone's digits.
FEW_MATCH = ("q827ccb", "maria.q827ccb", "1 555 001 2345")


def _named_people(session: Session, ws: uuid.UUID) -> None:
    """40,000 people named from ``FIRSTS`` and a second word of their own, with emails
    and phones from them, seen over the last eleven hours."""
    session.execute(
        text(
            "INSERT INTO profiles (id, workspace_id, contested, traits, stats, display_name,"
            " search_name, email, phone, last_seen_at, order_count, revenue, created_at)"
            " SELECT gen_random_uuid(), :ws, false, '{}', '{}', n, n,"
            " replace(n, ' ', '.') || '@example.com', '+1555' || lpad(i::text, 7, '0'),"
            " now() - make_interval(secs => (i * 7919) % 40000), 0, 0, now()"
            " FROM (SELECT i, (CAST(:firsts AS text[]))[1 + i % 5]"
            " || ' q' || substr(md5(i::text), 1, 8) AS n"
            " FROM generate_series(1, 40000) AS i) AS s"
        ),
        {"ws": ws, "firsts": FIRSTS},
    )


def test_a_search_few_people_match_finds_them_by_their_trigrams(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    """A search that matches few of many people reads them from the trigram indexes of
    names, emails and phones, not by walking every person along the list's order; one
    that matches many still walks the list's index. Either way the people found are
    those the rules match, in the list's order."""
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    _named_people(session, ws)
    session.execute(text("ANALYZE profiles"))
    repo = ProfileRepository.from_session(session)
    # At 40,000 people reading the table through is cheaper still (at a million, the
    # planner takes the trigram indexes of its own accord: docs/performance.md); with it
    # ruled out, the plan shows that every condition of the search is one they serve.
    session.execute(text("SET LOCAL enable_seqscan = off"))
    for q in FEW_MATCH:
        plans = plans_of(
            session,
            lambda q=q: repo.search(ws, q, limit=50, offset=0),  # type: ignore[misc]
            lambda statement: "FROM profiles" in statement,
        )
        scans = scans_of(plans[0])
        used = {s.get("Index Name") for s in scans}
        # Found by an index of what is searched (a trigram one; a phone's prefix may also
        # be sought in its plain index), not by walking everyone in the list's order.
        assert "ix_profiles_workspace_id_seen_minute_id" not in used, (q, used)
        assert any(str(index).endswith("_trgm") for index in used) or q[0].isdigit(), (q, used)
        assert {s["Node Type"] for s in scans} <= {"Bitmap Heap Scan", "Bitmap Index Scan"}
        assert [p.search_name for p in repo.search(ws, q, limit=50, offset=0)] == [NAME], q
    # Many match: the list's own index, sorting nothing.
    plans = plans_of(
        session,
        lambda: repo.search(ws, "maria", limit=50, offset=0),
        lambda statement: "FROM profiles" in statement,
    )
    scans = [s for s in scans_of(plans[0]) if s.get("Relation Name") == "profiles"]
    assert [s.get("Index Name") for s in scans] == ["ix_profiles_workspace_id_seen_minute_id"]
    page = repo.search(ws, "maria", limit=50, offset=0)
    assert len(page) == 50
    assert all(p.search_name.startswith("maria ") for p in page)  # type: ignore[union-attr]


def test_never_analyzed_tells_a_table_without_statistics(backend: str, session: Session) -> None:
    if backend != "postgresql":
        assert not never_analyzed(session, "profiles")
        return
    session.execute(text("CREATE TEMP TABLE fresh (n int) ON COMMIT DROP"))
    session.execute(text("INSERT INTO fresh SELECT generate_series(1, 100)"))
    assert never_analyzed(session, "fresh")
    session.execute(text("ANALYZE fresh"))
    assert not never_analyzed(session, "fresh")


def test_a_search_without_statistics_asks_the_trigram_indexes_first(
    backend: str, session: Session, workspace: ProvisionedWorkspace, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a table never analyzed the planner guesses that a workspace holds few people
    and reads them all (280 ms at a million people). The trigram indexes are then asked
    first, alone: few found are the page's candidates, read by their ids; many, and the
    list's index is walked, sorting nothing. The people found and their order are those
    of the search with statistics."""
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    _named_people(session, ws)
    repo = ProfileRepository.from_session(session)
    expected = {q: [p.id for p in repo.search(ws, q, limit=50, offset=0)] for q in FEW_MATCH}
    expected["maria"] = [p.id for p in repo.search(ws, "maria", limit=50, offset=50)]
    # Other tests of this database may have analyzed the table: it is taken as it would
    # be after an import.
    monkeypatch.setattr(profile_repository, "never_analyzed", lambda *_: True)
    for q in FEW_MATCH:
        with count_queries(session.get_bind()) as sent:
            found = repo.search(ws, q, limit=50, offset=0)
        assert [p.id for p in found] == expected[q], q
        asked = [s for s in sent if "FROM (SELECT profiles.id" in s]
        assert len(asked) == 1, sent
        # Planned as it ran: with the table read through and index walks ruled out.
        with planner(session, enable_seqscan="off", enable_indexscan="off"):
            plans = plans_of(
                session,
                lambda q=q: repo.search(ws, q, limit=50, offset=0),  # type: ignore[misc]
                lambda statement: "FROM (SELECT profiles.id" in statement,
            )
        assert plans
        for plan in plans:
            scans = scans_of(plan)
            indexes = {s.get("Index Name") for s in scans if "Index Name" in s}
            assert indexes, (q, scans)
            assert all(str(i).endswith("_trgm") for i in indexes), (q, indexes)
            assert {s["Node Type"] for s in scans} <= {"Bitmap Heap Scan", "Bitmap Index Scan"}
    # Many match: the list's index walked, the second page as with statistics.
    with in_index_order(session):
        page = repo.search(ws, "maria", limit=50, offset=50)
    assert [p.id for p in page] == expected["maria"]
    assert session.scalar(text("SHOW enable_seqscan")) == "on"
