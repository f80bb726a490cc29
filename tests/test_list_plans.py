"""Lists a console page shows newest first, on PostgreSQL: a page is read along the index
of its order and sorts nothing, on a table never analyzed (a fresh import, before
autovacuum) and with statistics alike (``in_index_order``); before, a page of 50 could
read and sort every row of the workspace. The pages follow the order to the row where
moments tie, and a page after a cursor starts where the last one ended."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from accord.govern.audit.repository import AuditRepository
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.planning import in_index_order
from accord.social.repository import MentionRepository
from tests.helpers import never_then_analyzed, nodes_of, plans_of, scans_of

ROWS = 30_000

# Each row's moment: a minute apart, but every tenth shares its moment with the one two
# before (both even, both of one filter below), so that the id decides between them.
MOMENT = "now() - make_interval(mins => i - (CASE WHEN i % 10 = 0 THEN 2 ELSE 0 END))"


def _mentions(session: Session, workspace_id: uuid.UUID) -> None:
    session.execute(
        text(
            "INSERT INTO social_mentions (id, workspace_id, network, external_id, text,"  # noqa: S608
            " fingerprint, posted_at, received_at, author_handle, likes, reposts, replies,"
            " reply_ref, about, matched, sentiment, sentiment_score, intents, influence,"
            " decision, reason, priority, decided_at, state)"
            f" SELECT gen_random_uuid(), :ws, 'mastodon', 'm' || i, 'text', md5(i::text), {MOMENT},"
            " now(), 'h' || (i % 500), 0, 0, 0, '{}',"
            " CASE WHEN i % 2 = 0 THEN 'brand' ELSE 'product' END, '[]',"
            " CASE WHEN i % 3 = 0 THEN 'negative' ELSE 'neutral' END, 0, '[]', 0,"
            " CASE WHEN i % 4 = 0 THEN 'respond' ELSE 'ignore' END, 'r', 'normal', now(), 'new'"
            " FROM generate_series(1, :n) AS i"
        ),
        {"ws": workspace_id, "n": ROWS},
    )


def _audit(session: Session, workspace_id: uuid.UUID) -> None:
    session.execute(
        text(
            "INSERT INTO audit_events (id, workspace_id, actor, action, target, data, created_at)"  # noqa: S608
            f" SELECT gen_random_uuid(), :ws, 'cli', 'key.created', 't' || i, '{{}}', {MOMENT}"
            " FROM generate_series(1, :n) AS i"
        ),
        {"ws": workspace_id, "n": ROWS},
    )


def _read_along(
    session: Session, call: Callable[[], Any], table: str, index: str, analyzed: bool
) -> None:
    # The page's statements are planned with sorting disabled (``in_index_order``):
    # their plans are read the same way.
    with in_index_order(session):
        plans = plans_of(session, call, lambda statement: f"FROM {table}" in statement)
    assert plans
    for plan in plans:
        scans = [s for s in scans_of(plan) if s.get("Relation Name") == table]
        assert [(s["Node Type"], s.get("Index Name")) for s in scans] == [("Index Scan", index)], (
            analyzed,
            scans,
        )
        assert scans[0]["Scan Direction"] == "Backward"
        sorts = [n["Node Type"] for n in nodes_of(plan) if "Sort" in n["Node Type"]]
        assert sorts == [], (analyzed, sorts)


def test_mentions_are_listed_along_their_index(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    _mentions(session, ws)
    repo = MentionRepository.from_session(session)
    filters: list[dict[str, str]] = [{}, {"about": "brand"}, {"decision": "respond"}]
    for analyzed in never_then_analyzed(session, "social_mentions"):
        for given in filters:
            _read_along(
                session,
                lambda given=given: repo.listing(ws, limit=50, **given),  # type: ignore[misc]
                "social_mentions",
                "ix_social_mentions_workspace_id_posted_at_id",
                analyzed,
            )
    # Page by page after a cursor: the whole order, ties broken by the id.
    seen: list[tuple[Any, uuid.UUID]] = []
    before = None
    for _ in range(4):
        page = repo.listing(ws, about="brand", limit=50, before=before)
        seen.extend((m.posted_at, m.id) for m in page)
        before = (page[-1].posted_at, page[-1].id)
    assert seen == sorted(seen, reverse=True)
    assert len(set(seen)) == 200
    ties = [a for a, b in itertools.pairwise(seen) if a[0] == b[0]]
    assert ties, "the data holds mentions of one moment"
    expected = session.execute(
        text(
            "SELECT posted_at, id FROM social_mentions WHERE workspace_id = :ws"
            " AND about = 'brand' ORDER BY posted_at DESC, id DESC LIMIT 200"
        ),
        {"ws": ws},
    ).all()
    assert seen == [tuple(r) for r in expected]


def test_the_audit_log_is_listed_along_its_index(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    ws = workspace.workspace.id
    _audit(session, ws)
    repo = AuditRepository.from_session(session)
    for analyzed in never_then_analyzed(session, "audit_events"):
        _read_along(
            session,
            lambda: repo.recent(ws, limit=100),
            "audit_events",
            "ix_audit_events_workspace_id_created_at_id",
            analyzed,
        )
    listed = [(e.created_at, e.id) for e in repo.recent(ws, limit=100)]
    expected = session.execute(
        text(
            "SELECT created_at, id FROM audit_events WHERE workspace_id = :ws"
            " ORDER BY created_at DESC, id DESC LIMIT 100"
        ),
        {"ws": ws},
    ).all()
    assert listed == [tuple(r) for r in expected]
