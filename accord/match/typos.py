"""Records whose names are one typing error apart: the same first name and a surname one
letter off ("Holmes", "Holmek"; "Millr", "Miller"; "Sanchez", "Snachez"), or the same
surname and a first name one letter off; and names swapped, the moved one as written or
one letter off ("Sam Webb", "Webb Sma"); and a nickname mistyped beside the formal name
("Mik" and "Michael", with the same surname). No equality on a name finds such a pair, and
when the record with the typo also lacks what the other rules block on (a birthday, an
address), no rule finds it at all.

Two names one edit apart (a letter dropped, added, changed, or two neighbours swapped)
always share a key among each name and its single-letter deletions; names sharing a key
are then checked to be one edit apart (a shared key also joins some names two edits
apart: "abxc" and "aybc" by "abc"). The names are paired here, once per distinct name,
and each record is given the signed ids of the pairs it is in (plus on one side, minus
on the other), so that the blocking join ``l.x = -r.x`` over the exploded ids yields
exactly the records of paired names and never the many pairs of records sharing one
name. The other side of a pair may be common: a typo held once makes one pair with each
record of the name it was typed from. Too many pairs in all, and the rule keeps the name
pairs that make the fewest record pairs (a typo held once beside a name few hold)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import pyarrow as pa

from accord.match import features, names

# (same column, the name one letter off, a column that differs): the kinds of name pairs,
# all joined by one rule. The sounds catch a typo in both names; their pairs are those
# the first two kinds do not make (the formal first names, or the surnames, differ).
KINDS: tuple[tuple[str, str, str | None], ...] = (
    ("first_formal", "last_name", None),
    ("last_name", "first_name", None),
    ("first_sound", "last_name", "first_formal"),
    ("last_sound", "first_name", "last_name"),
)
# Names swapped, the one moved as written or one edit off ("Sam Webb" and "Webb Sma"):
# both sides' records keyed by (first name, last name).
SWAPPED: tuple[str, str, str | None] = ("first_name", "last_name", None)
# A first name one edit from a name the other's formal name is known by ("Mik" and
# "Michael": "Mik" is "Mike" mistyped, "Mikey" or "Michael" itself): the same surname,
# both records keyed by (surname, first name, formal first name).
NICKNAME_TYPO: tuple[str, str, str | None] = ("last_name", "first_name", "first_formal")
COLUMN = "names_near"  # a record's signed name-pair ids
# Names shorter than this are only their own key: dropping a letter of "Li" or "Wu"
# leaves an initial, which would pair every short name beginning with it.
MIN_LENGTH = 3


def keys(name: str) -> set[str]:
    """The name and, for a name long enough, each of its single-letter deletions."""
    if len(name) < MIN_LENGTH:
        return {name}
    return {name} | {name[:i] + name[i + 1 :] for i in range(len(name))}


def one_edit(a: str, b: str) -> bool:
    """Whether ``b`` is ``a`` with one letter dropped, added, changed, or two neighbours
    swapped."""
    if a == b or abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    if len(a) < len(b):  # one letter added
        return any(a == b[:i] + b[i + 1 :] for i in range(len(b)))
    diff = [i for i in range(len(a)) if a[i] != b[i]]
    if len(diff) == 1:
        return True
    return (
        len(diff) == 2
        and diff[1] == diff[0] + 1
        and a[diff[0]] == b[diff[1]]
        and a[diff[1]] == b[diff[0]]
    )


def by_keys(given: Iterable[str]) -> dict[str, list[str]]:
    """Each key (``keys``) with the names holding it, in the order given."""
    out: dict[str, list[str]] = defaultdict(list)
    for name in given:
        for key in keys(name):
            out[key].append(name)
    return out


Name = tuple[str, str, str]  # a record's (same, near, apart) values; apart "" if none


@dataclass(frozen=True)
class NamePair:
    """Two names with one same value, one edit apart, and their records' counts."""

    left: Name
    right: Name
    left_count: int
    right_count: int
    kind: tuple[str, str, str | None] = ("", "", None)

    @property
    def pairs(self) -> int:
        return self.left_count * self.right_count


def name_pairs(table: pa.Table, same: str, near: str, apart: str | None = None) -> list[NamePair]:
    """Each pair of (same, near, apart) values with the same ``same``, ``near`` one edit
    apart and ``apart`` different, with how many records hold each."""
    columns = [same, near] + ([apart] if apart else [])
    if any(c not in table.column_names for c in columns):
        return []
    counts = features.counts_of(table, columns)
    values = zip(
        counts.column(same).to_pylist(),
        counts.column(near).to_pylist(),
        counts.column(apart).to_pylist() if apart else [""] * counts.num_rows,
        counts.column("count_all").to_pylist(),
        strict=True,
    )
    # near value -> same value -> (apart value, records): the distinct names are few, so
    # they are paired first, then their records' same values met.
    held: dict[str, dict[str, list[tuple[str, int]]]] = defaultdict(dict)
    for s, n, o, c in values:
        held[n].setdefault(s, []).append((o, int(c)))
    close: set[tuple[str, str]] = set()
    for sharing in by_keys(held).values():
        for i, a in enumerate(sharing):
            for b in sharing[i + 1 :]:
                if one_edit(a, b):
                    close.add((a, b) if a < b else (b, a))
    out: list[NamePair] = []
    kind = (same, near, apart)
    for a, b in sorted(close):
        of_a, of_b = held[a], held[b]
        for s in of_a.keys() & of_b.keys():
            for oa, ca in of_a[s]:
                for ob, cb in of_b[s]:
                    if not apart or oa != ob:
                        out.append(NamePair((s, a, oa), (s, b, ob), ca, cb, kind))
    return out


def pairs_within(found: Iterable[NamePair], cap: int | None) -> int:
    """Record pairs the name pairs make, of name pairs making at most ``cap`` each."""
    return sum(p.pairs for p in found if cap is None or p.pairs <= cap)


def largest_cap_within(found: Sequence[NamePair], limit: int) -> tuple[int, int] | None:
    """The largest number of record pairs a name pair may make so that those pairs, with
    all smaller ones, are at most ``limit``, and their total; None when even name pairs
    of one record pair each make more. The smallest first: a typo held once beside a name
    a few records hold, before two names many hold (Mary Hall and Mary Hill)."""
    by_size: dict[int, int] = defaultdict(int)
    for p in found:
        by_size[p.pairs] += p.pairs
    best: tuple[int, int] | None = None
    total = 0
    for size in sorted(by_size):
        total += by_size[size]
        if total > limit:
            break
        best = (size, total)
    return best


def swapped_pairs(table: pa.Table) -> list[NamePair]:
    """Each pair of (first, last) names where one's first name is the other's last name
    and its last name the other's first name as written or one edit off."""
    columns = ["first_name", "last_name"]
    if any(c not in table.column_names for c in columns):
        return []
    counts = features.counts_of(table, columns)
    combos = {
        (f, la): int(c)
        for f, la, c in zip(
            counts.column("first_name").to_pylist(),
            counts.column("last_name").to_pylist(),
            counts.column("count_all").to_pylist(),
            strict=True,
        )
    }
    by_last: dict[str, list[str]] = defaultdict(list)
    for f, la in combos:
        by_last[la].append(f)
    found: set[tuple[tuple[str, str], tuple[str, str]]] = set()
    for a in combos:
        first, last = a
        for other_first in by_last.get(first, ()):
            b = (other_first, first)
            if b != a and (other_first == last or one_edit(other_first, last)):
                found.add((a, b) if a < b else (b, a))
    return [
        NamePair((a[0], a[1], ""), (b[0], b[1], ""), combos[a], combos[b], SWAPPED)
        for a, b in sorted(found)
    ]


@lru_cache(maxsize=1)
def _known_by_key() -> dict[str, list[str]]:
    """Every first name Accord's nickname list knows (formal names and their nicknames),
    by each of its keys."""
    return by_keys(sorted(names.LISTED_FIRST_NAMES))


@lru_cache(maxsize=100_000)
def formals_near(first: str) -> frozenset[str]:
    """The formal names of the known names one edit from ``first`` (itself unknown):
    'mik' -> michael (from mike and mick)."""
    near: set[str] = set()
    for key in keys(first):
        for known in _known_by_key().get(key, ()):
            if one_edit(first, known):
                near.add(names.formal_name(known) or known)
    return frozenset(near)


def nickname_typo_pairs(table: pa.Table) -> list[NamePair]:
    """Each pair of (surname, first name, formal first name) values with the same
    surname, where one first name is unknown to both nickname lists and one edit from a
    name known for the other's formal name; not pairs other rules or kinds make already
    (the formal names equal, or the first names one edit apart)."""
    columns = [c for c in NICKNAME_TYPO if c is not None]
    if any(c not in table.column_names for c in columns):
        return []
    counts = features.counts_of(table, columns)
    # surname -> formal first name -> [(first name, records)]
    by_formal: dict[str, dict[str, list[tuple[str, int]]]] = defaultdict(dict)
    rows = list(
        zip(
            counts.column("last_name").to_pylist(),
            counts.column("first_name").to_pylist(),
            counts.column("first_formal").to_pylist(),
            counts.column("count_all").to_pylist(),
            strict=True,
        )
    )
    for last, first, formal, count in rows:
        by_formal[last].setdefault(formal, []).append((first, int(count)))
    found: list[NamePair] = []
    for last, first, formal, count in rows:
        if len(first) < MIN_LENGTH or names.known_first_name(first):
            continue
        of_last = by_formal[last]
        for target in formals_near(first):
            if target == formal:
                continue
            for other, other_count in of_last.get(target, ()):
                if other == first or one_edit(first, other):
                    continue
                found.append(
                    NamePair(
                        (last, first, formal),
                        (last, other, target),
                        int(count),
                        other_count,
                        NICKNAME_TYPO,
                    )
                )
    return found


def kinds_in(present: Iterable[str]) -> list[tuple[str, str, str | None]]:
    have = set(present)
    every = (*KINDS, SWAPPED, NICKNAME_TYPO)
    kinds = [k for k in every if all(c in have for c in k if c is not None)]
    return list(dict.fromkeys(kinds))


def pairs_of_kind(table: pa.Table, kind: tuple[str, str, str | None]) -> list[NamePair]:
    if kind == SWAPPED:
        return swapped_pairs(table)
    if kind == NICKNAME_TYPO:
        return nickname_typo_pairs(table)
    return name_pairs(table, *kind)


def all_name_pairs(table: pa.Table) -> list[NamePair]:
    """The name pairs of every kind the table's columns allow (a pair of records two
    kinds both make, rare, is counted once for each)."""
    return [p for kind in kinds_in(table.column_names) for p in pairs_of_kind(table, kind)]


def with_pair_ids(
    table: pa.Table, cap: int | None, found: Sequence[NamePair] | None = None
) -> pa.Table:
    """The table with ``COLUMN``: each record's signed ids of the name pairs it is in
    (empty where none), name pairs making more than ``cap`` record pairs left out.
    ``found`` are the table's name pairs when they were found already."""
    if COLUMN in table.column_names:
        return table
    column: list[list[int] | None] = [None] * table.num_rows
    number = 0
    for kind in kinds_in(table.column_names):
        same, near, apart = kind
        ids: dict[Name, list[int]] = defaultdict(list)
        of_kind = (
            pairs_of_kind(table, kind) if found is None else [p for p in found if p.kind == kind]
        )
        for p in of_kind:
            if cap is not None and p.pairs > cap:
                continue
            number += 1
            ids[p.left].append(number)
            ids[p.right].append(-number)
        if not ids:
            continue
        sames = table.column(same).to_pylist()
        nears = table.column(near).to_pylist()
        aparts = table.column(apart).to_pylist() if apart else [""] * table.num_rows
        for i, key in enumerate(zip(sames, nears, aparts, strict=True)):
            got = ids.get(key)
            if got:
                held = column[i]
                column[i] = got if held is None else [*held, *got]
    return table.append_column(COLUMN, pa.array(column, type=pa.list_(pa.int64())))
