"""The people of one home, told apart. Two records that share an address, a phone or an
email are one person or two relatives (or neighbours); the fields of the home say
nothing between those two, so such a pair is judged on the fields that tell people
apart: the first name and the date of birth.

The model's m probabilities hold for a person in any home. What differs is how often
two *different* people of one home agree: twins share a date of birth, a father and
his son a first name, far more often than two strangers do. So the chances of each
level among relatives (``u``) and the share of home pairs that are one person
(``prior``) are estimated on the workspace's own home pairs by EM, with the m's held
fixed and the strangers' u's as a weak prior. In a file without families, nearly every
home pair is one person and a mistyped date of birth does not split it; where families
live together, twins and fathers and sons stay apart."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ROUNDS = 200
PSEUDO_PAIRS = 50.0  # the strangers' u counts as this many home pairs
PRIOR_RANGE = (0.01, 0.99)
MIN_PAIRS = 30
# Below this share of home pairs being one person, the workspace's homes hold families.
FAMILIES_BELOW = 0.8


@dataclass
class HomeCounts:
    """What a run saw of its home pairs: the person-level comparisons, and each
    combination of their gammas with how many pairs have it."""

    names: list[str] = field(default_factory=list)
    counts: list[tuple[tuple[int, ...], int]] = field(default_factory=list)


@dataclass(frozen=True)
class HomeModel:
    prior: float  # share of home pairs that are one person
    m: dict[str, dict[int, float]]  # comparison -> gamma -> m
    u: dict[str, dict[int, float]]  # comparison -> gamma -> u among the people of a home

    @property
    def families(self) -> bool:
        """Whether the workspace's homes hold several people (relatives, twins)."""
        return self.prior < FAMILIES_BELOW

    def bits(self, gammas: Mapping[str, int]) -> float:
        """Log2 odds that a pair sharing a home is one person."""
        total = math.log2(self.prior / (1 - self.prior))
        for name, by_gamma in self.m.items():
            gamma = gammas.get(name, -1)
            if gamma is None or gamma < 0 or gamma not in by_gamma:
                continue
            total += math.log2(max(by_gamma[gamma], 1e-9) / max(self.u[name][gamma], 1e-9))
        return total

    def as_dict(self) -> dict[str, Any]:
        return {
            "prior": self.prior,
            "m": {n: {str(g): v for g, v in lv.items()} for n, lv in self.m.items()},
            "u": {n: {str(g): v for g, v in lv.items()} for n, lv in self.u.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HomeModel:
        return cls(
            prior=float(data["prior"]),
            m={n: {int(g): float(v) for g, v in lv.items()} for n, lv in data["m"].items()},
            u={n: {int(g): float(v) for g, v in lv.items()} for n, lv in data["u"].items()},
        )


def fit(
    names: Sequence[str],
    counts: Sequence[tuple[tuple[int, ...], int]],
    m: Mapping[str, Mapping[int, float]],
    u: Mapping[str, Mapping[int, float]],
) -> HomeModel:
    """EM over the home pairs' person-level gammas (``counts``: each combination of
    gammas, in the order of ``names``, with how many pairs have it)."""
    m_of = {n: dict(m[n]) for n in names}
    u_strangers = {n: dict(u[n]) for n in names}
    pairs = sum(c for _, c in counts)
    if pairs < MIN_PAIRS:
        return HomeModel(0.2, m_of, u_strangers)
    # The person-level fields these pairs fill in (an id number nobody has says nothing).
    present = [
        name
        for i, name in enumerate(names)
        if any(gammas[i] >= 0 and count for gammas, count in counts)
    ]
    prior = 0.5
    # Start between the strangers' u and even odds over the levels: relatives may agree
    # on anything, and EM from the strangers' u alone would take every agreement in a
    # home for one person.
    u_home = {
        n: {g: (us + 1 / len(u_strangers[n])) / 2 for g, us in u_strangers[n].items()}
        for n in names
    }
    if len(present) < 2:
        u_home = {n: dict(u_strangers[n]) for n in names}
    for _ in range(ROUNDS):
        matched = 0.0
        apart: dict[str, dict[int, float]] = {n: {} for n in names}
        apart_total = 0.0
        for gammas, count in counts:
            lm, lu = prior, 1 - prior
            for name, gamma in zip(names, gammas, strict=True):
                if gamma < 0 or gamma not in m_of[name]:
                    continue
                lm *= m_of[name][gamma]
                lu *= u_home[name][gamma]
            p = lm / (lm + lu) if lm + lu > 0 else 0.0
            matched += p * count
            weight = (1 - p) * count
            apart_total += weight
            for name, gamma in zip(names, gammas, strict=True):
                if gamma >= 0 and gamma in m_of[name]:
                    apart[name][gamma] = apart[name].get(gamma, 0.0) + weight
        new_prior = min(max(matched / pairs, PRIOR_RANGE[0]), PRIOR_RANGE[1])
        if len(present) < 2:
            # One field cannot tell both how often relatives agree and how many pairs
            # are relatives: relatives are taken to agree as strangers do.
            if abs(new_prior - prior) < 1e-7:
                prior = new_prior
                break
            prior = new_prior
            continue
        new_u = {}
        for name in names:
            seen = sum(apart[name].values())
            new_u[name] = {
                g: (apart[name].get(g, 0.0) + PSEUDO_PAIRS * us) / (seen + PSEUDO_PAIRS)
                for g, us in u_strangers[name].items()
            }
        moved = abs(new_prior - prior) + max(
            abs(new_u[n][g] - u_home[n][g]) for n in names for g in new_u[n]
        )
        prior, u_home = new_prior, new_u
        if moved < 1e-7:
            break
    return HomeModel(prior, m_of, u_home)
