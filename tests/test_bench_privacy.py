"""``accord bench privacy`` loads its data set, times the consent check, exports and erases
the heaviest people and prints every figure and verdict (tiny sizes, on SQLite and on
PostgreSQL, whose load goes through COPY; no timing is asserted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.kit import migrate


def test_bench_privacy_prints_its_figures(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    args = ["--profiles", "200", "--events", "2000", "--samples", "40"]
    result = CliRunner().invoke(cli, ["bench", "privacy", *args, "--database-url", fresh_db_url])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "200 profiles, 2,000 events" in out
    assert re.search(r"checkpoint\s+(CHECKPOINT after the load|n/a|not taken)", out)
    for loaded in ("identity links", "orders", "consent records", "suppressions", "messages"):
        assert loaded in out
    checks = re.findall(r"consent check\s+p50 [\d.]+ ms, p95 [\d.]+ ms, p99 [\d.]+ ms", out)
    assert len(checks) == 2  # before and after ANALYZE
    assert "(40 calls; before ANALYZE)" in out
    assert "(40 calls; after ANALYZE)" in out
    assert len(re.findall(r"cpu per call\s+in process p50 [\d.]+ ms", out)) == 2
    assert re.search(r"answers\s+\w+ \d+", out)
    # The three heaviest people are exported, then erased, each timed end to end.
    assert len(re.findall(r"export person \d+\s+[\d.]+ s end to end", out)) == 3
    assert len(re.findall(r"erase  person \d+\s+[\d.]+ s end to end", out)) == 3
    assert "export max" in out
    assert "erase max" in out
    for target in ("consent check p99 <= 2 ms", "export <= 5 s", "erase <= 5 s"):
        assert re.search(rf"target\s+{re.escape(target)}: (met|NOT MET) \(", out), target
    # Their attachments' files went with them.
    stored = tmp_path / "data" / "attachments"
    assert not [p for p in stored.rglob("*") if p.is_file()]
