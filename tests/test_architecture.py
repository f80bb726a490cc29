"""Rules of the code's layout that are checked, not only written down: no import cycle
between modules (imports made only for type checking included; the layer order between
packages is the import contract that `make check` runs), handlers and pages go through
services, and each kind of write has one owner."""

from __future__ import annotations

import ast
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]
ACCORD = ROOT / "accord"


def _cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_between_modules() -> None:
    graph = grimp.build_graph("accord", exclude_type_checking_imports=False)
    edges = {m: set(graph.find_modules_directly_imported_by(m)) for m in graph.modules}
    assert _cycles(edges) == []


def test_the_cycle_finder_finds_cycles() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def _edge_modules() -> list[Path]:
    """Route handlers and console pages: the edge, which calls services."""
    api = [p for p in ACCORD.rglob("*.py") if p.name in {"api.py", "admin_api.py"}]
    return sorted(api + list((ACCORD / "web").glob("*.py")))


def test_handlers_and_pages_do_not_use_repositories() -> None:
    offenders = []
    for path in _edge_modules():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "from_session":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith(".repository"):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports a repository")
    assert offenders == []


def test_handlers_and_pages_neither_commit_nor_audit() -> None:
    """The edge's transaction commits in one place (kit/deps.py), and services record the
    audit trail of what they change."""
    offenders = []
    for path in _edge_modules():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Attribute) and node.attr == "commit":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            if isinstance(node, ast.Attribute) and ast.unparse(node) == "audit.record":
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} audits")
    assert offenders == []


def test_only_settings_groups_write_workspace_settings() -> None:
    """Every write of ``Workspace.settings`` goes through a ``SettingsGroup`` (validated,
    versioned, audited)."""
    owner = ACCORD / "govern" / "workspaces" / "settings.py"
    offenders = []
    for path in sorted(ACCORD.rglob("*.py")):
        if path == owner or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            targets = node.targets if isinstance(node, ast.Assign) else []
            for target in targets:
                if not (isinstance(target, ast.Attribute) and target.attr == "settings"):
                    continue
                owner_expr = ast.unparse(target.value)
                # The app's and a worker's server settings are another thing.
                if owner_expr == "self" or owner_expr.endswith(".state"):
                    continue
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
