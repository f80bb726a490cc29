"""Splink runs on generated populations with known truth: DuckDB (and a small local
Spark session), the EM training guard, the fallback for small workspaces, and
households that share everything but the person."""

from __future__ import annotations

import os
import shutil

import pyarrow as pa
import pytest

from accord.match import blocking, engine, features, synth
from accord.match.decide import Thresholds, decide
from accord.match.evaluate import score


def table_of(population: synth.Population) -> pa.Table:
    ids = population.columns["record_id"]
    return features.prepare(
        {
            "unique_id": rid,
            **{f: population.columns.get(f, [None] * (i + 1))[i] for f in features.RAW_FIELDS},
        }
        for i, rid in enumerate(ids)
    )


def top_of(result: engine.Result) -> dict[str, int]:
    return {name: len(levels) - 1 for name, levels in result.levels.items()}


@pytest.fixture(scope="module")
def households() -> tuple[synth.Population, engine.Result]:
    population = synth.generate(4000, "households", seed=11)
    return population, engine.run(table_of(population), floor_weight=engine.weight_of(0.5))


def test_duckdb_run_finds_people_and_keeps_households_apart(
    households: tuple[synth.Population, engine.Result],
) -> None:
    population, result = households
    assert result.trained
    ids = population.columns["record_id"]
    index = {rid: i for i, rid in enumerate(ids)}
    d = decide(result.pairs, Thresholds(0.9, 0.5), top_of(result))
    scores = score([d.clusters.get(r, r) for r in ids], population.person)
    assert scores.precision > 0.95, scores
    assert scores.recall > 0.85, scores
    # Household links join different people of one family, and no merge joins two
    # family members with different first names.
    assert len(d.households) > 100
    family = [
        population.household[index[p.left]] is not None
        and population.household[index[p.left]] == population.household[index[p.right]]
        for p in d.households
    ]
    assert sum(family) / len(family) > 0.99
    relatives_merged = [
        p
        for p in d.merges
        if population.person[index[p.left]] != population.person[index[p.right]]
        and population.household[index[p.left]] is not None
    ]
    assert len(relatives_merged) / len(d.merges) < 0.02


def test_the_model_learns_persons_and_explains_each_pair(
    households: tuple[synth.Population, engine.Result],
) -> None:
    _, result = households
    for name in ("first_name", "last_name", "dob"):
        levels = result.levels[name]
        assert (levels[0].weight or 0) > 0, name  # agreeing is evidence for
        assert (levels[-1].weight or 0) < 0, name  # disagreeing against
    sure = max(result.pairs, key=lambda p: p.probability)
    assert set(sure.weights) == set(result.levels)
    assert abs(sum(sure.weights.values()) - sure.weight) < 25  # plus the prior
    assert [t.accepted for t in result.training]


def test_em_guard_rejects_a_training_block_that_is_almost_all_matches() -> None:
    # Without dates of birth, EM would also train on "same email" and "same phone":
    # nearly every pair there is one person, so those blocks are refused.
    population = synth.generate(3000, "easy", seed=5)
    population.columns["dob"] = [None] * len(population)
    result = engine.run(table_of(population), floor_weight=0.0)
    rules = {t.rule: t for t in result.training}
    refused = [t for t in rules.values() if not t.accepted]
    assert refused, rules
    assert any("email" in t.rule or "phone" in t.rule for t in refused)
    assert all(
        t.pairs_lambda is None or t.pairs_lambda > 0.99 or "came out" in t.reason for t in refused
    )


def test_a_small_workspace_falls_back_to_prior_parameters() -> None:
    population = synth.generate(60, "easy", seed=2)
    result = engine.run(table_of(population), floor_weight=0.0)
    assert not result.trained
    assert result.training == []
    d = decide(result.pairs, Thresholds(0.9, 0.5), top_of(result))
    scores = score(
        [d.clusters.get(r, r) for r in population.columns["record_id"]], population.person
    )
    assert scores.precision > 0.9


def test_a_workspace_with_towns_and_postcodes_but_no_street_trains() -> None:
    # No record has a street, so no house number either: the address's prior m for
    # "same house" scaled to nothing, and Splink refused the model.
    population = synth.generate(3000, "households", seed=3)
    population.columns["street"] = [None] * len(population)
    result = engine.run(table_of(population), floor_weight=0.0)
    d = decide(result.pairs, Thresholds(0.9, 0.5), top_of(result))
    scores = score(
        [d.clusters.get(r, r) for r in population.columns["record_id"]], population.person
    )
    assert scores.precision > 0.9, scores
    assert scores.recall > 0.5, scores


def test_middle_names_and_genders_are_learned_as_what_tells_people_apart() -> None:
    import random

    population = synth.generate(4000, "households", seed=13)
    rng = random.Random(13)
    middle = {p: rng.choice("ABCDEFGHJKLMNPRSTW") for p in set(population.person)}
    gender = {p: rng.choice(("Male", "F")) for p in set(population.person)}
    # Written out on some records, an initial on others, missing on a few.
    population.columns["middle_name"] = [
        None if rng.random() < 0.1 else middle[p] + ("ayne" if rng.random() < 0.5 else "")
        for p in population.person
    ]
    population.columns["gender"] = [gender[p] for p in population.person]
    result = engine.run(table_of(population), floor_weight=engine.weight_of(0.5))
    for name in ("middle_name", "gender"):
        levels = result.levels[name]
        assert (levels[0].weight or 0) > 0, (name, levels)
        assert (levels[-1].weight or 0) < 0, (name, levels)
    ids = population.columns["record_id"]
    d = decide(result.pairs, Thresholds(0.9, 0.5), top_of(result))
    scores = score([d.clusters.get(r, r) for r in ids], population.person)
    assert scores.precision > 0.97, scores
    assert scores.recall > 0.85, scores


def test_a_nickname_of_several_names_is_a_level_of_its_own() -> None:
    population = synth.generate(60, "easy", seed=4)
    rows = [
        {"unique_id": r["record_id"], **{f: r.get(f) for f in features.RAW_FIELDS}}
        for r in population.rows()
    ]
    rows += [
        {"unique_id": "h1", "first_name": "Harold", "last_name": "Cabrera", "dob": "1964-03-16"},
        {"unique_id": "h2", "first_name": "Harry", "last_name": "Cabrera", "dob": "1964-03-16"},
    ]
    result = engine.run(features.prepare(rows), floor_weight=-50.0)
    pair = next(p for p in result.pairs if {p.left, p.right} == {"h1", "h2"})
    by_gamma = {lv.gamma: lv.label for lv in result.levels["first_name"]}
    assert by_gamma[pair.gammas["first_name"]] == "a nickname of the other"


def test_one_name_in_the_other_s_field_and_a_street_mistyped_with_its_postcode_are_levels() -> None:
    population = synth.generate(60, "easy", seed=4)
    rows = [
        {"unique_id": r["record_id"], **{f: r.get(f) for f in features.RAW_FIELDS}}
        for r in population.rows()
    ]
    same = {"dob": "1964-03-16", "city": "Kyogle"}
    rows += [
        # The surname in the first name's field, the surname's field another name.
        {"unique_id": "n1", "first_name": "Jordan", "last_name": "Lavis", **same},
        {"unique_id": "n2", "first_name": "Lavis", "last_name": "Henry", **same},
        # The street and the postcode both mistyped.
        {"unique_id": "s1", "first_name": "Noah", "last_name": "Rosato",
         "street": "25 la perouse street", "postcode": "7140", **same},
        {"unique_id": "s2", "first_name": "Noah", "last_name": "Rosato",
         "street": "25 la perousw street", "postcode": "7410", **same},
    ]  # fmt: skip
    result = engine.run(features.prepare(rows), floor_weight=-50.0)

    def label(field: str, a: str, b: str) -> str:
        pair = next(p for p in result.pairs if {p.left, p.right} == {a, b})
        return {lv.gamma: lv.label for lv in result.levels[field]}[pair.gammas[field]]

    assert label("last_name", "n1", "n2") == "the other's first name"
    assert label("address", "s1", "s2") == "similar street"


def test_names_swapped_are_blocked_near_each_other_by_any_of_postcode_birthday_or_town() -> None:
    rules = blocking.swapped_rules({"first_name", "last_name", "zip3", "dob", "city"})
    swapped = "l.first_name = r.last_name AND l.last_name = r.first_name"
    for near in ("zip3", "dob", "city"):
        assert f"{swapped} AND l.{near} = r.{near}" in rules


def test_a_training_block_whose_matches_disagree_on_a_birthday_is_refused() -> None:
    def level(label: str, m: float, u: float) -> dict[str, object]:
        return {"label_for_charts": label, "m_probability": m, "u_probability": u}

    model = {
        "comparisons": [
            {
                "output_column_name": "dob",
                "comparison_levels": [
                    level("exact", 0.05, 0.0001),
                    level("one digit off", 0.01, 0.001),
                    level("different", 0.94, 0.9989),
                ],
            }
        ]
    }
    # Agreeing is evidence for and differing against, yet a home was taken for a person.
    assert "disagreeing on dob" in (engine._signs_hold(model, {"dob"}) or "")
    model["comparisons"][0]["comparison_levels"] = [
        level("exact", 0.9, 0.0001),
        level("one digit off", 0.05, 0.001),
        level("different", 0.05, 0.9989),
    ]
    assert engine._signs_hold(model, {"dob"}) is None


def test_the_same_model_runs_on_a_local_spark_session(
    households: tuple[synth.Population, engine.Result],
) -> None:
    if shutil.which("java") is None:
        if os.environ.get("ACCORD_TEST_SPARK", "").lower() == "required":
            pytest.fail("Java is required (ACCORD_TEST_SPARK=required): Spark runs on it")
        pytest.skip("Spark needs Java")
    _population, trained = households
    small = synth.generate(400, "households", seed=11)
    table = table_of(small)
    on_duckdb = engine.run(table, model=trained.model, floor_weight=0.0)
    on_spark = engine.run(table, engine="spark", model=trained.model, floor_weight=0.0)
    key = {
        (min(p.left, p.right), max(p.left, p.right)): round(p.weight, 3) for p in on_duckdb.pairs
    }
    spark_key = {
        (min(p.left, p.right), max(p.left, p.right)): round(p.weight, 3) for p in on_spark.pairs
    }
    assert len(key) > 50
    assert key.keys() == spark_key.keys()
    assert all(abs(key[k] - spark_key[k]) < 0.01 for k in key)


def test_a_nickname_mistyped_is_its_own_level_and_evidence_for(
    households: tuple[synth.Population, engine.Result],
) -> None:
    """``Barb`` and ``Brabara``: neither the names nor the nickname agree, but the formal
    names are alike; that weighs for one person, where ``Susan`` weighs against."""
    _, result = households
    rows = [
        {"first_name": first, "last_name": "Cook", "dob": "2001-04-18", "postcode": "55401"}
        for first in ("Barb", "Brabara", "Susan")
    ]
    table = features.prepare({"unique_id": f"r{i}", **r} for i, r in enumerate(rows))
    scored = engine.run(table, model=result.model, tf=result.tf, floor_weight=-100.0)
    by_pair = {frozenset((p.left, p.right)): p for p in scored.pairs}
    alike, other = by_pair[frozenset(("r0", "r1"))], by_pair[frozenset(("r0", "r2"))]
    levels = {lv.gamma: lv for lv in result.levels["first_name"]}
    assert levels[alike.gammas["first_name"]].label == "nickname, mistyped"
    assert alike.weights["first_name"] > 0 > other.weights["first_name"]
    assert other.gammas["first_name"] == 0
