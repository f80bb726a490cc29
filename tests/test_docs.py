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


def _table_rows(text: str, heading: str) -> list[list[str]]:
    """The `accord/<name>` packages named in each row of the first table under
    ``heading``, row by row."""
    import re

    section = text.split(heading, 1)[1]
    rows = []
    started = False
    for line in section.splitlines()[1:]:
        if line.startswith("|"):
            started = True
            found = re.findall(r"`accord/([a-z_]+)`", line)
            if found:
                rows.append(found)
        elif started or line.startswith("#"):
            break
    return rows


def test_readme_package_table_matches_the_tree() -> None:
    named = [p for row in _table_rows(README, "## Where things are") for p in row]
    assert set(named) == _top_packages(), set(named) ^ _top_packages()


def test_architecture_layers_match_the_enforced_order() -> None:
    """The layer table in docs/architecture.md lists every package, row by row in the
    order the import contract (pyproject.toml, run by `make check`) enforces."""
    import tomllib

    doc = (ROOT / "docs" / "architecture.md").read_text()
    rows = [set(row) for row in _table_rows(doc, "## Layers")]
    named = set().union(*rows)
    assert named == _top_packages(), named ^ _top_packages()
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contract = config["tool"]["importlinter"]["contracts"][0]
    enforced = [
        {m.strip().removeprefix("accord.") for m in layer.replace("|", ":").split(":")}
        & _top_packages()
        for layer in reversed(contract["layers"])
    ]
    assert rows == [layer for layer in enforced if layer]
