"""From scored pairs to decisions: which records are one person (merged automatically),
which pairs an agent should look at, and which people share a household.

Rules, in order:
1. Person-level disagreement outweighs household-level agreement. Two records whose first
   names clearly differ (no nickname, typo, swap or initial explains it) are two people,
   whatever they share: surname, address, phone and email are household-level. Such a
   pair that shares an address, phone or email is a household link. When their dates of
   birth agree exactly (twins, or a badly typed first name) a strong pair goes to review.
2. A clearly different date of birth (not a typo or a day/month swap) never merges
   automatically, not even through a third record that matches both (a father and son
   of one name at one address); a strong pair goes to review.
3. Pairs at or above the auto-merge probability are merged, strongest first, unless the
   merge would join records that must stay apart (``apart``: different user ids, an
   undone merge, a rejected proposal) or that rule 1 separates.
4. Pairs between the review and auto-merge probabilities, whose records did not end up
   together, are proposed for review (one proposal per pair of groups, the strongest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from accord.match.comparisons import shares_household
from accord.match.engine import Scored


@dataclass(frozen=True)
class Thresholds:
    auto_merge: float = 0.8
    review: float = 0.5


@dataclass
class Decisions:
    merges: list[Scored] = field(default_factory=list)
    reviews: list[Scored] = field(default_factory=list)
    households: list[Scored] = field(default_factory=list)
    blocked: list[tuple[Scored, str]] = field(default_factory=list)
    clusters: dict[str, str] = field(default_factory=dict)  # record -> its cluster root


class UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.members: dict[str, list[str]] = {}

    def find(self, x: str) -> str:
        parent = self.parent
        if x not in parent:
            parent[x] = x
            self.members[x] = [x]
            return x
        root = x
        while parent[root] != root:
            root = parent[root]
        while parent[x] != root:
            parent[x], x = root, parent[x]
        return root

    def union(self, a: str, b: str) -> str:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return ra
        if len(self.members[ra]) < len(self.members[rb]):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.members[ra].extend(self.members.pop(rb))
        return ra


def person_conflict(pair: Scored) -> str | None:
    """Why the two records cannot be one person, from the comparison levels."""
    if pair.gammas.get("first_name") == 0 and pair.gammas.get("last_name", -1) != 0:
        return "first names differ"
    if pair.gammas.get("first_name") == 0 and pair.gammas.get("dob") == 0:
        return "first names and dates of birth differ"
    return None


def decide(
    pairs: Iterable[Scored],
    thresholds: Thresholds,
    top: dict[str, int],
    apart: Callable[[list[str], list[str]], str | None] | None = None,
) -> Decisions:
    """``top`` is each comparison's highest gamma (exact agreement); ``apart`` says why
    two groups of records must stay apart, or None."""
    out = Decisions()
    conflicts: dict[str, set[str]] = defaultdict(set)
    auto: list[Scored] = []
    maybe: list[Scored] = []
    for pair in pairs:
        reason = person_conflict(pair)
        if pair.gammas.get("dob") == 0:
            conflicts[pair.left].add(pair.right)
            conflicts[pair.right].add(pair.left)
        if reason is not None:
            if (
                pair.gammas.get("dob") == top.get("dob", -2)
                and pair.probability >= thresholds.review
            ):
                maybe.append(pair)  # twins, or a badly typed first name: a person decides
            elif shares_household(pair.gammas, top):
                out.households.append(pair)
            continue
        if pair.probability >= thresholds.auto_merge and pair.gammas.get("dob") != 0:
            auto.append(pair)
        elif pair.probability >= thresholds.review:
            maybe.append(pair)
    uf = UnionFind()
    auto.sort(key=lambda p: (-p.weight, p.left, p.right))
    for pair in auto:
        ra, rb = uf.find(pair.left), uf.find(pair.right)
        if ra == rb:
            continue
        small, big = (ra, rb) if len(uf.members[ra]) <= len(uf.members[rb]) else (rb, ra)
        big_set = set(uf.members[big])
        if any(other in big_set for m in uf.members[small] for other in conflicts.get(m, ())):
            out.blocked.append((pair, "a record of one side is a different person"))
            continue
        if apart is not None:
            why = apart(uf.members[ra], uf.members[rb])
            if why:
                out.blocked.append((pair, why))
                continue
        uf.union(ra, rb)
        out.merges.append(pair)
    proposed: dict[tuple[str, str], Scored] = {}
    for pair in sorted(maybe, key=lambda p: (-p.weight, p.left, p.right)):
        ra, rb = uf.find(pair.left), uf.find(pair.right)
        if ra == rb:
            continue
        key = (ra, rb) if ra < rb else (rb, ra)
        if key in proposed:
            continue
        if apart is not None and apart(uf.members[ra], uf.members[rb]):
            continue
        proposed[key] = pair
    out.reviews = list(proposed.values())
    out.clusters = {x: uf.find(x) for x in list(uf.parent)}
    return out
