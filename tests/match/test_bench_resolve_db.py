"""`accord bench resolve-db` on both databases: a generated population imported as
contacts and resolved through the database, timed per step and scored against the
generator's truth."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.kit import migrate

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
    # The matching run ran in a process of its own, as `accord resolve` does after
    # `accord import`: its peak is its own.
    run_peak = re.search(r"peak memory of the matching run \(its process\)\s+([\d,]+) MB", out)
    assert run_peak is not None, out
    assert int(run_peak.group(1).replace(",", "")) > 50


def test_a_labelled_file_goes_through_the_database_its_id_numbers_as_a_trait(
    cli_db: str,
) -> None:
    """FEBRL1 imported as contacts: its social security numbers land in a trait that no
    setting names, and are compared as the id number all the same (without them, the
    copies whose names and birthdays were replaced whole stay apart)."""

    def f1_of(*extra: str) -> float:
        result = runner.invoke(cli, ["bench", "resolve-db", "--file", "febrl1", *extra])
        assert result.exit_code == 0, result.output
        assert "1,000 records (febrl1)" in result.output
        return float(re.search(r"F1 ([\d.]+) \(", result.output).group(1))  # type: ignore[union-attr]

    with_ids, without = f1_of(), f1_of("--map", "id_number=")
    assert with_ids >= 0.99
    assert 0.9 < without < with_ids


def test_a_user_s_file_is_imported_as_it_is_its_columns_named_as_the_import_names_them(
    cli_db: str, tmp_path: Path
) -> None:
    """A register with US dates and a mailing list's address columns, as a user has
    them: no mapping is given, and the import's names for the columns are the ones the
    matching reads."""
    import csv

    from accord.match import synth

    population = synth.generate(1200, "households", seed=21)
    path = tmp_path / "register.csv"
    with path.open("w", newline="") as handle:
        out = csv.writer(handle)
        header = "person,First Name,Surname,Date of birth,mailing_address_street_name,"
        out.writerow((header + "mailing_address_city,mailing_address_zipcode").split(","))
        for row, person in zip(population.rows(), population.person, strict=True):
            dob = row["dob"]
            us = f"{dob[5:7]}/{dob[8:10]}/{dob[:4]}" if dob and len(dob) == 10 else dob
            names = [person, row["first_name"], row["last_name"], us]
            out.writerow([*names, row["street"], row["city"], row["postcode"]])
    result = runner.invoke(cli, ["bench", "resolve-db", "--file", str(path), "--truth", "person"])
    assert result.exit_code == 0, result.output
    assert "1,200 records (register.csv)" in result.output
    f1 = float(re.search(r"F1 ([\d.]+) \(", result.output).group(1))  # type: ignore[union-attr]
    assert f1 > 0.85, result.output


def test_a_labelled_file_that_cannot_be_read_is_refused_before_anything_runs(
    cli_db: str,
) -> None:
    result = runner.invoke(cli, ["bench", "resolve-db", "--file", "nowhere.csv"])
    assert result.exit_code == 2
    assert "error" in result.output


def test_the_database_bench_loads_the_database_it_is_given(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --database-url, the workspace, its people and the jobs their changes start
    all go to that database, not to the configured one (here never migrated)."""
    migrate.upgrade(fresh_db_url)
    monkeypatch.delenv("ACCORD_DATABASE_URL", raising=False)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    result = runner.invoke(
        cli, ["bench", "resolve-db", "--records", "300", "--database-url", fresh_db_url]
    )
    assert result.exit_code == 0, result.output
    assert f"on {fresh_db_url.split(':', 1)[0].split('+', 1)[0]}" in result.output
    assert not (tmp_path / "data" / "accord.db").exists()
