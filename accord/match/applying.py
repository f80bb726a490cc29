"""Applying a matching run's decisions: the merges, the proposals for review and the
household links, in the caller's transaction (serialized with deterministic resolution
by the workspace's resolve lock).

An automatic merge links one identifier of each person, exactly as a shared identifier
would, and is recorded with the per-field match weights as its evidence; ``split``
undoes it and keeps the two apart from then on. A run's merges are written in sets
(``resolve.sets``): one pass over the clusters they make, a statement per table and
5,000 rows. Only a cluster the identity graph's rules could reshape (a contested person,
an undone merge nearby, a limited identifier type over its limit) goes through the graph
one pair at a time."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.orm import Session

from accord.kit.dialect import ROWS_PER_STATEMENT, insert_ignore, lock_workspace
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.match import scored
from accord.match.decide import Decisions, Thresholds, UnionFind, decide
from accord.match.repository import CandidateRepository, MatchInputRepository
from accord.profile.models import Profile
from accord.profile.repository import Head, ProfileRepository
from accord.resolve import service as resolve
from accord.resolve import sets
from accord.resolve.context import WorkspaceContext
from accord.resolve.models import Identifier, IdentityLink, Merge

RULE = "probabilistic"
FIELD_SOURCES: dict[str, tuple[str, ...]] = {
    "first_name": ("first_name",),
    "last_name": ("last_name",),
    "dob": ("dob",),
    "address": ("street", "postcode", "city"),
    "email": ("email",),
    "phone": ("phone",),
}


@dataclass
class Summary:
    records: int = 0
    pairs: int = 0
    merged: int = 0
    proposed: int = 0
    households: int = 0
    blocked: int = 0
    merges: list[uuid.UUID] = field(default_factory=list)
    until: datetime | None = None  # an incremental pass that stopped at its limit


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
        read: sets.People | None = None,
    ):
        """``read``: the people as the caller read them in this transaction, when it has
        (it must hold every one of ``profile_ids``)."""
        ctx = ctx or WorkspaceContext.load(session, workspace_id)
        unique = {name for name, rule in ctx.rules.graph.types.items() if rule.unique}
        wanted = {uuid.UUID(p) for p in profile_ids}
        if read is None or not read.covers(wanted):
            read = sets.People.load(session, wanted)
        owner: dict[uuid.UUID, str] = {}
        self.unique: dict[str, set[str]] = {}
        for pid in wanted:
            for ident in read.nodes.get(pid, []):
                owner[ident.id] = str(pid)
                if ident.type in unique:
                    self.unique.setdefault(str(pid), set()).add(f"{ident.type}:{ident.value}")
        self.separations: list[tuple[set[str], set[str]]] = []
        for side_a, side_b in read.separations:
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
    pair: scored.Scored,
    levels: Mapping[str, list[scored.Level]],
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


def live_profile(session: Session, profile_id: uuid.UUID) -> Profile | None:
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
    return sets.strongest(ctx, rows) if rows else None


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


def live_many(session: Session, profile_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Head]:
    """The live person each of these profiles is now (merge tombstones followed), read
    together; a profile gone (erased) is left out."""
    repo = ProfileRepository.from_session(session)
    at = {p: p for p in set(profile_ids)}
    out: dict[uuid.UUID, Head] = {}
    for _ in range(20):
        if not at:
            break
        heads = repo.heads_of(list(set(at.values())))
        ahead: dict[uuid.UUID, uuid.UUID] = {}
        for start, current in at.items():
            head = heads.get(current)
            if head is None:
                continue
            if head.merged_into_id is None:
                out[start] = head
            else:
                ahead[start] = head.merged_into_id
        at = ahead
    return out


def _joins(
    decisions: Decisions,
    live: Mapping[uuid.UUID, Head],
    apart: Apart,
    result: scored.Result,
    rows: Mapping[str, Mapping[str, Any]],
    run_id: uuid.UUID | None,
    summary: Summary,
) -> list[sets.Join]:
    """The run's merges as joins of the people their records belong to now (the run
    read them without a lock), each checked again against what keeps people apart."""
    clusters: UnionFind[str] = UnionFind()
    out: list[sets.Join] = []
    for pair in decisions.merges:
        ha, hb = live.get(uuid.UUID(pair.left)), live.get(uuid.UUID(pair.right))
        if ha is None or hb is None or ha.id == hb.id:
            continue
        a, b = ha.id, hb.id
        ra, rb = clusters.find(str(a)), clusters.find(str(b))
        if ra == rb:
            continue
        if apart(clusters.members[ra], clusters.members[rb]):
            summary.blocked += 1
            continue
        clusters.union(ra, rb)
        out.append(sets.Join(a, b, partial(evidence, pair, result.levels, rows, run_id)))
    return out


def _propose_all(
    session: Session,
    ctx: WorkspaceContext,
    decisions: Decisions,
    live: Mapping[uuid.UUID, uuid.UUID],
    apart: Apart,
    result: scored.Result,
    rows: Mapping[str, Mapping[str, Any]],
    run_id: uuid.UUID | None,
    summary: Summary,
) -> None:
    """Proposals for review and household links, between the people their records
    belong to now (``live``, after the run's merges); a pair already proposed takes the
    run's figures. ``apart`` was read before the merges, so a person is checked as all
    the profiles now joined in them."""
    wanted = [("duplicate", p) for p in decisions.reviews] + [
        ("household", p) for p in decisions.households
    ]
    joined: dict[uuid.UUID, list[str]] = defaultdict(list)
    for was, now in live.items():
        joined[now].append(str(was))
    keyed: list[tuple[tuple[str, uuid.UUID, uuid.UUID], scored.Scored]] = []
    for kind, pair in wanted:
        a, b = live.get(uuid.UUID(pair.left)), live.get(uuid.UUID(pair.right))
        if a is None or b is None or a == b:
            continue
        if kind == "duplicate" and apart(joined[a], joined[b]):
            continue
        keyed.append(((kind, *_ordered(a, b)), pair))
    repo = CandidateRepository.from_session(session)
    found = repo.find_many(ctx.workspace_id, [key for key, _ in keyed])
    created = utcnow()
    made: dict[tuple[str, uuid.UUID, uuid.UUID], scored.Scored] = {}  # the last wins
    for key, pair in keyed:
        kind = key[0]
        held = found.get(key)
        if held is not None:
            if held.status == "pending" or (kind == "household" and held.status == "linked"):
                held.match_probability = pair.probability
                held.match_weight = pair.weight
                held.evidence = evidence(pair, result.levels, rows, run_id)
                held.run_id = run_id
            continue
        if key not in made:
            if kind == "duplicate":
                summary.proposed += 1
            else:
                summary.households += 1
        made[key] = pair
    new = list(made.items())
    for start in range(0, len(new), ROWS_PER_STATEMENT):  # evidence built part by part
        repo.add_rows(
            [
                {
                    "id": new_id(),
                    "workspace_id": ctx.workspace_id,
                    "run_id": run_id,
                    "kind": kind,
                    "status": "pending" if kind == "duplicate" else "linked",
                    "profile_a_id": first,
                    "profile_b_id": second,
                    "match_probability": pair.probability,
                    "match_weight": pair.weight,
                    "evidence": evidence(pair, result.levels, rows, run_id),
                    "created_at": created,
                    "decided_at": None,
                    "decided_by": None,
                    "merge_id": None,
                }
                for (kind, first, second), pair in new[start : start + ROWS_PER_STATEMENT]
            ]
        )


def apply(
    session: Session,
    workspace_id: uuid.UUID,
    result: scored.Result,
    thresholds: Thresholds,
    rows: Mapping[str, Mapping[str, Any]],
    *,
    run_id: uuid.UUID | None,
    actor: str,
    in_sets: bool = True,
    on_step: Callable[[str], None] | None = None,
) -> Summary:
    """Apply a run's decisions in the caller's transaction. ``in_sets=False`` joins every
    pair through the identity graph one at a time (what the sets must equal);
    ``on_step`` hears how far it is, as "applying decisions: ..."."""

    def say(step: str) -> None:
        if on_step is not None:
            on_step(f"applying decisions: {step}")

    lock_workspace(session, workspace_id, "resolve")
    ids = {uuid.UUID(p) for pair in result.pairs for p in (pair.left, pair.right)}
    ctx = WorkspaceContext.load(session, workspace_id)  # one run, one set of rules
    say(f"reading {len(ids):,} people again")
    live = live_many(session, ids)  # the run read without the lock: who each is now
    read = sets.People.load(
        session, ids | {h.id for h in live.values()}, heads={h.id: h for h in live.values()}
    )
    apart = Apart(session, workspace_id, {str(p) for p in read.heads}, ctx, read)
    top = {name: len(levels) - 1 for name, levels in result.levels.items()}
    decisions: Decisions = decide(
        result.pairs, thresholds, top, apart, home=scored.home_model_of(result.model)
    )
    summary = Summary(
        records=result.records, pairs=len(result.pairs), blocked=len(decisions.blocked)
    )
    say(f"deciding {len(result.pairs):,} pairs")
    joins = _joins(decisions, live, apart, result, rows, run_id, summary)
    # Who each profile the run read (and each live person behind one) is once merged.
    now = {start: head.id for start, head in live.items()}
    for head in live.values():
        now.setdefault(head.id, head.id)
    left = joins
    if in_sets:
        done = sets.join(
            session,
            ctx,
            joins,
            rule=RULE,
            link_message_id=f"match:{run_id or 'review'}",
            actor=actor,
            read=read,
            on_step=say,
        )
        summary.merges.extend(done.merges)
        now = {start: done.joined.get(p, p) for start, p in now.items()}
        left = done.left
    for j in left:
        a, b = live_profile(session, j.a), live_profile(session, j.b)
        if a is None or b is None or a.id == b.id:
            continue
        merge = merge_people(session, workspace_id, a, b, j.evidence(), actor, ctx)
        if merge is not None:
            summary.merges.append(merge.id)
    if left:
        touched = {p for j in left for p in (j.a, j.b)}
        redo = live_many(session, [s for s, p in now.items() if p in touched])
        now.update((s, h.id) for s, h in redo.items())
    summary.merged = len(summary.merges)
    say("proposals and household links")
    _propose_all(session, ctx, decisions, now, apart, result, rows, run_id, summary)
    session.flush()
    return summary
