"""Which pairs of records are scored at all. Several blocking rules, each an equality on
one or a few columns, are unioned: a true pair is lost only when every rule misses it,
so rules over different fields (names by sound, date of birth, postcode, street, email,
phone) cover each other's typos and gaps. Rules are chosen from the columns a workspace
fills in, and a rule whose blocks are too large for the workspace's size (every record
of a common postcode, say) is left out; the report says how many pairs each rule makes
and why any was left out."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from accord.match import features, typos

# Equality rules, most telling first. Each is kept when all its columns are filled in.
CANDIDATES: tuple[tuple[str, ...], ...] = (
    ("id_number",),
    ("email",),
    ("phone",),
    ("first_formal", "last_name"),
    ("first_sound", "last_sound"),
    # A typo in one name: the other name whole and the first letter of the typed one.
    ("last_name", "first_initial"),
    ("first_formal", "last_initial"),
    # One name missing or a placeholder ("Lady Of House Pierce", a benefits file without
    # the surname): the other name with the middle initial.
    ("last_name", "middle_initial"),
    ("first_formal", "middle_initial"),
    # One name in common blocks little; with a part of the birthday, a date of birth
    # typed wrong in the other part still meets its record.
    ("first_formal", "last_name", "birth_year"),
    ("first_formal", "last_name", "birth_md"),
    ("last_sound", "dob"),
    ("first_sound", "dob"),
    ("dob", "postcode"),
    ("dob", "city"),
    ("first_formal", "postcode"),
    ("first_sound", "postcode"),
    ("last_sound", "postcode"),
    ("street",),
    # A building's people, one family at a time: a name missing or mistyped in one
    # record still meets the other records of its home.
    ("last_name", "street"),
    ("first_formal", "street"),
    ("street_name", "postcode"),
    ("first_sound", "city"),
    ("last_sound", "city"),
    ("dob", "zip3"),
    ("dob",),
    ("first_formal", "last_sound", "zip3"),
    ("last_name", "zip3", "first_initial"),
)
# Records whose first and last names are swapped, near each other (a custom join).
SWAPPED_NEAR = ("zip3", "dob", "city")
PAIRS_PER_RECORD = 5  # a rule may add at most this many pairs a record...
MIN_BUDGET = 50_000  # ...or this many in all, whichever is more
# A rule too large is kept for its blocks up to the size that fits a fifth of the budget
# (it adds to the others' pairs), when that size is at least MIN_CAP (blocks of two or
# three say little the other rules do not); a rule on more than one field (names), for
# its blocks of up to MAX_NAME_CAP records at most (larger ones are namesakes).
CAPPED_SHARE = 5
MIN_CAP = 4
MAX_NAME_CAP = 8


def size_column(columns: tuple[str, ...] | list[str]) -> str:
    """The column holding how many records share a record's values of ``columns``."""
    return "__".join(columns) + "__block"


@dataclass(frozen=True)
class Rule:
    columns: tuple[str, ...]
    pairs: int  # pairs its blocks hold (before removing those an earlier rule made)
    kept: bool
    reason: str
    lacking: str | None = None  # only pairs where one record lacks this field
    # Only blocks of up to this many records: a rule whose blocks make too many pairs
    # keeps its small ones (a street shared by a few records is a home, one shared by
    # hundreds a building; a rare name with an initial, not a common one).
    cap: int | None = None
    # Names a typo apart or swapped (``typos``): ``columns`` are the names read, ``cap`` bounds
    # the record pairs one pair of names makes.
    near: bool = False
    # The pairs of names the rule on typos found while it was counted, kept for the run.
    names: tuple[typos.NamePair, ...] | None = field(default=None, compare=False, repr=False)

    @property
    def sized(self) -> tuple[str, ...] | None:
        """The columns whose block size (``size_column``) the rule's SQL reads, if any."""
        return self.columns if self.cap is not None and not self.near else None

    @property
    def explode(self) -> list[str]:
        """The array columns the rule's join reads one element at a time."""
        return [typos.COLUMN] if self.near else []

    @property
    def sql(self) -> str:
        if self.near:
            return f"l.{typos.COLUMN} = -r.{typos.COLUMN}"
        same = " AND ".join(f"l.{c} = r.{c}" for c in self.columns)
        if self.cap is not None:
            same += f" AND l.{size_column(self.columns)} <= {int(self.cap)}"
        if self.lacking is None:
            return same
        return f"{same} AND (l.{self.lacking} IS NULL OR r.{self.lacking} IS NULL)"

    @property
    def stored(self) -> list[str] | dict[str, object]:
        """As the model keeps it: the columns, or the columns with the field lacking or
        the largest block."""
        if self.lacking is None and self.cap is None and not self.near:
            return list(self.columns)
        out: dict[str, object] = {"columns": list(self.columns)}
        if self.near:
            out["near"] = True
        if self.lacking is not None:
            out["lacking"] = self.lacking
        if self.cap is not None:
            out["cap"] = self.cap
        return out

    @classmethod
    def from_stored(cls, stored: Sequence[str] | Mapping[str, Any]) -> Rule:
        """A kept rule as ``stored`` gave it to a model."""
        if isinstance(stored, Mapping):
            return cls(
                tuple(stored["columns"]),
                0,
                True,
                "",
                stored.get("lacking"),
                stored.get("cap"),
                bool(stored.get("near")),
            )
        return cls(tuple(stored), 0, True, "")

    @property
    def name(self) -> str:
        if self.near:
            if self.cap is None:
                return "names a typo apart or swapped"
            return f"names a typo apart or swapped (names making up to {self.cap} pairs)"
        lacking = f" (one without {self.lacking})" if self.lacking else ""
        capped = f" (blocks of up to {self.cap})" if self.cap is not None else ""
        return "+".join(self.columns) + lacking + capped


def with_block_sizes(table: pa.Table, groups: Iterable[Sequence[str]]) -> pa.Table:
    """The table with, for each group of columns, how many records share each record's
    values of them (empty where one is)."""
    for group in groups:
        columns = list(group)
        name = size_column(columns)
        if name in table.column_names:
            continue
        row = pa.array(range(table.num_rows), type=pa.int64())
        keyed = features.filled(table.select(columns).append_column("__row", row), columns)
        counts = keyed.group_by(columns).aggregate([([], "count_all")])
        joined = keyed.join(counts, keys=columns, use_threads=False)
        sizes: list[float | None] = [None] * table.num_rows
        for i, n in zip(
            joined.column("__row").to_pylist(), joined.column("count_all").to_pylist(), strict=True
        ):
            sizes[i] = float(n)
        table = table.append_column(name, pa.array(sizes, type=pa.float64()))
    return table


def _largest_block_within(
    counts: Sequence[int], limit: int, most: int | None = None
) -> tuple[int, int] | None:
    """Of blocks of ``counts`` records, the largest size (``most`` at most) whose blocks,
    with all smaller ones, make at most ``limit`` pairs, and those pairs; None when even
    the smallest blocks make more."""
    by_size: dict[int, int] = {}
    for n in counts:
        if n > 1:
            by_size[n] = by_size.get(n, 0) + 1
    best: tuple[int, int] | None = None
    pairs = 0
    for size in sorted(by_size):
        pairs += by_size[size] * size * (size - 1) // 2
        if pairs > limit or (most is not None and size > most):
            break
        best = (size, pairs)
    return best


# Fields whose absence leaves a pair to a rule on names alone: the other rules need them.
FALLBACK_LACKING = ("dob", "postcode", "city")


def budget(records: int) -> int:
    return max(MIN_BUDGET, PAIRS_PER_RECORD * records)


def _block_counts(table: pa.Table, columns: tuple[str, ...]) -> list[int]:
    """The size of each block: records agreeing on every column (none of them empty)."""
    return [int(n) for n in features.counts_of(table, columns).column("count_all").to_pylist()]


def _pairs_of(counts: Sequence[int]) -> int:
    return sum(n * (n - 1) // 2 for n in counts)


def block_pairs(table: pa.Table, columns: tuple[str, ...]) -> int:
    """How many pairs of records agree on every column (none of them empty)."""
    return _pairs_of(_block_counts(table, columns))


def choose(table: pa.Table, present: set[str]) -> list[Rule]:
    """The candidate rules the workspace's columns allow, each with its pair count and
    whether it is used."""
    limit = budget(table.num_rows)
    out: list[Rule] = []
    for columns in CANDIDATES:
        if not all(c in present for c in columns):
            continue
        counts = _block_counts(table, columns)
        pairs = _pairs_of(counts)
        if pairs <= limit:
            out.append(Rule(columns, pairs, True, "used"))
            continue
        out.append(Rule(columns, pairs, False, f"more than {limit:,} pairs"))
        # Small blocks of a rule on names are still namesakes: on a large population,
        # blocks of a hundred bring namesakes the model takes for one person.
        most = MAX_NAME_CAP if len(columns) > 1 else None
        within = _largest_block_within(counts, limit // CAPPED_SHARE, most)
        if within is not None and within[0] >= MIN_CAP:
            cap, some = within
            out.append(Rule(columns, some, True, "used", cap=cap))
        # Too large for all pairs, but the pairs where one record lacks a field the
        # other rules rely on can only be found here (a store record with a name and no
        # birthday): those alone, when they fit.
        for lacking in FALLBACK_LACKING:
            if lacking not in present or lacking in columns:
                continue
            both = table.filter(pc.is_valid(table.column(lacking)))
            some = pairs - block_pairs(both, columns)
            if some <= limit:
                out.append(Rule(columns, some, True, "used", lacking))
                break
    if out and not any(r.kept for r in out):  # too large everywhere: the smallest still
        small = min(out, key=lambda r: r.pairs)
        out[out.index(small)] = Rule(small.columns, small.pairs, True, "used: the smallest")
    return out + near_rules(table, present, limit)


def near_rules(table: pa.Table, present: set[str], limit: int) -> list[Rule]:
    """Names a typo apart or swapped (``typos``), with all their pairs when they fit, else the
    name pairs that make the fewest record pairs (a typo held once beside a name few
    records hold), as many as fit a fifth of the budget."""
    kinds = typos.kinds_in(present)
    if not kinds:
        return []
    columns = tuple(dict.fromkeys(c for kind in kinds for c in kind if c is not None))
    found = tuple(typos.all_name_pairs(table))
    pairs = typos.pairs_within(found, None)
    if pairs <= limit:
        return [Rule(columns, pairs, True, "used", near=True, names=found)]
    out = [Rule(columns, pairs, False, f"more than {limit:,} pairs", near=True)]
    # Like a rule kept to its small blocks, it adds to the others' pairs: a fifth.
    within = typos.largest_cap_within(found, limit // CAPPED_SHARE)
    if within is not None:
        cap, some = within
        out.append(Rule(columns, some, True, "used", cap=cap, near=True, names=found))
    return out


def with_near_pairs(table: pa.Table, rules: Iterable[Rule]) -> pa.Table:
    """The table with the name-pair ids the rule on names a typo apart or swapped joins on."""
    for rule in rules:
        if rule.near:
            table = typos.with_pair_ids(table, rule.cap, rule.names)
    return table


def swapped_rules(present: set[str]) -> list[str]:
    """Swapped first and last names (or their sounds, for a typo besides), near each
    other, or exactly swapped where one record of the pair lacks each field that says
    where (no other rule can reach them): SQL for custom rules."""
    if not {"first_name", "last_name"} <= present:
        return []
    swapped = "l.first_name = r.last_name AND l.last_name = r.first_name"
    fields = [c for c in SWAPPED_NEAR if c in present]
    near = fields or ["first_formal"]
    rules = [f"{swapped} AND l.{c} = r.{c}" for c in near]
    if fields:
        lacking = " AND ".join(f"(l.{c} IS NULL OR r.{c} IS NULL)" for c in fields[:2])
        rules.append(f"{swapped} AND {lacking}")
    if {"first_sound", "last_sound"} <= present:
        sounds = "l.first_sound = r.last_sound AND l.last_sound = r.first_sound"
        rules += [f"{sounds} AND l.{c} = r.{c}" for c in near[:1]]
    return rules
