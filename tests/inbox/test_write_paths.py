"""Each kind of write of the engage packages has one owner, checked on the code itself:
a conversation's message is built in one module (which keeps the conversation's counters),
the inbox's and chat's handlers and pages go through services (no repository, no audit
record of their own), and settings are written only through their settings group."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ACCORD = ROOT / "accord"
PACKAGES = ("inbox", "chat", "channels")
EDGE = [
    "accord/inbox/api.py",
    "accord/inbox/admin_api.py",
    "accord/chat/api.py",
    "accord/chat/admin_api.py",
    "accord/channels/api.py",
    "accord/web/inbox_pages.py",
    "accord/web/chat_pages.py",
    "accord/web/inbox_settings_pages.py",
    "accord/web/csat_pages.py",
]


def _trees() -> list[tuple[str, ast.AST]]:
    return [
        (str(path.relative_to(ROOT)), ast.parse(path.read_text()))
        for path in sorted(ACCORD.rglob("*.py"))
    ]


def _called(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name):
            return node.func.id
        if isinstance(node.func, ast.Attribute):
            return node.func.attr
    return None


def test_a_message_is_built_in_one_module() -> None:
    where = sorted(
        {name for name, tree in _trees() for node in ast.walk(tree) if _called(node) == "Message"}
    )
    assert where == ["accord/inbox/messages.py"]


def test_the_message_count_is_kept_in_one_module() -> None:
    where = set()
    for name, tree in _trees():
        for node in ast.walk(tree):
            targets: list[ast.expr] = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "message_count" for t in targets):
                where.add(name)
    assert sorted(where) == ["accord/inbox/messages.py"]


def test_handlers_and_pages_go_through_services() -> None:
    offenders = []
    for name in EDGE:
        tree = ast.parse((ROOT / name).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "from_session":
                offenders.append(f"{name}:{node.lineno} from_session")
            if isinstance(node, ast.Name | ast.alias):
                used = node.id if isinstance(node, ast.Name) else node.name
                if used.endswith("Repository"):
                    offenders.append(f"{name}:{getattr(node, 'lineno', 0)} {used}")
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                if module.endswith(".repository") or module.startswith("accord.govern.audit"):
                    offenders.append(f"{name}:{node.lineno} imports {module}")
            if _called(node) == "record" and "audit" in ast.unparse(node):
                offenders.append(f"{name}:{getattr(node, 'lineno', 0)} audits")
    assert offenders == []


def test_settings_are_written_only_through_their_group() -> None:
    """Nothing in the engage packages or their pages assigns ``workspace.settings``: the
    settings groups' ``write`` does (validated, versioned, audited)."""
    offenders = []
    for name, tree in _trees():
        mine = name.split("/")[1] in PACKAGES or name in EDGE
        for node in ast.walk(tree) if mine else ():
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Attribute) and t.attr == "settings" for t in node.targets
            ):
                offenders.append(f"{name}:{node.lineno}")
    assert offenders == []
