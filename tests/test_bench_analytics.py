"""``accord bench analytics`` loads a shop drawn from a buy-till-you-die process,
recomputes its customer scores in process, times the dashboards through a server of its
own and prints every figure and verdict; a second run with ``--reuse`` finds the data set
and loads nothing (tiny sizes, on SQLite and PostgreSQL, whose load goes through COPY; no
timing is asserted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.kit import migrate

SIZES = ["--customers", "500", "--orders", "4000", "--samples", "10"]


def _common(out: str) -> None:
    assert re.search(r"machine +\d+ cores; 1-minute load average [\d.]+ before the recompute", out)
    assert re.search(r"analyze +(VACUUM \(ANALYZE\) profiles, identifiers, events|ANALYZE)", out)
    assert re.search(
        r"recompute +[\d.]+ s end to end \(tasks.recompute in this process.*; 500 people "
        r"scored, [\d,]+ customers; ",
        out,
    )
    stages = re.findall(r"^  stage +[\d.]+ s  (.+)$", out, re.M)
    assert stages[0] == "Starting"
    assert any(s.startswith("Reading customers") for s in stages)
    assert any(s.startswith("Writing scores") for s in stages)
    assert re.search(r"memory +peak [\d,]+ MB resident in this process", out)
    assert re.search(r"quality +churn (AUC [\d.]+ on the later period|not fitted)", out)
    assert re.search(r"; lifetime value(: holdout repeat purchases| not checked)", out)
    for path in ("/api/v1/scores/summary", "/api/v1/profiles/{id}/scores"):
        assert re.search(
            rf"dashboard +GET {re.escape(path)} +p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms "
            r"\(10 requests\)",
            out,
        ), path
    pages = re.findall(r"dashboard +GET (/analytics/customers\S*) +(p50|not timed)", out)
    assert len(pages) == 5
    for target in ("full recompute < 180 s", "memory < 4 GB", "dashboard p99 < 300 ms"):
        assert re.search(rf"target +{re.escape(target)}: (met|NOT MET) \(", out), target


def test_bench_analytics_prints_its_figures(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    migrate.upgrade(fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    args = ["bench", "analytics", *SIZES, "--reuse", "--database-url", fresh_db_url]
    first = CliRunner().invoke(cli, args)
    assert first.exit_code == 0, first.output
    out = first.output
    assert re.search(r"data set +500 customers, 4,000 orders, [\d,]+ events \(seeded in", out)
    assert re.search(r"buy till you die: purchase rates gamma\(", out)
    assert re.search(r"[\d,]+ customers wrote in: [\d,]+ conversations", out)
    assert "into an empty scores table" in out
    _common(out)

    again = CliRunner().invoke(cli, args)
    assert again.exit_code == 0, again.output
    out = again.output
    assert re.search(r"data set +500 customers, 4,000 orders, [\d,]+ events \(reused", out)
    assert "replacing 500 scores of an earlier run" in out
    _common(out)


def test_bench_analytics_wants_an_order_a_customer() -> None:
    result = CliRunner().invoke(cli, ["bench", "analytics", "--customers", "100", "--orders", "50"])
    assert result.exit_code == 2
