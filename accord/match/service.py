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
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import pyarrow as pa
from sqlalchemy.orm import Session

from accord.config import Settings
from accord.govern.workspaces.models import Workspace
from accord.kit.dialect import insert_ignore, lock_workspace
from accord.kit.errors import AccordError, conflict, not_found
from accord.kit.ids import new_id
from accord.kit.signals import after_commit
from accord.kit.textcheck import printable
from accord.kit.time import utcnow
from accord.match import engine, features
from accord.match.decide import Decisions, Thresholds, decide
from accord.match.models import MatchCandidate, MatchRun
from accord.match.repository import (
    CandidateRepository,
    MatchInputRepository,
    MatchRunRepository,
)
from accord.match.settings import MATCH, MatchSettings
from accord.profile.models import Profile
from accord.resolve import service as resolve
from accord.resolve.context import WorkspaceContext
from accord.resolve.models import Identifier, IdentityLink, Merge
from accord.resolve.repository import SeparationRepository

log = logging.getLogger("accord.match")
RULE = "probabilistic"
FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "dob": ("dob",),
    "address": ("street", "postcode", "city"),
    "email": ("email",),
    "phone": ("phone",),
}


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

    def table(self) -> pa.Table:
        return features.prepare(self.rows.values())


@dataclass
class Summary:
    records: int = 0
    pairs: int = 0
    merged: int = 0
    proposed: int = 0
    households: int = 0
    blocked: int = 0
    merges: list[Merge] = field(default_factory=list)
    until: datetime | None = None  # an incremental pass that stopped at its limit


def _workspace(session: Session, workspace_id: uuid.UUID) -> Workspace:
    ws = session.get(Workspace, workspace_id)
    if ws is None:
        raise not_found("Workspace")
    return ws


def snapshot(session: Session, workspace_id: uuid.UUID, settings: Settings) -> Snapshot:
    """Every named, live person of the workspace as a matching row."""
    ws = _workspace(session, workspace_id)
    repo = MatchInputRepository.from_session(session)
    ids = id_traits_of(ws)
    rows = {
        str(pid): features.from_traits(str(pid), traits, email, phone, ids)
        for pid, traits, email, phone in repo.named_profiles(workspace_id)
    }
    return Snapshot(workspace_id, rows, thresholds_for(settings, ws))


def floor_weight(thresholds: Thresholds) -> float:
    p = min(max(thresholds.review, 1e-6), 1 - 1e-9)
    return engine.weight_of(p)


def compute(
    snap: Snapshot,
    *,
    engine_name: engine.Engine = "duckdb",
    spark: Any = None,
    on_phase: Callable[[str], None] | None = None,
) -> engine.Result:
    return engine.run(
        snap.table(),
        engine=engine_name,
        spark=spark,
        model=snap.model,
        floor_weight=floor_weight(snap.thresholds),
        on_phase=on_phase,
    )


# --- constraints ------------------------------------------------------------------------


class Apart:
    """What keeps people apart whatever the model says: different values of a unique
    identifier type (two user ids), and separations (an undone merge, a rejected
    proposal). Groups are of profile ids, as strings."""

    def __init__(
        self,
        session: Session,
        workspace_id: uuid.UUID,
        profile_ids: Iterable[str],
        ctx: WorkspaceContext | None = None,
    ):
        ctx = ctx or WorkspaceContext.load(session, workspace_id)
        unique = {name for name, rule in ctx.rules.graph.types.items() if rule.unique}
        repo = MatchInputRepository.from_session(session)
        idents = repo.identifiers([uuid.UUID(p) for p in set(profile_ids)])
        owner: dict[uuid.UUID, str] = {}
        self.unique: dict[str, set[str]] = {}
        for ident in idents:
            if ident.profile_id is None:
                continue
            owner[ident.id] = str(ident.profile_id)
            if ident.type in unique:
                self.unique.setdefault(str(ident.profile_id), set()).add(
                    f"{ident.type}:{ident.value}"
                )
        self.separations: list[tuple[set[str], set[str]]] = []
        for side_a, side_b in repo.separation_sides(list(owner)):
            a = {owner[i] for i in side_a if i in owner}
            b = {owner[i] for i in side_b if i in owner}
            if a and b:
                self.separations.append((a, b))

    def __call__(self, group_a: list[str], group_b: list[str]) -> str | None:
        ua = set().union(*(self.unique.get(p, set()) for p in group_a))
        ub = set().union(*(self.unique.get(p, set()) for p in group_b))
        types_a = {v.split(":", 1)[0] for v in ua}
        types_b = {v.split(":", 1)[0] for v in ub}
        for t in types_a & types_b:
            if {v for v in ua if v.startswith(t + ":")} != {v for v in ub if v.startswith(t + ":")}:
                return f"different {t.replace('_', ' ')}s"
        sa, sb = set(group_a), set(group_b)
        for a, b in self.separations:
            if (a & sa and b & sb) or (a & sb and b & sa):
                return "kept apart (a merge was undone or a proposal rejected)"
        return None


# --- evidence ---------------------------------------------------------------------------


def evidence(
    pair: engine.Scored,
    levels: Mapping[str, list[engine.Level]],
    rows: Mapping[str, Mapping[str, Any]],
    run_id: uuid.UUID | None,
) -> dict[str, Any]:
    """Per field: the comparison level reached, its match weight and both values."""
    fields: dict[str, Any] = {}
    left, right = rows.get(pair.left, {}), rows.get(pair.right, {})
    for name, gamma in pair.gammas.items():
        label = "missing"
        for level in levels.get(name, []):
            if level.gamma == gamma:
                label = level.label
        sources = FIELD_SOURCES.get(name, (name,))
        fields[name] = {
            "level": label,
            "weight": pair.weights.get(name, 0.0),
            "a": " ".join(str(left[s]) for s in sources if left.get(s)) or None,
            "b": " ".join(str(right[s]) for s in sources if right.get(s)) or None,
        }
    return {
        "match_probability": round(pair.probability, 6),
        "match_weight": round(pair.weight, 2),
        "run_id": str(run_id) if run_id else None,
        "fields": fields,
    }


# --- applying decisions -----------------------------------------------------------------


def _live(session: Session, profile_id: uuid.UUID) -> Profile | None:
    seen = set()
    profile = session.get(Profile, profile_id)
    while profile is not None and profile.merged_into_id is not None:
        if profile.id in seen:
            return None
        seen.add(profile.id)
        profile = session.get(Profile, profile.merged_into_id)
    return profile


def _anchor(session: Session, ctx: WorkspaceContext, profile: Profile) -> Identifier | None:
    rows = [
        i
        for i in MatchInputRepository.from_session(session).identifiers([profile.id])
        if not i.blocked
    ]
    if not rows:
        return None
    return sorted(rows, key=lambda i: (-ctx.rules.priority(i.type), i.type, i.value))[0]


def merge_people(
    session: Session,
    workspace_id: uuid.UUID,
    a: Profile,
    b: Profile,
    proof: dict[str, Any],
    actor: str,
    ctx: WorkspaceContext | None = None,
) -> Merge | None:
    """Link one identifier of each person and repartition: the identity graph merges
    them and records the merge with ``proof`` as its evidence. (``ctx``: the workspace's
    rules, when the caller has them loaded.)"""
    ctx = ctx or WorkspaceContext.load(session, workspace_id)
    ia, ib = _anchor(session, ctx, a), _anchor(session, ctx, b)
    if ia is None or ib is None:
        return None
    low, high = (ia, ib) if ia.id < ib.id else (ib, ia)
    run = proof.get("run_id") or "review"
    insert_ignore(
        session,
        IdentityLink.__table__,
        [
            {
                "id": new_id(),
                "workspace_id": workspace_id,
                "a_id": low.id,
                "b_id": high.id,
                "event_id": None,
                "message_id": f"match:{run}"[:200],
                "created_at": utcnow(),
            }
        ],
        ["workspace_id", "a_id", "b_id"],
    )
    made: list[Merge] = []
    proof = {**proof, "identifiers": [f"{ia.type}:{ia.value}", f"{ib.type}:{ib.value}"]}
    resolve.repartition(
        session, ctx, [ia, ib], actor=actor, rule=RULE, evidence=proof, recorded=made
    )
    session.flush()
    return next((m for m in made if m.rule == RULE), made[0] if made else None)


def _ordered(a: uuid.UUID, b: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    return (a, b) if str(a) < str(b) else (b, a)


def _propose(
    session: Session,
    workspace_id: uuid.UUID,
    kind: str,
    a: Profile,
    b: Profile,
    pair: engine.Scored,
    proof: dict[str, Any],
    run_id: uuid.UUID | None,
) -> bool:
    repo = CandidateRepository.from_session(session)
    first, second = _ordered(a.id, b.id)
    found = repo.find(workspace_id, kind, first, second)
    if found is not None:
        if found.status == "pending" or (kind == "household" and found.status == "linked"):
            found.match_probability = pair.probability
            found.match_weight = pair.weight
            found.evidence = proof
            found.run_id = run_id
        return False
    repo.add(
        MatchCandidate(
            workspace_id=workspace_id,
            run_id=run_id,
            kind=kind,
            status="pending" if kind == "duplicate" else "linked",
            profile_a_id=first,
            profile_b_id=second,
            match_probability=pair.probability,
            match_weight=pair.weight,
            evidence=proof,
        )
    )
    return True


def apply(
    session: Session,
    workspace_id: uuid.UUID,
    result: engine.Result,
    thresholds: Thresholds,
    rows: Mapping[str, Mapping[str, Any]],
    *,
    run_id: uuid.UUID | None,
    actor: str,
) -> Summary:
    """Apply a run's decisions in the caller's transaction."""
    lock_workspace(session, workspace_id, "resolve")
    ids = {p for pair in result.pairs for p in (pair.left, pair.right)}
    ctx = WorkspaceContext.load(session, workspace_id)  # one run, one set of rules
    apart = Apart(session, workspace_id, ids, ctx)
    top = {name: len(levels) - 1 for name, levels in result.levels.items()}
    decisions: Decisions = decide(
        result.pairs, thresholds, top, apart, home=engine.home_model_of(result.model)
    )
    summary = Summary(
        records=result.records, pairs=len(result.pairs), blocked=len(decisions.blocked)
    )
    for pair in decisions.merges:
        a, b = _live(session, uuid.UUID(pair.left)), _live(session, uuid.UUID(pair.right))
        if a is None or b is None or a.id == b.id:
            continue
        fresh = Apart(session, workspace_id, [str(a.id), str(b.id)], ctx)
        if fresh([str(a.id)], [str(b.id)]):
            summary.blocked += 1
            continue
        merge = merge_people(
            session, workspace_id, a, b, evidence(pair, result.levels, rows, run_id), actor, ctx
        )
        if merge is not None:
            summary.merged += 1
            summary.merges.append(merge)
    for kind, pairs in (("duplicate", decisions.reviews), ("household", decisions.households)):
        for pair in pairs:
            a, b = _live(session, uuid.UUID(pair.left)), _live(session, uuid.UUID(pair.right))
            if a is None or b is None or a.id == b.id:
                continue
            if kind == "duplicate":
                merged_since = {str(a.id), str(b.id)} != {pair.left, pair.right}
                check = (
                    Apart(session, workspace_id, [str(a.id), str(b.id)], ctx)
                    if merged_since
                    else apart
                )
                if check([str(a.id)], [str(b.id)]):
                    continue
            proof = evidence(pair, result.levels, rows, run_id)
            if _propose(session, workspace_id, kind, a, b, pair, proof, run_id):
                if kind == "duplicate":
                    summary.proposed += 1
                else:
                    summary.households += 1
    session.flush()
    return summary


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
    a, b = _live(session, candidate.profile_a_id), _live(session, candidate.profile_b_id)
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
    run: MatchRun, result: engine.Result | None, summary: Summary | None, error: str | None = None
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
    engine_name: engine.Engine,
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
