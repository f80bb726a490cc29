"""From scored pairs to decisions: which records are one person (merged automatically),
which pairs an agent should look at, and which people share a household.

No single field vetoes a merge: a first name or a date of birth typed wrong, or missing,
is weighed by the model like any other evidence. What keeps relatives apart is the
evidence that tells people apart. Rules, in order:
1. Two records whose first names and dates of birth both clearly differ are two people,
   whatever else but an id number they share; if they share an address, phone or
   email, a household link. They are never put together, not even through a third
   record that matches both.
2. Where the workspace's homes hold families (``household.HomeModel.families``), two
   records that share a home (an address, a phone or an email) are judged on what
   separates the people of one home: the first name and the date of birth. The model's
   weight of those two alone must reach the auto-merge probability from the odds that
   two records of one home are one person and with how often relatives agree, both
   measured on the workspace's own pairs that share a home (``household``). A father
   and son of one name with different dates of birth stay two people; one person whose first
   name was mistyped but whose date of birth agrees is merged. Where the workspace's
   homes hold families, one birthday and one surname or home under first names that no
   typo, nickname, swap or initial explains goes to review (twins, or one person).
   Short of the needed odds, a pair whose first names differ is a household link;
   other strong pairs go to review.
3. Other pairs at or above the auto-merge probability are merged, strongest first,
   unless the merge would join records that must stay apart (``apart``: different user
   ids, an undone merge, a rejected proposal) or that rules 1 and 2 separate.
4. Pairs between the review and auto-merge probabilities, whose records did not end up
   together, are proposed for review (one proposal per pair of groups, the strongest).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from accord.match.household import HomeModel
from accord.match.scored import PERSON_LEVEL, Scored, shares_household, weight_of

# Without a model of the workspace's homes: log2 odds that two records of one home are
# one person (about one in five).
HOME_PRIOR_BITS = -2.0


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


K = TypeVar("K", bound=Hashable)


class UnionFind(Generic[K]):
    """Groups of keys joined two at a time; ``members`` holds each group by its root."""

    def __init__(self) -> None:
        self.parent: dict[K, K] = {}
        self.members: dict[K, list[K]] = {}

    def find(self, x: K) -> K:
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

    def union(self, a: K, b: K) -> K:
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
    if (
        pair.gammas.get("first_name") == 0
        and pair.gammas.get("dob") == 0
        and pair.gammas.get("id_number", -1) <= 0  # unless their id numbers agree
    ):
        return "first names and dates of birth differ"
    return None


def person_weight(pair: Scored) -> float:
    """The model's evidence from the fields that tell people of one home apart."""
    return sum(pair.weights.get(name, 0.0) or 0.0 for name in PERSON_LEVEL)


def same_home_doubt(
    pair: Scored, top: dict[str, int], thresholds: Thresholds, home: HomeModel | None = None
) -> str | None:
    """Why a pair sharing a home is not sure to be one person, or None. ``home`` is the
    workspace's model of the people of one home (``household.fit``)."""
    if home is not None and not home.families:
        return None  # where homes hold one person each, the model's probability decides
    family = shares_household(pair.gammas, top)
    if (
        pair.gammas.get("first_name") == 0
        and pair.gammas.get("dob") == top.get("dob")
        and (family or pair.gammas.get("last_name") == top.get("last_name"))
        and pair.gammas.get("id_number", -1) <= 0
        and pair.gammas.get("middle_name", -1) <= 0
    ):
        # One birthday and one surname or home under first names no typo, nickname,
        # swap or initial explains, where homes hold families: twins as likely as one
        # person; a person decides. (Twins seldom share a middle name as well, nor an id
        # number: where they do, the model's probability decides.)
        return "shares a birthday and a family under another first name"
    if not family:
        return None
    bits = home.bits(pair.gammas) if home is not None else person_weight(pair) + HOME_PRIOR_BITS
    if bits >= weight_of(thresholds.auto_merge):
        return None
    return "shares a home; first name and date of birth do not make them one person"


def decide(
    pairs: Iterable[Scored],
    thresholds: Thresholds,
    top: dict[str, int],
    apart: Callable[[list[str], list[str]], str | None] | None = None,
    home: HomeModel | None = None,
) -> Decisions:
    """``top`` is each comparison's highest gamma (exact agreement); ``apart`` says why
    two groups of records must stay apart, or None; ``home`` the workspace's model of
    the people of one home."""
    out = Decisions()
    conflicts: dict[str, set[str]] = defaultdict(set)
    auto: list[Scored] = []
    maybe: list[Scored] = []
    for pair in pairs:
        if person_conflict(pair) is not None:
            conflicts[pair.left].add(pair.right)
            conflicts[pair.right].add(pair.left)
            if shares_household(pair.gammas, top):
                out.households.append(pair)
            continue
        if same_home_doubt(pair, top, thresholds, home) is not None:
            # Not sure to be one person of their home: not put together through a third
            # record either (a record without a birthday matching a father and his son).
            conflicts[pair.left].add(pair.right)
            conflicts[pair.right].add(pair.left)
            twins = pair.gammas.get("dob") == top.get("dob", -2)
            if pair.gammas.get("first_name") == 0 and not twins:
                out.households.append(pair)
            elif pair.probability >= thresholds.review:
                maybe.append(pair)  # twins, or one person: a person decides
            continue
        if pair.probability >= thresholds.auto_merge:
            auto.append(pair)
        elif pair.probability >= thresholds.review:
            maybe.append(pair)
    uf: UnionFind[str] = UnionFind()
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
