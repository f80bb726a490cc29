"""Reading what matching decided, for the API and the console."""

from __future__ import annotations

import uuid
from collections import defaultdict

from sqlalchemy.orm import Session

from accord.kit.errors import not_found
from accord.match.decide import UnionFind
from accord.match.models import MatchCandidate, MatchRun
from accord.match.repository import CandidateRepository, MatchRunRepository
from accord.match.schemas import CandidateRead, FieldEvidence, Household
from accord.profile import queries as profile_queries
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository


def _profiles(session: Session, candidates: list[MatchCandidate]) -> dict[uuid.UUID, Profile]:
    ids = {p for c in candidates for p in (c.profile_a_id, c.profile_b_id)}
    return ProfileRepository.from_session(session).by_ids(sorted(ids))


def candidate_read(c: MatchCandidate, profiles: dict[uuid.UUID, Profile]) -> CandidateRead:
    fields = {
        name: FieldEvidence(**value)
        for name, value in ((c.evidence or {}).get("fields") or {}).items()
    }
    return CandidateRead(
        id=c.id,
        kind="household" if c.kind == "household" else "duplicate",
        status=c.status,
        match_probability=c.match_probability,
        match_weight=c.match_weight,
        profile_a=profile_queries.summary(profiles[c.profile_a_id]),
        profile_b=profile_queries.summary(profiles[c.profile_b_id]),
        fields=fields,
        created_at=c.created_at,
        decided_at=c.decided_at,
        decided_by=c.decided_by,
        merge_id=c.merge_id,
    )


def candidates_by_id(session: Session, rows: list[MatchCandidate]) -> list[CandidateRead]:
    profiles = _profiles(session, rows)
    return [candidate_read(c, profiles) for c in rows]


def candidates(
    session: Session,
    workspace_id: uuid.UUID,
    status: str | None,
    *,
    limit: int,
    offset: int = 0,
) -> list[CandidateRead]:
    rows = CandidateRepository.from_session(session).listing(
        workspace_id, "duplicate", status, limit=limit, offset=offset
    )
    profiles = _profiles(session, rows)
    return [candidate_read(c, profiles) for c in rows]


def households(session: Session, workspace_id: uuid.UUID, *, limit: int = 200) -> list[Household]:
    """People linked as one household (not merged): groups of live profiles."""
    links = CandidateRepository.from_session(session).listing(
        workspace_id, "household", "linked", limit=20_000
    )
    profiles = _profiles(session, links)
    live = {pid: p for pid, p in profiles.items() if p.merged_into_id is None}
    uf: UnionFind[str] = UnionFind()
    kept = [link for link in links if link.profile_a_id in live and link.profile_b_id in live]
    for link in kept:
        uf.union(str(link.profile_a_id), str(link.profile_b_id))
    count: dict[str, int] = defaultdict(int)
    for link in kept:
        count[uf.find(str(link.profile_a_id))] += 1
    groups: dict[str, list[str]] = defaultdict(list)
    for member in list(uf.parent):
        groups[uf.find(member)].append(member)
    out = [
        Household(
            members=[
                profile_queries.summary(live[uuid.UUID(m)])
                for m in sorted(members, key=lambda m: live[uuid.UUID(m)].display_name or "")
            ],
            links=count[root],
        )
        for root, members in groups.items()
    ]
    out.sort(key=lambda h: (-len(h.members), h.members[0].display_name or ""))
    return out[:limit]


def recent_runs(session: Session, workspace_id: uuid.UUID, limit: int) -> list[MatchRun]:
    return MatchRunRepository.from_session(session).recent(workspace_id, limit)


def run(session: Session, workspace_id: uuid.UUID, run_id: uuid.UUID) -> MatchRun:
    found = MatchRunRepository.from_session(session).get(workspace_id, run_id)
    if found is None:
        raise not_found("Run", field="run_id")
    return found


def candidate(session: Session, workspace_id: uuid.UUID, candidate_id: uuid.UUID) -> CandidateRead:
    found = CandidateRepository.from_session(session).get(workspace_id, candidate_id)
    if found is None:
        raise not_found("Candidate", field="candidate_id")
    return candidates_by_id(session, [found])[0]


def pending_duplicates(session: Session, workspace_id: uuid.UUID) -> int:
    """How many possible duplicates wait for review."""
    return CandidateRepository.from_session(session).count(workspace_id, "duplicate", "pending")
