"""Everything Accord imports is installed with it: a plain `pip install accord` runs every
documented command (the benchmarks included), without the dev extra."""

from __future__ import annotations

import ast
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

ACCORD = Path(__file__).resolve().parents[1] / "accord"
# Imported only where the optional extra is installed (`accord resolve --engine spark`).
OPTIONAL = {"pyspark": "spark"}


def _closure(name: str) -> set[str]:
    """The distributions installing ``name`` brings (with the extras each asks for)."""
    seen: set[tuple[str, str]] = set()
    todo: list[tuple[str, frozenset[str]]] = [(name, frozenset())]
    while todo:
        dist, extras = todo.pop()
        for extra in {"", *extras}:
            key = (dist.lower().replace("_", "-"), extra)
            if key in seen:
                continue
            seen.add(key)
            for raw in requires(dist) or []:
                req = Requirement(raw)
                if req.marker is not None and not req.marker.evaluate({"extra": extra}):
                    continue
                todo.append((req.name, frozenset(req.extras)))
    return {d for d, _ in seen}


def _imported_top_levels() -> set[str]:
    names: set[str] = set()
    for path in ACCORD.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(a.name.split(".")[0] for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names - {"accord"} - set(sys.stdlib_module_names) - {"__future__"}


def test_every_import_is_a_runtime_dependency() -> None:
    installed = _closure("accord")
    owners = packages_distributions()
    missing = []
    for name in sorted(_imported_top_levels()):
        if name in OPTIONAL:
            continue
        dists = {d.lower().replace("_", "-") for d in owners.get(name, [])}
        if not dists & installed:
            missing.append(f"{name} (from {', '.join(sorted(dists)) or 'nowhere'})")
    assert missing == []
