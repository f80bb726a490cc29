"""The benchmarks run and print every figure (small sizes; no timing is asserted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.kit import migrate


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    migrate.upgrade(url)
    monkeypatch.setenv("ACCORD_DATABASE_URL", url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))


@pytest.mark.usefixtures("sqlite_env")
def test_bench_ingest_prints_its_figures() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "ingest", "--events", "300", "--concurrency", "2", "--workers", "1"]
    )
    assert result.exit_code == 0, result.output
    for label in (
        "accepted",
        "request latency",
        "raw insert limit",
        "resolved",
        "resolution lag",
        "resolver alone",
        "freshness",
        "server memory",
    ):
        assert label in result.output
    # Where the resolver's database time went: the events' own update is among it.
    assert "in the database" in result.output
    assert re.search(r"us  UPDATE events \(\d+ runs\)", result.output), result.output


@pytest.mark.usefixtures("sqlite_env")
def test_bench_ingest_holds_a_steady_load_and_reports_whether_resolution_keeps_up(
    tmp_path: Path,
) -> None:
    args = ["ingest", "--rate", "200", "--seconds", "3", "--concurrency", "2", "--workers", "1"]
    result = CliRunner().invoke(cli, ["bench", *args])
    assert result.exit_code == 0, result.output
    for label in (
        "200 events/s asked for 3 s",
        "accepted",
        "resolved",
        "freshness",
        "probe events in the stream",
        "lag at the end",
        "touches followed",
        "server memory",
    ):
        assert label in result.output
    # The machine's speed before and after, to compare runs made at different times.
    speed = re.search(
        r"ten million additions in Python took (\d+\.\d+) s before the load, "
        r"(\d+\.\d+) s after",
        result.output,
    )
    assert speed is not None, result.output
    assert all(float(s) > 0 for s in speed.groups())
    # Where the tail of freshness lies: the slowest probes, each with when it was sent.
    slowest = re.search(r"slowest probes +(.*)", result.output)
    assert slowest is not None, result.output
    assert 1 <= len(re.findall(r"[\d,]+ ms sent at \d+\.\d s", slowest.group(1))) <= 5
    # Every event sent was resolved by the end: none is left pending, and the touches of
    # every batch have followed.
    engine = create_engine(f"sqlite:///{tmp_path / 'bench.db'}")
    with engine.connect() as conn:
        counts = dict(
            conn.execute(text("SELECT status, count(*) FROM events GROUP BY status")).all()
        )
        waiting = conn.execute(text("SELECT count(*) FROM acquisition_backlog")).scalar()
        touched = conn.execute(text("SELECT count(*) FROM acquisition_touches")).scalar()
    engine.dispose()
    assert counts == {"resolved": 600}, counts
    assert waiting == 0
    assert touched
    args = ["ingest", "--rate", "200", "--accept-only"]
    refused = CliRunner().invoke(cli, ["bench", *args])
    assert refused.exit_code == 2


@pytest.mark.usefixtures("sqlite_env")
def test_bench_ingest_can_measure_accepting_alone(tmp_path: Path) -> None:
    args = ["ingest", "--events", "200", "--concurrency", "2", "--workers", "1", "--accept-only"]
    result = CliRunner().invoke(cli, ["bench", *args])
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output
    assert "cpu per event" in result.output
    assert "not measured (--accept-only" in result.output
    assert "resolver alone" not in result.output
    # Nothing of the run is left pending for a later run's resolver.
    engine = create_engine(f"sqlite:///{tmp_path / 'bench.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 0
    engine.dispose()


@pytest.mark.usefixtures("sqlite_env")
@pytest.mark.parametrize("mix", ["site", "bench"])
def test_bench_touches_prints_its_figures(mix: str) -> None:
    result = CliRunner().invoke(cli, ["bench", "touches", "--events", "400", "--mix", mix])
    assert result.exit_code == 0, result.output
    assert f"400 ({mix} mix)" in result.output
    assert "cpu per event      the job" in result.output
    named = re.search(r"read back\s+([\d,]+) events", result.output)
    assert named is not None, result.output
    # Events that are no touch are never named: on a site, most of them.
    read_back = int(named.group(1).replace(",", ""))
    assert 0 < read_back < (100 if mix == "site" else 400)


@pytest.mark.usefixtures("sqlite_env")
def test_bench_lookup_prints_its_figures() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "lookup", "--profiles", "200", "--events", "1000", "--samples", "20"]
    )
    assert result.exit_code == 0, result.output
    assert "200 profiles, 1,000 events" in result.output
    assert "lookup by email" in result.output
    assert "360 view" in result.output
    # Both states of the tables' statistics, side by side.
    assert "(cold: never analyzed)" in result.output
    assert "(analyzed)" in result.output
    assert "statistics         ANALYZE" in result.output


@pytest.mark.usefixtures("sqlite_env")
def test_bench_inbox_prints_its_figures() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "inbox", "--conversations", "120", "--messages", "600", "--samples", "14"]
    )
    assert result.exit_code == 0, result.output
    assert "120 conversations, 600 messages" in result.output
    assert "inbox view" in result.output
    assert "conversation page" in result.output


@pytest.mark.usefixtures("sqlite_env")
def test_bench_resolve_prints_its_figures() -> None:
    result = CliRunner().invoke(cli, ["bench", "resolve", "--records", "1500"])
    assert result.exit_code == 0, result.output
    for label in (
        "records            easy: 1,500 records",
        "records            households: 1,500 records",
        "blocking recall",
        "pairwise         precision",
        "splink plain     pairwise precision",
        "cluster          precision",
        "seconds          generate",
        "train",
        "predict",
        "precision by p",
        "peak memory",
    ):
        assert label in result.output, label


@pytest.mark.usefixtures("sqlite_env")
def test_bench_resolve_names_what_the_records_cannot_tell_apart() -> None:
    """Names and addresses only, with families at one address: some relatives of one
    name have records that are the same, which the bench counts and turns into the
    precision a matcher reaches at most when it merges them and resolves each person
    whole."""
    result = CliRunner().invoke(
        cli,
        [
            *("bench", "resolve", "--records", "2000"),
            *("--population", "names-addresses", "--no-baseline"),
        ],
    )
    assert result.exit_code == 0, result.output
    found = re.search(
        r"indistinct +([\d,]+) pairs? of identical records are two people \(([\d,]+) pairs? "
        r"of people; ([\d,]+) of one person among the same records\): merging them makes "
        r"([\d,]+) wrong pairs? once each person is whole, precision at most (0\.\d+|1\.0000)",
        result.output,
    )
    assert found, result.output
    false_identical, people, wrong = (int(found.group(i).replace(",", "")) for i in (1, 2, 4))
    assert 0 < people <= false_identical <= wrong
    assert 0 < float(found.group(5)) < 1


@pytest.mark.usefixtures("sqlite_env")
def test_bench_send_accounts_for_every_recipient() -> None:
    result = CliRunner().invoke(
        cli,
        [
            "bench",
            "send",
            "--recipients",
            "400",
            "--limit-messages",
            "50",
            "--senders",
            "2",
            "--sessions",
            "3",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "recipients: 400; delivery jobs: 2, each with 3 SMTP sessions" in result.output
    assert "limit (the campaign's messages pre-rendered, SMTP only): 50 in" in result.output
    assert "s after: " in result.output
    assert "end to end (claim, consent, caps, holds, render, SMTP, outcome): 400 recipients" in (
        result.output
    )
    # 1% denied email marketing, 0.5% suppressed, 0.5% refused by the relay.
    assert "outcomes: bounced 2, refused 6, sent 392" in result.output
    assert "sink: 392 campaign messages, 0 duplicates" in result.output
    assert "every recipient accounted for: yes" in result.output


@pytest.mark.usefixtures("sqlite_env")
def test_bench_journeys_prints_its_figures() -> None:
    result = CliRunner().invoke(cli, ["bench", "journeys", "--people", "300", "--idle", "1"])
    assert result.exit_code == 0, result.output
    assert "people waiting: 300" in result.output
    assert "while they wait (1 s): CPU" in result.output
    assert "their timers end together: steps taken p50" in result.output
    assert "emails queued: 300;" in result.output


@pytest.mark.usefixtures("sqlite_env")
@pytest.mark.parametrize("kind", ["new", "known"])
def test_bench_visitors_prints_its_figures(kind: str) -> None:
    result = CliRunner().invoke(cli, ["bench", "visitors", "--events", "200", "--kind", kind])
    assert result.exit_code == 0, result.output
    # Every timed event was resolved, whether it made a person or found one.
    assert f"events             200 page views of {kind} visitors" in result.output
    assert "cpu per event      the resolver" in result.output
    assert re.search(r"resolver alone\s+[\d,]+ events/s", result.output), result.output
