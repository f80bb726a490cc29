"""Survivorship: the golden record is computed from every contribution (each event's
traits, with its source and time), so a merge loses nothing and a split restores each
side exactly. A value wins over another when it is not empty and its source ranks
higher, or ranks the same and was observed later."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from accord.collect.traits import is_empty


@dataclass(frozen=True)
class Contribution:
    traits: Mapping[str, Any]
    source: str
    at: datetime
    message_id: str


def _rank(
    source: str, at: str, message_id: str, priorities: Mapping[str, int]
) -> tuple[int, str, str]:
    return (priorities.get(source, 0), at, message_id)


def apply(
    golden: dict[str, Any], contribution: Contribution, priorities: Mapping[str, int]
) -> bool:
    """Fold one contribution into ``golden`` in place; returns whether anything changed."""
    at = contribution.at.isoformat()
    new_rank = _rank(contribution.source, at, contribution.message_id, priorities)
    changed = False
    for key, value in contribution.traits.items():
        if is_empty(value):
            continue
        current = golden.get(key)
        if current is not None:
            cur_rank = _rank(current["source"], current["at"], current["event"], priorities)
            if cur_rank >= new_rank:
                continue
        golden[key] = {
            "value": value,
            "source": contribution.source,
            "at": at,
            "event": contribution.message_id,
        }
        changed = True
    return changed


def combine(
    a: Mapping[str, Any], b: Mapping[str, Any], priorities: Mapping[str, int]
) -> dict[str, Any]:
    """The golden record of two people merged: per key, the better of the two winners."""
    out = dict(a)
    for key, cand in b.items():
        cur = out.get(key)
        if cur is None or _rank(cur["source"], cur["at"], cur["event"], priorities) < _rank(
            cand["source"], cand["at"], cand["event"], priorities
        ):
            out[key] = cand
    return out


def compute(contributions: Iterable[Contribution], priorities: Mapping[str, int]) -> dict[str, Any]:
    golden: dict[str, Any] = {}
    for c in contributions:
        apply(golden, c, priorities)
    return golden


def value(golden: Mapping[str, Any], key: str) -> Any:
    entry = golden.get(key)
    return entry["value"] if entry else None


def display_name(golden: Mapping[str, Any]) -> str | None:
    first, last = value(golden, "firstName"), value(golden, "lastName")
    parts = [str(p).strip() for p in (first, last) if p and str(p).strip()]
    if parts:
        return " ".join(parts)
    name = value(golden, "name")
    return str(name).strip() if name else None
