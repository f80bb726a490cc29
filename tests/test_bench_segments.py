"""``accord bench segments`` loads its data set, builds and rebuilds 20 typical segments,
times the builder's estimate and the real-time path through a server of its own, and
prints every figure and verdict (tiny sizes, on SQLite and PostgreSQL; no timing is
asserted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.kit import migrate


def test_bench_segments_prints_its_figures(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    args = ["--profiles", "300", "--events", "3000", "--rate", "20", "--seconds", "2"]
    result = CliRunner().invoke(
        cli,
        ["bench", "segments", *args, "--rounds", "1", "--reuse", "--database-url", fresh_db_url],
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "300 profiles, 3,000 events" in out
    assert re.search(r"touches +computed for everyone in [\d.]+ s", out)
    assert (
        len(re.findall(r"build .+ first +[\d.]+ s, rebuild +[\d.]+ s +[\d,]+ members", out)) == 20
    )
    assert re.search(r"full rebuild +[\d.]+ s for 20 segments", out)
    assert re.search(r"size estimate +p50 \d+ ms, p99 \d+ ms, max \d+ ms \(20 estimates\)", out)
    # Every ping made its person enter the segment of pinged people.
    assert re.search(r"real time +40 events at 20/s asked, .*; 40 memberships changed, 0 not", out)
    assert re.search(r"latency +accepted -> membership changed: p50 \d+ ms, p99 \d+ ms", out)
    for target in (
        "full rebuild of 20 segments < 60 s",
        "size estimate p99 < 1 s",
        "real-time latency p99 < 1 s",
    ):
        assert re.search(rf"target +{re.escape(target)}: (met|NOT MET) \(", out), target

    # Again on the data set kept: the estimates alone, on the segments built before.
    again = CliRunner().invoke(
        cli,
        ["bench", "segments", "--rate", "0", "--rounds", "1", "--reuse", "--no-builds",
         "--database-url", fresh_db_url],
    )  # fmt: skip
    assert again.exit_code == 0, again.output
    out = again.output
    assert "data set           reused from an earlier run (--reuse)" in out
    assert "full rebuild       not timed (--no-builds)" in out
    assert not re.search(r"^build ", out, re.MULTILINE)
    assert "full rebuild of" not in out
    assert len(re.findall(r"slow estimate +.+ +\d+ ms at worst", out)) == 5
    assert re.search(r"size estimate +p50 \d+ ms, p99 \d+ ms, max \d+ ms \(20 estimates\)", out)
    assert "real time" not in out
