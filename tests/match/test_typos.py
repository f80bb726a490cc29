"""Records whose names are one typing error apart meet, through one blocking rule that
pairs the names first and then joins only the records of paired names."""

from __future__ import annotations

from collections import Counter

import pyarrow as pa
import pytest

from accord.match import blocking, comparisons, engine, features, typos
from tests.match.test_blocking_and_homes import rule_pairs


def table(rows: list[dict[str, object]]) -> pa.Table:
    return features.prepare({"unique_id": str(i), **r} for i, r in enumerate(rows))


def test_names_one_edit_apart_and_their_keys() -> None:
    assert typos.one_edit("holmes", "holmek")  # a letter changed
    assert typos.one_edit("miller", "millr")  # dropped
    assert typos.one_edit("sanchez", "sanchezz")  # added
    assert typos.one_edit("sanchez", "snachez")  # two neighbours swapped
    assert not typos.one_edit("holmes", "holmes")
    assert not typos.one_edit("abxc", "aybc")  # two changes, though they share "abc"
    assert not typos.one_edit("hall", "hollis")
    assert typos.keys("smith") >= {"smith", "mith", "sith", "smth", "smih", "smit"}
    assert typos.keys("li") == {"li"}  # no initials as keys
    # Two changes share a key, but the pair is checked.
    assert typos.keys("abxc") & typos.keys("aybc") == {"abc"}


def _karens(holmeses: int) -> list[dict[str, object]]:
    """Many Karen Holmes with birthdays, one typed Holmek without one (record 0 is the
    same person), many Karen Harts without, and people of other names."""
    rows: list[dict[str, object]] = [
        {"first_name": "Karen", "last_name": "Holmes", "dob": "1961-03-04"},
        {"first_name": "Karen", "last_name": "Holmek"},
    ]
    rows += [
        {
            "first_name": "Karen",
            "last_name": "Holmes",
            "dob": f"19{50 + i % 40}-0{1 + i % 9}-2{i % 8}",
        }
        for i in range(holmeses)
    ]
    rows += [{"first_name": "Karen", "last_name": "Hart"} for _ in range(30)]
    rows += [
        {"first_name": first, "last_name": last, "dob": f"19{60 + i}-11-1{i}"}
        for i, (first, last) in enumerate(
            [("Mark", "Jones"), ("Ann", "Lee"), ("Ben", "Cole"), ("Ida", "Wells")]
        )
    ]
    return rows


def test_a_surname_typed_wrong_without_a_birthday_meets_its_namesakes_only_through_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    t = table(_karens(40))
    monkeypatch.setattr(blocking, "budget", lambda records: 300)  # Karen H... too common
    chosen = blocking.choose(t, features.present(t))
    near = [r for r in chosen if r.near]
    assert [(r.kept, r.cap, r.pairs) for r in near] == [(True, None, 41)]
    assert near[0].name == "names a typo apart or swapped"
    others = set().union(*(rule_pairs(t, r) for r in chosen if r.kept and not r.near))
    assert ("0", "1") not in others  # no other rule reaches the typo
    found = rule_pairs(t, near[0])
    assert ("0", "1") in found
    assert len(found) == 41  # the Holmek record with each Karen Holmes, nothing else
    assert all("1" in pair for pair in found)


def test_too_many_pairs_keep_the_names_that_make_the_fewest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Mary Hall and Mary Hill are two common names one letter apart: 20 x 20 pairs. The
    # typo Holmek is held once: 1 x 41 pairs. All would not fit; a fifth of the budget
    # holds the typo's.
    rows = _karens(40)
    rows += [{"first_name": "Mary", "last_name": "Hall"} for _ in range(20)]
    rows += [{"first_name": "Mary", "last_name": "Hill"} for _ in range(20)]
    t = table(rows)
    monkeypatch.setattr(blocking, "budget", lambda records: 300)
    near = [r for r in blocking.choose(t, features.present(t)) if r.near]
    assert [(r.kept, r.cap) for r in near] == [(False, None), (True, 41)]
    assert near[0].pairs == 41 + 400
    assert near[1].pairs == 41
    assert near[1].name == "names a typo apart or swapped (names making up to 41 pairs)"
    found = rule_pairs(t, near[1])
    assert ("0", "1") in found
    assert not any(int(a) >= 76 for a, _ in found)  # no Mary


def test_the_rule_is_stored_with_a_model_and_runs_last(monkeypatch: pytest.MonkeyPatch) -> None:
    t = table(_karens(40))
    monkeypatch.setattr(blocking, "budget", lambda records: 300)
    chosen = blocking.choose(t, features.present(t))
    kept = [r.stored for r in chosen if r.kept]
    (stored,) = [s for s in kept if isinstance(s, dict) and s.get("near")]
    back = blocking.Rule.from_stored(stored)
    assert back.near
    assert back.cap is None
    assert back.explode == [typos.COLUMN]
    rules = comparisons.prediction_rules(features.present(t), kept)
    # Splink leaves a later rule's pairs to it, not an exploding rule's: so it is last.
    assert [r.arrays_to_explode for r in rules[:-1]] == [None] * (len(rules) - 1)  # type: ignore[union-attr]
    assert rules[-1].arrays_to_explode == [typos.COLUMN]  # type: ignore[union-attr]


def test_a_run_scores_each_pair_once_and_finds_the_typo(monkeypatch: pytest.MonkeyPatch) -> None:
    rows = _karens(40)
    rows += [
        {"first_name": "Karem", "last_name": "Holmes"},  # a first name typed wrong
        {"first_name": "Karem", "last_name": "Holmek"},  # both: by the names' sounds
        # Paired by two kinds: one first name with surnames a typo apart, and swapped.
        {"first_name": "Lee", "last_name": "Lee"},
        {"first_name": "Lee", "last_name": "Lea"},
    ]
    t = table(rows)
    monkeypatch.setattr(blocking, "budget", lambda records: 300)
    result = engine.run(t, floor_weight=-100.0, candidates=True)
    assert any(r.get("near") and r["used"] for r in result.model["blocking_report"]), result.model[
        "blocking_report"
    ]
    assert result.candidates is not None
    left = result.candidates.column("unique_id_l").to_pylist()
    right = result.candidates.column("unique_id_r").to_pylist()
    pairs = Counter(tuple(sorted(p)) for p in zip(left, right, strict=True))
    assert pairs[("0", "1")] == 1
    lees = (str(len(rows) - 2), str(len(rows) - 1))
    both = [
        p
        for p in typos.all_name_pairs(t)
        if {p.left[:2], p.right[:2]} == {("lee", "lee"), ("lee", "lea")}
    ]
    assert len(both) == 2  # two kinds
    assert pairs[lees] == 1
    assert max(pairs.values()) == 1  # no pair scored twice
    scored = Counter(tuple(sorted((p.left, p.right))) for p in result.pairs)
    assert max(scored.values()) == 1
    # The same model, run again on the records, builds the pair ids anew.
    again = engine.run(t, model=result.model, floor_weight=-100.0, candidates=True)
    assert again.candidates is not None
    assert again.candidates.num_rows == len(left)


def test_names_swapped_as_written_or_with_a_typo_are_paired() -> None:
    t = table(
        [
            {"first_name": "Sam", "last_name": "Webb"},
            {"first_name": "Webb", "last_name": "Sma"},  # swapped, a typo in the moved name
            {"first_name": "Webb", "last_name": "Sam"},  # swapped as written
            {"first_name": "Sam", "last_name": "Webb"},
            {"first_name": "Tom", "last_name": "Webb"},  # another person
            {"first_name": "Lee", "last_name": "Lee"},  # its own swap: no pair with itself
        ]
    )
    found = typos.swapped_pairs(t)
    names = {(p.left[:2], p.right[:2]) for p in found}
    assert names == {(("sam", "webb"), ("webb", "sam")), (("sam", "webb"), ("webb", "sma"))}
    assert {p.pairs for p in found} == {2}  # two Sam Webbs, each with the swapped record
    ids = typos.with_pair_ids(t, None).column(typos.COLUMN).to_pylist()
    assert ids[4] is None
    assert ids[5] is None
    rule = blocking.Rule(("first_name", "last_name"), 0, True, "", near=True)
    # Swapped pairs, and Webb Sma with Webb Sam (one first name, surnames a typo apart).
    assert rule_pairs(t, rule) == {("0", "1"), ("0", "2"), ("1", "3"), ("2", "3"), ("1", "2")}


def test_a_nickname_typed_wrong_meets_the_formal_name_and_its_other_nicknames() -> None:
    t = table(
        [
            {"first_name": "Mik", "last_name": "Holmes"},  # "Mike" mistyped
            {"first_name": "Michael", "last_name": "Holmes", "dob": "1970-02-03"},
            {"first_name": "Michael", "last_name": "Holmes", "dob": "1981-05-06"},
            {"first_name": "Mikey", "last_name": "Holmes"},
            {"first_name": "Mike", "last_name": "Holmes"},  # one edit: the other kinds' pair
            {"first_name": "Michael", "last_name": "Hart"},  # another surname
            {"first_name": "Jean", "last_name": "Holmes"},  # a name of its own, not a typo
            {"first_name": "Jennifer", "last_name": "Holmes"},
        ]
    )
    found = typos.nickname_typo_pairs(t)
    assert {(p.left[1], p.right[1], p.pairs) for p in found} == {
        ("mik", "michael", 2),
        ("mik", "mikey", 1),
    }
    assert typos.formals_near("mik") == {"michael"}
    assert typos.formals_near("jmes") >= {"james"}  # "jim" and "james" one edit away
    rule = blocking.Rule(("first_name", "last_name"), 0, True, "", near=True)
    got = rule_pairs(t, rule)
    assert {("0", "1"), ("0", "2"), ("0", "3"), ("0", "4")} <= got
    assert not {p for p in got if "6" in p or "5" in p}
