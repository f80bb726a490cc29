"""`accord bench resolve-db` on both databases: a generated population imported as
contacts and resolved through the database, timed per step and scored against the
generator's truth."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from accord.cli.main import app as cli

runner = CliRunner()


def test_the_database_bench_imports_resolves_and_scores_a_population(cli_db: str) -> None:
    result = runner.invoke(cli, ["bench", "resolve-db", "--records", "600"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "600 records (households)" in out
    for step in ("import (accepted and resolved onto profiles)", "matching run", "end to end"):
        assert re.search(re.escape(step) + r"\s+[\d.]+ s", out), out
    merged = int(re.search(r"merged ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    assert merged > 100
    f1 = float(re.search(r"F1 ([\d.]+) \(", out).group(1))  # type: ignore[union-attr]
    assert f1 > 0.85, out
    assert "apply" in out
