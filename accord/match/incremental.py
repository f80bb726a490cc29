"""Matching new records as they come: a person created or changed since the last pass
is scored, with the workspace's last trained model, against the existing people who
share a full name (either order), an email or a phone, found through indexed columns,
without re-running the workspace. The scores and decisions are those of a full run."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.workspaces.models import Workspace
from accord.match import applying, service
from accord.match.repository import MatchInputRepository, MatchRunRepository

MAX_NEW = 200


def _name_keys(row: dict[str, Any]) -> set[str]:
    first = str(row.get("first_name") or "").strip()
    last = str(row.get("last_name") or "").strip()
    if not first or not last:
        return set()
    return {f"{first} {last}".lower(), f"{last} {first}".lower()}


def match_new(
    session: Session,
    workspace_id: uuid.UUID,
    settings: Settings,
    *,
    since: datetime | None,
    actor: str = "matcher",
    limit: int = MAX_NEW,
) -> applying.Summary | None:
    """Score people changed since ``since``; None when the workspace has no model yet."""
    from accord.match import engine, features  # loaded by matching alone

    trained = MatchRunRepository.from_session(session).latest_model(workspace_id)
    if trained is None or trained.model is None:
        return None
    repo = MatchInputRepository.from_session(session)
    changed = repo.changed_profiles(workspace_id, since, limit)
    workspace = session.get(Workspace, workspace_id)
    ids = service.id_traits_of(workspace)
    fresh = {
        str(pid): features.from_traits(str(pid), traits, email, phone, ids)
        for pid, traits, email, phone, _ in changed
    }
    if not fresh:
        return applying.Summary()
    # More changed than one pass takes: the next pass goes on from the last one taken.
    until = changed[-1][4] if len(changed) >= limit else None
    names: set[str] = set()
    emails = {r["email"] for r in fresh.values() if r.get("email")}
    phones = {r["phone"] for r in fresh.values() if r.get("phone")}
    for row in fresh.values():
        names |= _name_keys(row)
    rows = dict(fresh)
    for pid, traits, email, phone in repo.similar_profiles(
        workspace_id, names=names, emails=emails, phones=phones
    ):
        rows.setdefault(str(pid), features.from_traits(str(pid), traits, email, phone, ids))
    if len(rows) < 2:
        return applying.Summary(records=len(fresh), until=until)
    thresholds = service.thresholds_for(settings, workspace)
    result = engine.run(
        features.prepare(
            rows.values(),
            month_first=trained.model.get("month_first"),
            region=workspace.default_region if workspace is not None else None,
        ),
        model=trained.model,
        tf=(trained.report or {}).get("tf") or None,
        floor_weight=service.floor_weight(thresholds),
    )
    result.pairs = [p for p in result.pairs if p.left in fresh or p.right in fresh]
    summary = applying.apply(
        session, workspace_id, result, thresholds, rows, run_id=None, actor=actor
    )
    summary.records = len(fresh)
    summary.until = until
    return summary
