"""What a matching run gives and what reads it, without the engine: the scored pairs,
the levels of each comparison, the run's result, match weights, the fields that tell
the people of one home apart, and the model of those people. The API, the decisions
and the applying of a run read these; only a run itself loads Splink, DuckDB and
Arrow (``engine``), so the processes that serve requests and resolve events never do."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from accord.match import household

if TYPE_CHECKING:
    import pyarrow as pa

Engine = Literal["duckdb", "spark"]

PERSON_LEVEL = ("first_name", "middle_name", "dob", "gender", "id_number")
HOUSEHOLD_LEVEL = ("last_name", "address", "phone", "email")
# The levels that say two records share a home: the top four of the address comparison
# (same street and postcode, same street, similar street in the same postcode or in
# another) and an exact phone or email.
HOUSEHOLD_DEPTH = {"address": 4, "phone": 1, "email": 1}


def shares_household(gammas: Mapping[str, int], top: Mapping[str, int]) -> bool:
    return any(
        name in top and gammas.get(name, -1) > top[name] - depth
        for name, depth in HOUSEHOLD_DEPTH.items()
    )


@dataclass
class Level:
    label: str
    gamma: int
    m: float | None
    u: float | None

    @property
    def weight(self) -> float | None:
        if not self.m or not self.u:
            return None
        return math.log2(self.m / self.u)


@dataclass
class TrainingRule:
    rule: str
    pairs_lambda: float | None
    accepted: bool
    reason: str


class Fields(Mapping[str, Any]):
    """One value per comparison, stored as a tuple with the names shared by every pair
    of a run: millions of scored pairs stay small."""

    __slots__ = ("_index", "_values")

    def __init__(self, index: dict[str, int], values: tuple[Any, ...]) -> None:
        self._index = index
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[self._index[key]]

    def get(self, key: str, default: Any = None) -> Any:
        i = self._index.get(key)
        return default if i is None else self._values[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)


@dataclass(slots=True)
class Scored:
    left: str
    right: str
    weight: float
    probability: float
    gammas: Mapping[str, int]
    weights: Mapping[str, float]


@dataclass
class Result:
    pairs: list[Scored]
    model: dict[str, Any]
    levels: dict[str, list[Level]]
    training: list[TrainingRule]
    trained: bool
    phases: dict[str, float] = field(default_factory=dict)
    records: int = 0
    tf: dict[str, dict[str, float]] = field(default_factory=dict)
    # Why nothing was compared (too few people, or no field filled in twice); None when
    # the model ran.
    skipped: str | None = None
    # Every candidate pair blocking made (ids and the rule that first made it), when asked
    # for: what an evaluation measures blocking recall on.
    candidates: pa.Table | None = None


def weight_of(probability: float) -> float:
    """The match weight (log2 odds) of a match probability (infinite at 0 and 1)."""
    if probability >= 1:
        return math.inf
    if probability <= 0:
        return -math.inf
    return math.log2(probability / (1 - probability))


def levels_of(model: dict[str, Any]) -> dict[str, list[Level]]:
    """Each comparison's non-null levels with their gamma value, m and u."""
    out: dict[str, list[Level]] = {}
    for comp in model["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        n = len(levels)
        out[comp["output_column_name"]] = [
            Level(
                label=lv.get("label_for_charts", ""),
                gamma=n - 1 - i,
                m=lv.get("m_probability"),
                u=lv.get("u_probability"),
            )
            for i, lv in enumerate(levels)
        ]
    return out


def by_gamma(settings: dict[str, Any], which: str) -> dict[str, dict[int, float]]:
    return {
        name: {lv.gamma: float(getattr(lv, which) or 0.0) for lv in levels}
        for name, levels in levels_of(settings).items()
    }


def home_model_of(model: Mapping[str, Any]) -> household.HomeModel | None:
    """The model of the people of one home a run measured, or, for a model stored before
    homes were measured, one with the default share and the strangers' u's."""
    stored = model.get("home")
    if isinstance(stored, Mapping):
        return household.HomeModel.from_dict(stored)
    settings = model.get("settings")
    if not isinstance(settings, dict) or "comparisons" not in settings:
        return None
    names = [n for n in PERSON_LEVEL if n in levels_of(settings)]
    return household.fit(names, [], by_gamma(settings, "m"), by_gamma(settings, "u"))


def blocking_summary(report: list[dict[str, Any]]) -> str:
    """A run's blocking rules as a line: each used rule with the pairs it makes, and how
    many were left out (too large for the workspace, or kept in part)."""
    used = [b for b in report if b.get("used")]
    line = "; ".join(f"{b.get('name') or '+'.join(b['columns'])} {b['pairs']:,}" for b in used)
    if len(used) < len(report):
        line += f" (left out: {len(report) - len(used)})"
    return line
