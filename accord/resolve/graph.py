"""The canonical partition of an identity graph into people.

Pure functions, no database: given identifier nodes, the links that events made between
them, the workspace's rules and any recorded separations, return the groups of nodes
that are one person each. The result depends only on those inputs, never on the order
in which events arrived, which is what makes real-time resolution order-independent:
every change recomputes the partition of the connected part of the graph it touches.

Rules, in order of precedence:
1. A blocked identifier links nothing (it is a person of its own).
2. A separation (a merge someone undid) keeps its two sides apart.
3. A unique type (user_id by default) has at most one value per person.
4. A limited type (at most N emails) keeps its N best-connected values; the rest stand
   alone.

When a connected part breaks rule 2 or 3, its nodes are shared among the conflicting
seeds by breadth-first distance, ties going to the seed with the smaller key, so each
group stays connected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class TypeRule:
    name: str
    priority: int
    unique: bool = False
    limit: int | None = None


@dataclass(frozen=True)
class Node:
    type: str
    value: str

    @property
    def sort_key(self) -> str:
        return f"{self.type}:{self.value}"


def _adjacency(keys: Iterable[K], edges: Iterable[tuple[K, K]]) -> dict[K, set[K]]:
    allowed = set(keys)
    adj: dict[K, set[K]] = {k: set() for k in allowed}
    for a, b in edges:
        if a in allowed and b in allowed:
            adj[a].add(b)
            adj[b].add(a)
    return adj


def components(keys: Iterable[K], adj: Mapping[K, set[K]]) -> list[set[K]]:
    seen: set[K] = set()
    out: list[set[K]] = []
    for start in keys:
        if start in seen:
            continue
        comp = {start}
        stack = [start]
        seen.add(start)
        while stack:
            for nxt in adj[stack.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    comp.add(nxt)
                    stack.append(nxt)
        out.append(comp)
    return out


def _share_by_distance(
    members: set[K], adj: Mapping[K, set[K]], seeds: Sequence[tuple[str, set[K]]]
) -> list[set[K]]:
    """Multi-source BFS inside ``members``: each node joins the nearest seed, reached
    through a neighbour of the same seed one step closer (so groups stay connected)."""
    label: dict[K, str] = {}
    frontier: list[K] = []
    for seed_key, seed_nodes in sorted(seeds, key=lambda s: s[0]):
        for n in seed_nodes:
            if n in members and n not in label:
                label[n] = seed_key
                frontier.append(n)
    while frontier:
        proposals: dict[K, str] = {}
        for n in frontier:
            for nxt in adj[n]:
                if nxt in members and nxt not in label:
                    current = proposals.get(nxt)
                    if current is None or label[n] < current:
                        proposals[nxt] = label[n]
        label.update(proposals)
        frontier = list(proposals)
    groups: dict[str, set[K]] = defaultdict(set)
    unreached: list[set[K]] = []
    for n in members:
        if n in label:
            groups[label[n]].add(n)
    rest = members - set(label)
    if rest:
        unreached = components(sorted(rest, key=repr), _adjacency(rest, _edges_of(adj, rest)))
    return [g for _, g in sorted(groups.items())] + unreached


def _edges_of(adj: Mapping[K, set[K]], keys: set[K]) -> list[tuple[K, K]]:
    return [(a, b) for a in keys for b in adj[a] if b in keys]


@dataclass(frozen=True)
class Rules:
    types: Mapping[str, TypeRule]

    def rule(self, type_name: str) -> TypeRule:
        return self.types.get(type_name) or TypeRule(type_name, priority=0)


def _conflict_seeds(
    members: set[K],
    nodes: Mapping[K, Node],
    rules: Rules,
    separations: Sequence[tuple[frozenset[K], frozenset[K]]],
) -> list[tuple[str, set[K]]] | None:
    for i, (side_a, side_b) in enumerate(separations):
        a, b = members & side_a, members & side_b
        if a and b:
            return [(f"0sep{i:06d}a", set(a)), (f"0sep{i:06d}b", set(b))]
    unique_types = sorted(
        (r for r in rules.types.values() if r.unique), key=lambda r: (-r.priority, r.name)
    )
    for rule in unique_types:
        by_value: dict[str, set[K]] = defaultdict(set)
        for k in members:
            if nodes[k].type == rule.name:
                by_value[nodes[k].value].add(k)
        if len(by_value) > 1:
            return [(f"1{rule.name}:{value}", ks) for value, ks in by_value.items()]
    return None


def _over_limit(
    members: set[K], nodes: Mapping[K, Node], adj: Mapping[K, set[K]], rules: Rules
) -> set[K]:
    by_type: dict[str, list[K]] = defaultdict(list)
    for k in members:
        by_type[nodes[k].type].append(k)
    excess: set[K] = set()
    for type_name, keys in by_type.items():
        limit = rules.rule(type_name).limit
        if limit is not None and len(keys) > limit:
            ranked = sorted(
                keys,
                key=lambda k: (-len(adj[k] & members), nodes[k].value),
            )
            excess.update(ranked[limit:])
    return excess


def _split(
    members: set[K],
    nodes: Mapping[K, Node],
    adj: Mapping[K, set[K]],
    rules: Rules,
    separations: Sequence[tuple[frozenset[K], frozenset[K]]],
    depth: int = 0,
) -> list[set[K]]:
    seeds = _conflict_seeds(members, nodes, rules, separations)
    if seeds is not None and depth < 64:
        out: list[set[K]] = []
        for group in _share_by_distance(members, adj, seeds):
            out.extend(_split(group, nodes, adj, rules, separations, depth + 1))
        return out
    excess = _over_limit(members, nodes, adj, rules)
    if not excess:
        return [members]
    kept = members - excess
    out = []
    sub_adj = _adjacency(kept, _edges_of(adj, kept))
    for comp in components(sorted(kept, key=lambda k: nodes[k].sort_key), sub_adj):
        out.extend(_split(comp, nodes, adj, rules, separations, depth + 1))
    out.extend({k} for k in sorted(excess, key=lambda k: nodes[k].sort_key))
    return out


def partition(
    nodes: Mapping[K, Node],
    edges: Iterable[tuple[K, K]],
    rules: Rules,
    *,
    blocked: Iterable[K] = (),
    separations: Sequence[tuple[frozenset[K], frozenset[K]]] = (),
) -> list[set[K]]:
    """Groups of node keys, one per person."""
    blocked_set = set(blocked) & set(nodes)
    active = [k for k in sorted(nodes, key=lambda k: nodes[k].sort_key) if k not in blocked_set]
    adj = _adjacency(active, edges)
    groups: list[set[K]] = []
    for comp in components(active, adj):
        groups.extend(_split(comp, nodes, adj, rules, separations))
    groups.extend({k} for k in sorted(blocked_set, key=lambda k: nodes[k].sort_key))
    return groups


def canonical(groups: Iterable[set[K]], nodes: Mapping[K, Node]) -> frozenset[frozenset[str]]:
    """A partition as sets of ``type:value`` strings, for comparing two resolutions."""
    return frozenset(frozenset(nodes[k].sort_key for k in g) for g in groups)


def connected_components(keys: Iterable[K], edges: Iterable[tuple[K, K]]) -> list[set[K]]:
    key_list = list(keys)
    return components(key_list, _adjacency(key_list, edges))
