"""The docs are part of the product: a setting, command or API route that is not in the
README fails the suite."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from typer.main import get_command

from accord.cli.main import app as cli
from accord.config import Settings
from tests.helpers import iter_routes

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_every_setting_is_documented() -> None:
    for name in Settings.model_fields:
        assert f"`ACCORD_{name.upper()}`" in README, name


def _commands(group, prefix: str) -> list[str]:  # type: ignore[no-untyped-def]
    out = []
    for name, cmd in getattr(group, "commands", {}).items():
        full = f"{prefix} {name}"
        sub = _commands(cmd, full)
        out.extend(sub or [full])
    return out


def test_every_command_is_documented() -> None:
    commands = _commands(get_command(cli), "accord")
    assert "accord workspace create" in commands
    for command in commands:
        assert f"`{command}" in README, command


def test_every_api_route_is_documented(app: FastAPI) -> None:
    for path, methods, _ in iter_routes(app):
        if not path.startswith("/api/"):
            continue
        for method in methods - {"HEAD"}:
            assert f"{method} {path}" in README, f"{method} {path}"


def test_architecture_doc_names_every_package() -> None:
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for package in sorted(p for p in (ROOT / "accord").rglob("__init__.py")):
        rel = package.parent.relative_to(ROOT).as_posix()
        if rel == "accord" or "migrations/versions" in rel:
            continue
        assert f"{package.parent.name}/" in doc, rel


def _top_packages() -> set[str]:
    return {
        p.parent.name
        for p in (ROOT / "accord").glob("*/__init__.py")
        if p.parent.name not in {"migrations"}
    }


def _table_packages(text: str, heading: str) -> list[str]:
    """The `accord/<name>` packages named in the first column... of the table under
    ``heading``, in order."""
    import re

    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|"):
            rows.extend(re.findall(r"`accord/([a-z_]+)`", line))
    return rows


def test_readme_package_table_matches_the_tree() -> None:
    named = _table_packages(README, "## Where things are")
    assert set(named) == _top_packages(), set(named) ^ _top_packages()


def test_architecture_layers_match_the_enforced_order() -> None:
    """The layer table in docs/architecture.md lists every package, in the order the
    import contract (pyproject.toml, run by `make check`) enforces."""
    import tomllib

    doc = (ROOT / "docs" / "architecture.md").read_text()
    named = _table_packages(doc, "## Layers")
    assert set(named) == _top_packages(), set(named) ^ _top_packages()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = config["tool"]["importlinter"]["contracts"][0]
    enforced = [
        m.strip().removeprefix("accord.")
        for layer in reversed(contract["layers"])
        for m in layer.replace("|", ":").split(":")
    ]
    enforced = [m for m in enforced if m in _top_packages()]
    assert [m for m in named if m in enforced] == enforced
