"""A help-center search on PostgreSQL is answered by the text index alone, whatever the
table's statistics: the workspace is a lexeme of every document, part of the index
condition, and no other index can take its place (on a table never analyzed the planner
otherwise reads every document of the workspace through the (workspace, locale) index
and tests each one's vector)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import insert, text
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter.index import SearchIndex, workspace_token
from accord.helpcenter.models import HelpArticle, HelpTranslation
from accord.helpcenter.query import analyse
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from tests.helpers import plans_of, scans_of

DOCUMENTS = 600
TOPICS = ["tent", "boot", "jacket", "stove", "lantern", "zipper", "seam", "strap"]


def _publish(session: Session, workspace: ProvisionedWorkspace, n: int) -> None:
    now = utcnow()
    ws = workspace.workspace.id
    articles = [{"id": new_id(), "workspace_id": ws, "slug": f"a-{i}"} for i in range(n)]
    session.execute(
        insert(HelpArticle),
        [
            {**a, "position": 0, "visibility": "public", "updated_at": now, "helpful": 0,
             "unhelpful": 0, "views": 0}
            for a in articles
        ],
    )  # fmt: skip
    translations = [
        {
            "id": new_id(),
            "workspace_id": ws,
            "article_id": a["id"],
            "locale": "en",
            "status": "published",
            "title": f"Caring for your {TOPICS[i % len(TOPICS)]}",
            "body": f"Clean the {TOPICS[(i * 3) % len(TOPICS)]} and dry it before storage.",
            "version": 1,
            "updated_at": now,
        }
        for i, a in enumerate(articles)
    ]
    session.execute(insert(HelpTranslation), translations)
    index = SearchIndex.from_session(session)
    for t in translations:
        index.put(
            document_id=t["id"],
            workspace_id=ws,
            article_id=t["article_id"],
            locale="en",
            internal=False,
            title=t["title"],
            body=t["body"],
        )


def _plans(session: Session, call: Any) -> list[dict[str, Any]]:
    return plans_of(session, call, lambda statement: "ts_rank" in statement)


def test_a_search_reads_the_text_index_alone_without_statistics(
    backend: str, session: Session, workspace: ProvisionedWorkspace
) -> None:
    if backend != "postgresql":
        pytest.skip("plans are PostgreSQL's")
    _publish(session, workspace, DOCUMENTS)
    analyzed = session.execute(
        text(
            "SELECT coalesce(last_analyze, last_autoanalyze) FROM pg_stat_user_tables "
            "WHERE relname = 'help_documents'"
        )
    ).scalar()
    index = SearchIndex.from_session(session)
    ws = workspace.workspace.id
    hits: list[Any] = []
    plans = _plans(
        session,
        lambda: hits.extend(
            index.search(ws, analyse("clean tent zipper"), ["en"], internal=False, limit=10)
        ),
    )
    assert hits
    assert len(plans) == 2  # as planned for its values, and the generic plan
    for plan in plans:
        scans = scans_of(plan)
        on_documents = [s for s in scans if s.get("Relation Name") == "help_documents"]
        by_index = [s for s in scans if s.get("Index Name")]
        # The matches come from the text index, the workspace's lexeme in its condition;
        # the documents' (workspace, locale) index is never the way in.
        assert any(
            s["Index Name"] == "ix_help_documents_search" and _names_workspace(s, ws)
            for s in by_index
        ), (analyzed, scans)
        assert not any(s["Index Name"] == "ix_help_documents_workspace_id_locale" for s in by_index)
        assert all(s["Node Type"] != "Seq Scan" for s in on_documents), (analyzed, scans)


def _names_workspace(scan: dict[str, Any], ws: Any) -> bool:
    """The index condition holds the workspace's lexeme: written out in a plan made for
    the values, a parameter of the text query in the generic plan."""
    condition = scan.get("Index Cond", "")
    return workspace_token(ws) in condition or "@@" in condition
