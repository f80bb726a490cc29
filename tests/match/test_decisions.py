"""The matcher's pure parts: decisions, households, metrics and the generator."""

from __future__ import annotations

from accord.match import synth
from accord.match.decide import Thresholds, decide
from accord.match.engine import Scored
from accord.match.evaluate import indistinct, score
from accord.match.household import HomeModel

TOP = {"first_name": 7, "last_name": 5, "dob": 4, "address": 7, "email": 2, "phone": 2}
SAME = {"first_name": 7, "last_name": 5, "dob": 4, "address": 7, "email": -1, "phone": 2}


# The person-level weights of a few levels: exact, different, missing.
FIRST = {7: 8.0, 0: -4.0, -1: 0.0}
DOB = {4: 11.0, 0: -6.0, -1: 0.0}


def pair(left: str, right: str, p: float, **gammas: int) -> Scored:
    levels = {**SAME, **gammas}
    weights = {"first_name": FIRST[levels["first_name"]], "dob": DOB[levels["dob"]]}
    return Scored(left, right, weight=p * 40 - 20, probability=p, gammas=levels, weights=weights)


def test_sure_pairs_merge_and_chain_into_one_person() -> None:
    d = decide([pair("a", "b", 0.999), pair("b", "c", 0.95)], Thresholds(0.9, 0.5), TOP)
    assert len(d.merges) == 2
    assert d.clusters["a"] == d.clusters["b"] == d.clusters["c"]


def test_borderline_pairs_go_to_review_and_weak_ones_nowhere() -> None:
    d = decide([pair("a", "b", 0.7), pair("c", "d", 0.2)], Thresholds(0.9, 0.5), TOP)
    assert d.merges == []
    assert [(p.left, p.right) for p in d.reviews] == [("a", "b")]


def test_family_at_one_address_is_a_household_not_a_person() -> None:
    # Different first names, same surname, address and landline: a strong score from
    # household-level fields does not make them one person.
    mother_daughter = pair("mum", "kid", 0.9999, first_name=0, dob=0)
    d = decide([mother_daughter], Thresholds(0.9, 0.5), TOP)
    assert d.merges == []
    assert d.reviews == []
    assert [(p.left, p.right) for p in d.households] == [("mum", "kid")]


def test_a_conflicting_date_of_birth_blocks_merges_through_a_third_record() -> None:
    # Father and son of one name at one address; a record without a date of birth
    # matches both. It may join one of them, never both.
    father_son = pair("father", "son", 0.999, dob=0)
    d = decide(
        [father_son, pair("nodob", "father", 0.999, dob=-1), pair("nodob", "son", 0.998, dob=-1)],
        Thresholds(0.9, 0.5),
        TOP,
    )
    assert d.clusters["father"] != d.clusters["son"]
    assert d.clusters["nodob"] == d.clusters["father"]
    assert len(d.blocked) == 1


def test_groups_the_rules_keep_apart_are_never_merged_or_proposed() -> None:
    def apart(a: list[str], b: list[str]) -> str | None:
        return "different user ids" if {"u1", "u2"} <= set(a) | set(b) else None

    d = decide(
        [pair("u1", "u2", 0.9999), pair("u1", "x", 0.7), pair("x", "u2", 0.7)],
        Thresholds(0.9, 0.5),
        TOP,
        apart,
    )
    assert d.merges == []
    assert d.blocked[0][1] == "different user ids"
    assert d.clusters.get("u1") != d.clusters.get("u2")


def test_pairwise_and_cluster_scores() -> None:
    truth = [1, 1, 1, 2, 2, 3]
    assert score(truth, truth).f1 == 1.0
    s = score(["a", "a", "b", "c", "c", "c"], truth)
    # predicted pairs: (0,1), (3,4), (3,5), (4,5); true: (0,1), (0,2), (1,2), (3,4)
    assert s.correct_pairs == 2
    assert s.predicted_pairs == 4
    assert s.true_pairs == 4
    assert s.precision == 0.5
    assert s.recall == 0.5
    assert s.cluster_precision == 0.0  # no predicted cluster is exactly a person
    assert round(score(["a", "a", "a", "c", "d", "d"], truth).cluster_f1, 3) == 0.333


def test_identical_records_of_two_people_cost_precision_once_each_person_is_whole() -> None:
    """A father and son of one name at one address: one record of each is the same as
    the other's, so a matcher that merges identical records joins them whole."""
    home = {"first_name": "James", "last_name": "Reed", "street": "4 Oak St"}
    rows = [
        home,  # the father
        {**home, "street": "4 Oak Street"},  # the father, written otherwise
        {**home, "first_name": " JAMES "},  # the son: the same once trimmed and folded
        {**home, "last_name": None},  # the son, surname missing
        {**home, "last_name": None},  # someone else entirely, with the same record
        {"first_name": "Ann", "last_name": "Reed", "street": "4 Oak St"},
        {"first_name": "Ann", "last_name": "Reed", "street": "4 Oak St"},
    ]
    truth = ["father", "father", "son", "son", "other", "ann", "ann"]
    fields = ("first_name", "last_name", "street")
    d = indistinct(rows, truth, fields)
    # identical groups: {0, 2} father and son; {3, 4} son and other; {5, 6} ann alone
    assert (d.false_identical, d.true_shared) == (2, 0)
    assert d.people_pairs == 2
    # father, son and other joined whole: 5 records, 10 pairs, 2 of them true
    assert d.wrong_pairs == 8
    assert d.true_pairs == 3
    assert d.precision_ceiling == 3 / 11
    shared = indistinct([*rows, home], [*truth, "father"], fields)
    assert (shared.false_identical, shared.true_shared) == (3, 1)
    # father (3 records), son (2) and other (1) joined: 15 pairs, 3 + 1 of them true
    assert shared.wrong_pairs == 11
    alone = indistinct(rows[5:], truth[5:], fields)
    assert (alone.false_identical, alone.wrong_pairs, alone.precision_ceiling) == (0, 0, 1.0)


def test_generator_is_deterministic_with_known_truth_and_households() -> None:
    a = synth.generate(2000, "households", seed=3)
    b = synth.generate(2000, "households", seed=3)
    assert a.columns == b.columns
    assert a.person == b.person
    assert len(a) == 2000
    assert a.households > 50
    rows = a.rows()
    by_household: dict[int, set[str]] = {}
    for row, household in zip(rows, a.household, strict=True):
        if household is not None:
            by_household.setdefault(household, set()).add(row["street"] or "")
    # Family members share one address (movers aside).
    shared = sum(1 for streets in by_household.values() if len(streets - {""}) == 1)
    assert shared > len(by_household) / 2
    assert synth.generate(500, "easy").households == 0


def homes(prior: float, dob_exact_among_relatives: float) -> HomeModel:
    m = {"first_name": {7: 0.9, 0: 0.05}, "dob": {4: 0.9, 0: 0.05}}
    u = {
        "first_name": {7: 0.02, 0: 0.98},
        "dob": {4: dob_exact_among_relatives, 0: 1 - dob_exact_among_relatives},
    }
    return HomeModel(prior=prior, m=m, u=u)


def test_where_homes_hold_one_person_a_typed_wrong_birthday_does_not_split_them() -> None:
    typo = pair("org", "dup", 0.999, dob=0)  # same first name, home and surname
    alone = homes(prior=0.95, dob_exact_among_relatives=0.001)
    assert not alone.families
    d = decide([typo], Thresholds(0.9, 0.5), TOP, home=alone)
    assert [(p.left, p.right) for p in d.merges] == [("org", "dup")]
    # Where homes hold families, the same pair may be a father and his son.
    families = homes(prior=0.4, dob_exact_among_relatives=0.03)
    d = decide([typo], Thresholds(0.9, 0.5), TOP, home=families)
    assert d.merges == []
    assert [(p.left, p.right) for p in d.reviews] == [("org", "dup")]


def test_twins_go_to_review_where_homes_hold_families() -> None:
    twins = pair("ann", "beth", 0.9999, first_name=0)  # one birthday, one home
    d = decide([twins], Thresholds(0.9, 0.5), TOP, home=homes(0.4, 0.03))
    assert d.merges == []
    assert [(p.left, p.right) for p in d.reviews] == [("ann", "beth")]
    # In a file without families the model's probability decides: one person whose
    # first name was replaced.
    d = decide([twins], Thresholds(0.9, 0.5), TOP, home=homes(0.95, 0.001))
    assert len(d.merges) == 1


def test_an_id_number_that_agrees_outweighs_a_different_name_and_birthday() -> None:
    both_differ = pair("a", "b", 0.95, first_name=0, dob=0)
    assert decide([both_differ], Thresholds(0.9, 0.5), TOP).merges == []
    same_id = Scored(
        "a",
        "b",
        weight=20,
        probability=0.999,
        gammas={**SAME, "first_name": 0, "dob": 0, "id_number": 2},
        weights={"first_name": -4.0, "dob": -6.0, "id_number": 12.0},
    )
    d = decide([same_id], Thresholds(0.9, 0.5), TOP, home=homes(0.95, 0.001))
    assert len(d.merges) == 1
