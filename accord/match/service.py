"""Probabilistic identity resolution of a workspace: read its named people, score them
with the Splink model, and apply the decisions through the identity graph.

A run has three steps so that the long one holds no transaction: ``snapshot`` reads
(one short session), ``compute`` trains and scores (no database), ``apply`` writes (one
transaction, serialized with deterministic resolution by the workspace's resolve lock).
An automatic merge links one identifier of each person and lets the identity graph
repartition, exactly as a shared identifier would: the merge is recorded with the
per-field match weights as its evidence, and ``split`` undoes it and keeps the two
apart from then on, so the next run does not merge them again."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.workspaces.models import Workspace
from accord.kit.dialect import lock_workspace
from accord.kit.errors import AccordError, conflict, not_found
from accord.kit.signals import after_commit
from accord.kit.textcheck import printable
from accord.kit.time import utcnow
from accord.match import scored
from accord.match.applying import Apart, Summary, apply, live_profile, merge_people
from accord.match.decide import Thresholds
from accord.match.models import MatchCandidate, MatchRun
from accord.match.repository import (
    CandidateRepository,
    MatchInputRepository,
    MatchRunRepository,
)
from accord.match.settings import MATCH, MatchSettings
from accord.profile.models import Profile
from accord.resolve.repository import SeparationRepository

if TYPE_CHECKING:
    import pyarrow as pa

log = logging.getLogger("accord.match")


def thresholds_for(settings: Settings, workspace: Workspace | None) -> Thresholds:
    """The configured thresholds, overridden by the workspace's ``settings.match``."""
    own = MATCH.read(workspace) if workspace is not None else MatchSettings()
    return Thresholds(
        auto_merge=settings.match_auto_merge if own.auto_merge is None else own.auto_merge,
        review=settings.match_review if own.review is None else own.review,
    )


def id_traits_of(workspace: Workspace | None) -> list[str]:
    return list(MATCH.read(workspace).id_traits) if workspace is not None else []


@dataclass
class Snapshot:
    workspace_id: uuid.UUID
    rows: dict[str, dict[str, Any]]
    thresholds: Thresholds
    model: dict[str, Any] | None = None
    region: str | None = None  # how the workspace's country writes dates

    def table(self) -> pa.Table:
        from accord.match import features  # Arrow, loaded by a run alone

        month_first = (self.model or {}).get("month_first")
        return features.prepare(self.rows.values(), month_first=month_first, region=self.region)


def _workspace(session: Session, workspace_id: uuid.UUID) -> Workspace:
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        raise not_found("Workspace")
    return ws


def snapshot(session: Session, workspace_id: uuid.UUID, settings: Settings) -> Snapshot:
    """Every named, live person of the workspace as a matching row."""
    from accord.match import features

    ws = _workspace(session, workspace_id)
    repo = MatchInputRepository.from_session(session)
    ids = id_traits_of(ws)
    rows = {
        str(pid): features.from_traits(str(pid), traits, email, phone, ids)
        for pid, traits, email, phone in repo.named_profiles(workspace_id)
    }
    return Snapshot(workspace_id, rows, thresholds_for(settings, ws), region=ws.default_region)


def floor_weight(thresholds: Thresholds) -> float:
    p = min(max(thresholds.review, 1e-6), 1 - 1e-9)
    return scored.weight_of(p)


def compute(
    snap: Snapshot,
    *,
    engine_name: scored.Engine = "duckdb",
    spark: Any = None,
    on_phase: Callable[[str], None] | None = None,
) -> scored.Result:
    from accord.match import engine  # Splink, DuckDB and Arrow, loaded by a run alone

    started = time.perf_counter()
    table = snap.table()
    prepared = time.perf_counter() - started
    result = engine.run(
        table,
        engine=engine_name,
        spark=spark,
        model=snap.model,
        floor_weight=floor_weight(snap.thresholds),
        on_phase=on_phase,
    )
    result.phases = {"prepare": prepared, **result.phases}
    return result


# --- the review queue -------------------------------------------------------------------


def _pending(
    session: Session, workspace_id: uuid.UUID, candidate_id: uuid.UUID
) -> tuple[MatchCandidate, Profile | None, Profile | None]:
    """The undecided proposal (under the resolve lock) and its two people as they are now."""
    lock_workspace(session, workspace_id, "resolve")
    candidate = CandidateRepository.from_session(session).get(workspace_id, candidate_id)
    if candidate is None or candidate.kind != "duplicate":
        raise not_found("Possible duplicate", field="candidate_id")
    if candidate.status != "pending":
        raise conflict(
            f"This pair was already {candidate.status}",
            field="candidate_id",
            code="already_decided",
        )
    a, b = (
        live_profile(session, candidate.profile_a_id),
        live_profile(session, candidate.profile_b_id),
    )
    return candidate, a, b


def _decided(
    session: Session, candidate: MatchCandidate, status: str, actor: str
) -> MatchCandidate:
    candidate.status = status
    candidate.decided_at = utcnow()
    candidate.decided_by = actor
    session.flush()
    return candidate


def accept(
    session: Session, workspace_id: uuid.UUID, candidate_id: uuid.UUID, actor: str
) -> MatchCandidate:
    """An agent confirms the pair is one person: merged like an automatic match."""
    candidate, a, b = _pending(session, workspace_id, candidate_id)
    if a is None or b is None:
        raise not_found("Profile", field="candidate_id")
    if a.id != b.id:
        why = Apart(session, workspace_id, [str(a.id), str(b.id)])([str(a.id)], [str(b.id)])
        if why:
            raise conflict(
                f"These people must stay apart: {why}", field="candidate_id", code="kept_apart"
            )
        proof = {**candidate.evidence, "accepted_by": actor}
        merge = merge_people(session, workspace_id, a, b, proof, actor)
        candidate.merge_id = merge.id if merge else None
    return _decided(session, candidate, "accepted", actor)


def reject(
    session: Session, workspace_id: uuid.UUID, candidate_id: uuid.UUID, actor: str
) -> MatchCandidate:
    """An agent says the pair are two people: remembered as a separation of their
    identifiers, so neither matching nor a shared identifier joins them later."""
    candidate, a, b = _pending(session, workspace_id, candidate_id)
    if a is not None and b is not None and a.id != b.id:
        repo = MatchInputRepository.from_session(session)
        SeparationRepository.from_session(session).add(
            workspace_id,
            None,
            [i.id for i in repo.identifiers([a.id])],
            [i.id for i in repo.identifiers([b.id])],
            reason=f"not the same person (rejected by {actor})"[:200],
        )
    return _decided(session, candidate, "rejected", actor)


# --- runs -------------------------------------------------------------------------------


# A run still queued or running after this long was abandoned (no matching thread took
# it up, or its process died): it no longer holds the workspace.
QUEUED_STALE = timedelta(hours=1)
RUNNING_STALE = timedelta(hours=6)


def _hold_run_slot(session: Session, workspace_id: uuid.UUID) -> None:
    """A workspace has at most one full run queued or running: another is refused with
    409 ``run_in_progress`` naming it (``run_id``). Abandoned runs are marked failed."""
    lock_workspace(session, workspace_id, "match-run")
    now = utcnow()
    for run in MatchRunRepository.from_session(session).active(workspace_id):
        since = run.started_at if run.status == "running" else run.created_at
        limit = RUNNING_STALE if run.status == "running" else QUEUED_STALE
        if since is not None and now - since > limit:
            finish_run(run, None, None, error=f"abandoned: still {run.status} after {limit}")
            continue
        raise AccordError(
            f"A matching run of this workspace is already {run.status} ({run.id}); "
            "wait for it to finish",
            code="run_in_progress",
            status=409,
            extra={"run_id": str(run.id)},
        )
    session.flush()


def start_run(
    session: Session, workspace_id: uuid.UUID, *, engine_name: str, trigger: str, kind: str = "full"
) -> MatchRun:
    _workspace(session, workspace_id)
    if kind == "full":
        _hold_run_slot(session, workspace_id)
    run = MatchRun(
        workspace_id=workspace_id,
        kind=kind,
        engine=engine_name,
        trigger=trigger,
        status="queued",
        report={},
    )
    session.add(run)
    session.flush()
    return run


def finish_run(
    run: MatchRun, result: scored.Result | None, summary: Summary | None, error: str | None = None
) -> None:
    run.finished_at = utcnow()
    if error is not None or result is None or summary is None:
        run.status = "failed"
        run.error = printable(error or "failed", 500)
        return
    run.status = "done"
    run.records = summary.records
    run.pairs = summary.pairs
    run.merged = summary.merged
    run.proposed = summary.proposed
    run.households = summary.households
    if run.kind == "full" and result.model:
        run.model = result.model  # a run that compared nothing leaves no model to use
    run.report = {
        "phases": {k: round(v, 3) for k, v in result.phases.items()},
        "trained": result.trained,
        "training": [
            {
                "rule": t.rule,
                "share_of_matches": t.pairs_lambda,
                "used": t.accepted,
                "reason": t.reason,
            }
            for t in result.training
        ],
        "blocked": summary.blocked,
        "tf": result.tf,
    }
    if result.skipped is not None:
        run.report["skipped"] = result.skipped


def queue_run(
    session: Session, workspace_id: uuid.UUID, *, engine_name: str, wake: Callable[[], None] | None
) -> MatchRun:
    """A run queued for the matching worker, which is woken once the run is committed."""
    run = start_run(session, workspace_id, engine_name=engine_name, trigger="api")
    if wake is not None:
        after_commit(session, wake)
    return run


def run_now(
    session: Session,
    workspace_id: uuid.UUID,
    settings: Settings,
    *,
    engine_name: scored.Engine,
    actor: str,
) -> MatchRun:
    """A whole run inside the caller's transaction (small workspaces, tests)."""
    run = start_run(session, workspace_id, engine_name=engine_name, trigger="api")
    run.status = "running"
    run.started_at = run.created_at
    snap = snapshot(session, workspace_id, settings)
    result = compute(snap, engine_name=engine_name)
    summary = apply(
        session, workspace_id, result, snap.thresholds, snap.rows, run_id=run.id, actor=actor
    )
    finish_run(run, result, summary)
    session.flush()
    return run
