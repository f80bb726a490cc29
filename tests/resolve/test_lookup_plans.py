"""Identifier look-ups by one value are an equality, which PostgreSQL matches against the
whole (workspace, type, value) index whatever its statistics: on a table that was never
analyzed, ``value = ANY(array)`` can be left to a filter over every identifier of the
type (the planner then takes the type's rows for few)."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from accord.collect.repository import EventRepository
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.dialect import insert_ignore
from accord.kit.ids import id_at, new_id
from accord.kit.time import utcnow
from accord.resolve.models import Identifier, IdentityLink
from accord.resolve.repository import IdentifierRepository, LinkRepository
from tests.helpers import leading_columns, plans_of, scans_of

ROWS = 20_000
EVENTS = 200_000


def _identifiers(session: Session, workspace: ProvisionedWorkspace) -> None:
    now = utcnow()
    rows = [
        {
            "id": new_id(),
            "workspace_id": workspace.workspace.id,
            "type": "email",
            "value": f"person-{i:06d}@example.com",
            "profile_id": None,
            "blocked": False,
            "source": "test",
            "first_event_id": None,
            "last_seen_at": now,
            "created_at": now,
        }
        for i in range(ROWS)
    ]
    insert_ignore(session, Identifier.__table__, rows, ["workspace_id", "type", "value"])


def _plans(session: Session, call: Any) -> list[dict[str, Any]]:
    return plans_of(session, call, lambda statement: "FROM identifiers" in statement)


def _scans(node: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for s in scans_of(node) if s.get("Relation Name") == "identifiers"]


def test_one_value_is_looked_up_by_the_whole_index_without_statistics(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _identifiers(session, workspace)
    analyzed = _analyzed(session)
    repo = IdentifierRepository.from_session(session)
    ws = workspace.workspace.id
    wanted = ("email", "person-000123@example.com")
    plans = _plans(session, lambda: repo.find(ws, [wanted]))
    plans += _plans(session, lambda: repo.find_rows(ws, [wanted]))
    assert len(plans) == 4  # each as planned for its value, and its generic plan
    for plan in plans:
        [scan] = _scans(plan)
        assert "value" in scan.get("Index Cond", ""), (analyzed, scan)
        assert "Filter" not in scan, (analyzed, scan)
    assert repo.find(ws, [wanted])[wanted].value == wanted[1]


def _linked(session: Session, workspace: ProvisionedWorkspace) -> list[uuid.UUID]:
    """Every tenth identifier linked to the next one, each with a profile of its own."""
    ws = workspace.workspace.id
    rows = session.execute(
        select(Identifier.id).where(Identifier.workspace_id == ws).order_by(Identifier.value)
    ).scalars()
    ids = list(rows)
    now = utcnow()
    links = [
        {"id": new_id(), "workspace_id": ws, "a_id": min(a, b), "b_id": max(a, b),
         "created_at": now, "event_id": None}
        for a, b in zip(ids[::10], ids[1::10], strict=False)
    ]  # fmt: skip
    session.execute(insert(IdentityLink), links)
    return ids


def _full_index_only(session: Session, plans: list[dict[str, Any]], analyzed: Any) -> None:
    """Every scan of a table reads an index by the values looked up, not only by the
    workspace and the type (a filter over every row that prefix selects): no sequential
    scan, and each index is sought by its leading columns up to one beyond them (a
    condition on a later column, after one left free, reads every entry of the
    workspace)."""
    scans = [s for plan in plans for s in scans_of(plan)]
    assert scans
    shown = "\n".join(
        f"{s['Node Type']} {s.get('Relation Name')} {s.get('Index Name')} "
        f"cond={s.get('Index Cond')} filter={s.get('Filter')}"
        for s in scans
    )
    for scan in scans:
        assert scan["Node Type"] != "Seq Scan", f"analyzed {analyzed}:\n{shown}"
        conditions = [scan.get("Index Cond", "")] + [
            child.get("Index Cond", "") for child in scan.get("Plans", [])
        ]
        condition = " ".join(conditions)
        assert re.search(r"\b(value|id|a_id|b_id)\b", condition), f"analyzed {analyzed}:\n{shown}"
        if "Index Name" in scan:
            sought = leading_columns(session, scan)
            assert {"value", "id", "a_id", "b_id"} & set(sought), (
                f"analyzed {analyzed}, {scan['Index Name']} sought by {sought}:\n{shown}"
            )


def test_the_resolvers_batch_look_ups_use_the_whole_index_in_every_plan(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    """Several values at once (a batch of events), as planned for its values and as the
    generic plan of a prepared statement: a filter over every identifier of the type
    (20,000 here, a million in a large workspace) is what each shape must avoid, and so
    is an index sought by the workspace alone, its condition on a later column."""
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _identifiers(session, workspace)
    ids = _linked(session, workspace)
    analyzed = _analyzed(session)
    repo = IdentifierRepository.from_session(session)
    ws = workspace.workspace.id
    pairs = [("email", f"person-{i:06d}@example.com") for i in (7, 123, 4567, 19_999)]
    pairs += [("phone", "+15550100"), ("phone", "+15550101")]
    for look_up in (
        lambda: repo.find(ws, pairs),
        lambda: repo.find_rows(ws, pairs),
        lambda: repo.links_among(ws, ids[:40]),
        lambda: repo.user_ids_linked_to_each(ws, ids[:40]),
        lambda: LinkRepository.from_session(session).neighbours(ws, ids[:40]),
    ):
        plans = plans_of(
            session,
            look_up,
            lambda s: "FROM identifiers" in s or "FROM identity_links" in s,
        )
        assert plans
        _full_index_only(session, plans, analyzed)
    found = repo.find(ws, pairs)
    assert sorted(found) == sorted(pairs[:4])
    assert len(repo.links_among(ws, ids[:40])) == 4
    assert len(LinkRepository.from_session(session).neighbours(ws, ids[:40])) == 8
    assert set(repo.user_ids_linked_to_each(ws, ids[:40]).values()) == {0}


def _analyzed(session: Session) -> Any:
    return session.execute(
        text(
            "SELECT coalesce(last_analyze, last_autoanalyze) FROM pg_stat_user_tables "
            "WHERE relname = 'identifiers'"
        )
    ).scalar()


def test_the_resolvers_pacing_counts_the_newest_events_along_the_key(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    """The count of events accepted in the last moments reads the newest entries of the
    primary key, never the table from its first page (where a table never analyzed was
    scanned for its newest rows, which are at its end)."""
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    # A table of a busy workspace (small ones are read whole, as they should be); ids in
    # the order of time, as the API makes them.
    session.execute(
        text(
            "INSERT INTO events (id, workspace_id, message_id, type, channel, source,"
            " identifiers, timestamp, received_at, status)"
            " SELECT (lpad(to_hex(i), 12, '0') || '7000' || '8000' || lpad(to_hex(i), 12, '0'))"
            "::uuid, :ws, 'm-' || i, 'page', 'web', 'test', '[]', now(), now(),"
            " CASE WHEN i % 3 = 0 THEN 'resolved' ELSE 'pending' END"
            " FROM generate_series(1, :n) AS i"
        ),
        {"ws": ws, "n": EVENTS},
    )
    analyzed = session.execute(
        text(
            "SELECT coalesce(last_analyze, last_autoanalyze), relpages, reltuples "
            "FROM pg_stat_user_tables s JOIN pg_class c ON s.relid = c.oid "
            "WHERE c.relname = 'events'"
        )
    ).one()
    events = EventRepository.from_session(session)
    moment = id_at(time.time() - 1)
    # The newest entries of the primary key, read backwards (no condition to match).
    for plan in plans_of(session, lambda: events.made_since(moment, cap=1001), _from_events):
        [scan] = [s for s in scans_of(plan) if s.get("Relation Name") == "events"]
        assert scan["Node Type"] in ("Index Scan", "Index Only Scan"), (analyzed, scan)
        assert (scan["Index Name"], scan["Scan Direction"]) == ("pk_events", "Backward")
    assert events.made_since(id_at(0), cap=1001) == 1001
    assert events.made_since(id_at(time.time() + 1), cap=1001) == 0


def _from_events(statement: str) -> bool:
    return "FROM events" in statement
