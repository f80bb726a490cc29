"""Blocking rules chosen from the fields a workspace fills in, the model of the people of
one home, and the clean-up of dates of birth and id numbers."""

from __future__ import annotations

from typing import Any

import duckdb
import pyarrow as pa
import pytest

from accord.match import blocking, features, household, names


def table(rows: list[dict[str, object]]) -> pa.Table:
    return features.prepare({"unique_id": str(i), **r} for i, r in enumerate(rows))


def test_block_pairs_counts_the_pairs_that_agree_on_every_column() -> None:
    rows = [
        {"first_name": "Ann", "last_name": "Lee", "postcode": "10001"},
        {"first_name": "Ann", "last_name": "Lee", "postcode": "10001"},
        {"first_name": "Ann", "last_name": "Lee", "postcode": "10002"},
        {"first_name": "Bob", "last_name": "Lee", "postcode": "10001"},
        {"first_name": None, "last_name": "Lee", "postcode": "10001"},
    ]
    t = table(rows)
    assert blocking.block_pairs(t, ("first_formal", "last_name")) == 3  # three Ann Lees
    assert blocking.block_pairs(t, ("first_formal", "postcode")) == 1
    # An empty value agrees with nothing.
    assert blocking.block_pairs(t, ("last_name", "postcode")) == 6


def test_rules_follow_the_fields_and_leave_out_blocks_too_large(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rows = [
        {
            "first_name": f"p{i % 7}",
            "last_name": "Same",
            "postcode": "10001",
            "dob": f"19{50 + i % 40}-01-0{1 + i % 9}",
        }
        for i in range(60)
    ]
    t = table(rows)
    present = features.present(t)
    monkeypatch.setattr(blocking, "MIN_BUDGET", 100)
    monkeypatch.setattr(blocking, "PAIRS_PER_RECORD", 2)  # at most 120 pairs a rule
    rules = {r.columns: r for r in blocking.choose(t, present) if r.lacking is r.cap is None}
    assert ("email",) not in rules  # nobody has one
    postcode_names = rules[("last_sound", "postcode")]
    assert postcode_names.pairs == 60 * 59 // 2
    assert not postcode_names.kept
    assert "more than 120" in postcode_names.reason
    assert rules[("first_sound", "dob")].kept
    # Every rule too large: the smallest is still used rather than none.
    monkeypatch.setattr(blocking, "budget", lambda records: -1)
    chosen = blocking.choose(t, present)
    assert [r.kept for r in chosen].count(True) == 1
    kept = next(r for r in chosen if r.kept)
    assert kept.pairs == min(r.pairs for r in chosen)


def test_swapped_names_are_blocked_exactly_and_by_sound() -> None:
    rules = blocking.swapped_rules({"first_name", "last_name", "first_sound", "last_sound", "zip3"})
    assert any("l.first_name = r.last_name" in r for r in rules)
    assert any("l.first_sound = r.last_sound" in r for r in rules)
    assert blocking.swapped_rules({"first_name"}) == []


M = {"first_name": {2: 0.9, 1: 0.05, 0: 0.05}, "dob": {2: 0.9, 1: 0.05, 0: 0.05}}
U = {"first_name": {2: 0.01, 1: 0.02, 0: 0.97}, "dob": {2: 0.001, 1: 0.01, 0: 0.989}}


def test_a_file_without_families_has_homes_of_one_person() -> None:
    # Nearly every pair sharing a home agrees on first name and birthday: one person.
    counts = [((2, 2), 900), ((2, 1), 40), ((1, 2), 40), ((2, 0), 30), ((0, 0), 10)]
    home = household.fit(["first_name", "dob"], counts, M, U)
    assert home.prior > 0.9
    assert not home.families
    assert home.bits({"first_name": 2, "dob": 0}) > 0  # a mistyped birthday: still one


def test_homes_with_families_keep_relatives_apart() -> None:
    # Half the pairs of a home are relatives: other first names and birthdays, twins.
    counts = [((2, 2), 500), ((0, 0), 450), ((0, 2), 40), ((2, 0), 10)]
    home = household.fit(["first_name", "dob"], counts, M, U)
    assert 0.3 < home.prior < 0.7
    assert home.families
    # Relatives agree on a birthday far more often than strangers do.
    assert home.u["dob"][2] > 10 * U["dob"][2]
    assert home.bits({"first_name": 0, "dob": 0}) < -5
    assert home.bits({"first_name": 2, "dob": 2}) > 5
    again = household.HomeModel.from_dict(home.as_dict())
    assert again.bits({"first_name": 2, "dob": 0}) == home.bits({"first_name": 2, "dob": 0})


def test_too_few_home_pairs_keep_the_default_share() -> None:
    home = household.fit(["first_name"], [((2,), 5)], M, U)
    assert home.prior == 0.2
    assert home.families


def test_dates_of_birth_in_the_usual_forms() -> None:
    assert names.clean_date("1980-05-17") == "1980-05-17"
    assert names.clean_date("19800517") == "1980-05-17"
    assert names.clean_date("1980-05-17T00:00:00Z") == "1980-05-17"
    assert names.clean_date("17/05/1980") == "1980-05-17"
    assert names.clean_date("05/17/1980") == "1980-05-17"  # month first, plainly
    assert names.clean_date("1980/5/7") == "1980-05-07"
    # Shaped like a date but not in the calendar: kept, its digits are evidence.
    assert names.clean_date("19800231") == "1980-02-31"
    for bad in ("", "soon", "1980517", "0000-01-01", "17.05.80"):
        assert names.clean_date(bad) is None, bad
    # Eight digits with the year last, and either order where both parts could lead.
    assert names.clean_date("17051980") == "1980-05-17"
    assert names.clean_date("05061994") == "1994-06-05"
    assert names.clean_date("05061994", month_first=True) == "1994-05-06"
    assert names.clean_date("05/06/1994", month_first=True) == "1994-05-06"
    assert names.clean_date("17/05/1980", month_first=True) == "1980-05-17"  # plainly
    assert [names.date_order(v) for v in ("17/05/1980", "05/17/1980", "05/06/1994")] == [
        "dmy",
        "mdy",
        "?",
    ]
    assert names.date_order("1994-05-06") is None


def test_genders_in_their_usual_spellings() -> None:
    assert [names.clean_gender(v) for v in ("Male", " f ", "WOMAN", "Non-binary", "unknown")] == [
        "m",
        "f",
        "f",
        "non binary",
        None,
    ]


def test_placeholders_are_no_names_and_nicknames_come_from_a_wider_list() -> None:
    assert [names.person_name(v) for v in ("Unknown", "Baby Boy", "Lady Of House", "Ada")] == [
        None,
        None,
        None,
        "ada",
    ]
    table = features.prepare(
        [
            {"unique_id": "1", "first_name": "Davey", "last_name": "Unknown"},
            {"unique_id": "2", "first_name": "Kris", "last_name": "Goff"},
        ]
    )
    assert table.column("last_name").to_pylist() == [None, "goff"]
    # What census forms hold in place of a name; names that are also people's are kept.
    stand_ins = ("Gentleman", "Adult Male", "Respondent", "Last Name", "Hija", "Goh")
    assert [names.person_name(v) for v in stand_ins] == [None] * len(stand_ins)
    real = ("House", "Person", "Minor", "Son", "Nina", "Friend", "Younger")
    assert [names.person_name(v) for v in real] == [v.lower() for v in real]
    # The formal names a nickname may stand for, all of them.
    assert table.column("first_formals").to_pylist()[0] == "|david|"
    kris = table.column("first_formals").to_pylist()[1]
    assert {"christina", "kristopher", "kristine"} <= set(kris.strip("|").split("|"))


def test_an_address_more_records_share_than_a_home_holds_is_no_home() -> None:
    dorm = [
        {"unique_id": f"d{i}", "street": "1231 Riverside Dr", "postcode": "98101"}
        for i in range(features.HOME_MAX + 1)
    ]
    home = [{"unique_id": f"h{i}", "street": "12 Elm St", "postcode": "98101"} for i in range(3)]
    table = features.prepare(dorm + home)
    houses = table.column("house").to_pylist()
    assert set(houses[: len(dorm)]) == {None}  # neighbours, not a household
    assert set(houses[len(dorm) :]) == {"12 elm st"}
    assert set(table.column("street").to_pylist()[: len(dorm)]) == {"1231 riverside dr"}
    # One house number and street in many towns is many homes.
    towns = [
        {"unique_id": f"t{i}", "street": "12 Main St", "postcode": f"{10000 + i}"}
        for i in range(features.HOME_MAX + 1)
    ]
    assert set(features.prepare(towns).column("house").to_pylist()) == {"12 main st"}


def test_a_rule_too_large_is_kept_to_its_small_blocks() -> None:
    streets = ["1 big st"] * 400 + [f"{i // 5} small st" for i in range(300)]
    table = pa.table({"street": streets, "email": pa.array([None] * len(streets), pa.string())})
    rules = {r.name: r for r in blocking.choose(table, {"street"})}
    assert not rules["street"].kept
    capped = rules["street (blocks of up to 5)"]
    assert capped.kept
    assert capped.pairs == 600
    assert "l.street__block <= 5" in capped.sql
    assert capped.stored == {"columns": ["street"], "cap": 5}
    sized = blocking.with_block_sizes(table, [("street",), ("street", "email")])
    assert sized.column("street__block").to_pylist()[0] == 400.0
    assert sized.column("street__block").to_pylist()[-1] == 5.0
    assert set(sized.column("street__email__block").to_pylist()) == {None}  # no email


def _births(values: list[str], **how: Any) -> list[str | None]:
    rows = [{"unique_id": str(i), "dob": v} for i, v in enumerate(values)]
    return features.prepare(rows, **how).column("dob").to_pylist()


def test_the_order_of_a_date_s_parts_is_read_from_the_dates_then_the_region() -> None:
    # A register that writes 10/31/1984 also means 5 June by 06/05/1994; another source
    # writing ISO dates does not say either way.
    us = ["10/31/1984", "12/25/1950", "06/05/1994", "1994-06-05"]
    assert _births(us) == ["1984-10-31", "1950-12-25", "1994-06-05", "1994-06-05"]
    uk = ["31/10/1984", "25/12/1950", "06/05/1994"]
    assert _births(uk, region="US") == ["1984-10-31", "1950-12-25", "1994-05-06"]
    # Nothing shows it: the workspace's country does; a model's choice stands.
    assert _births(["06/05/1994"], region="US") == ["1994-06-05"]
    assert _births(["06/05/1994"], region="GB") == ["1994-05-06"]
    assert _births(["06/05/1994"], month_first=True, region="GB") == ["1994-06-05"]
    table = features.prepare([{"unique_id": "1", "dob": "06/05/1994"}], region="US")
    assert features.month_first_of(table) is True
    assert table.column("birth_md").to_pylist() == ["06-05"]


def test_id_numbers_and_streets() -> None:
    assert names.clean_id(" ab-123 45 ") == "AB12345"
    assert names.clean_id("12") is None
    assert names.street_name("12 oak st") == "oak st"
    assert names.street_name("12b") is None


def test_a_trait_named_as_a_personal_id_number_is_the_id_number_unless_others_are_named() -> None:
    def traits(**values: str) -> dict[str, object]:
        return {"firstName": {"value": "Ann"}, **{k: {"value": v} for k, v in values.items()}}

    def id_of(found: dict[str, object], named: tuple[str, ...] = ()) -> object:
        return features.from_traits("p", found, None, None, named)["id_number"]

    assert id_of(traits(soc_sec_id="1804974")) == "1804974"
    assert id_of(traits(**{"National ID": "AB 12 34 56"})) == "AB 12 34 56"
    assert id_of(traits(SSN="078-05-1120", customer_number="C-1")) == "078-05-1120"
    # A customer or member number may be a family's: only when the workspace names it.
    assert id_of(traits(customer_number="C-1")) is None
    assert id_of(traits(customer_number="C-1", ssn="1"), ("customer_number",)) == "C-1"
    assert id_of(traits(ssn="078-05-1120"), ("memberNumber",)) is None


def test_a_rule_too_large_keeps_the_pairs_where_one_record_lacks_a_birthday(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Everyone is an Ann Lee; half have a birthday. Names alone make too many pairs, but
    # the pairs with one record without a birthday can only be found on the name.
    rows = [
        {
            "first_name": "Ann",
            "last_name": "Lee",
            "dob": f"1980-01-{1 + i % 28:02d}" if i % 2 else None,
        }
        for i in range(40)
    ]
    t = table(rows)
    monkeypatch.setattr(blocking, "budget", lambda records: 600)
    rules = [
        r
        for r in blocking.choose(t, features.present(t))
        if r.columns == ("first_formal", "last_name")
    ]
    assert [(r.kept, r.lacking) for r in rules] == [(False, None), (True, "dob")]
    assert rules[0].pairs == 40 * 39 // 2
    assert rules[1].pairs == 40 * 39 // 2 - 20 * 19 // 2  # all but the pairs both with one
    assert "IS NULL" in rules[1].sql
    assert rules[1].stored == {"columns": ["first_formal", "last_name"], "lacking": "dob"}


def _pairs(t: pa.Table, sql: str) -> set[tuple[str, str]]:
    con = duckdb.connect()
    con.register("t", t)
    rows = con.execute(
        f"SELECT l.unique_id, r.unique_id FROM t l JOIN t r ON {sql} AND l.unique_id < r.unique_id"  # noqa: S608 - the rules' own SQL
    ).fetchall()
    return {(a, b) for a, b in rows}


def rule_pairs(t: pa.Table, rule: blocking.Rule) -> set[tuple[str, str]]:
    """The pairs a rule makes, its array columns read one element a row as Splink does."""
    if not rule.explode:
        return _pairs(t, rule.sql)
    t = blocking.with_near_pairs(t, [rule])
    con = duckdb.connect()
    con.register("t", t)
    (column,) = rule.explode
    con.execute(f"CREATE TABLE e AS SELECT unique_id, unnest({column}) AS {column} FROM t")  # noqa: S608
    rows = con.execute(
        f"SELECT DISTINCT l.unique_id, r.unique_id FROM e l JOIN e r ON {rule.sql} "  # noqa: S608
        "AND l.unique_id < r.unique_id"
    ).fetchall()
    return {(a, b) for a, b in rows}


def test_a_birthday_typed_wrong_in_one_part_still_blocks_when_names_alone_are_too_common(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Many Ann Lees with birthdays: names alone make too many pairs. Records 0, 1 and 4
    # are one Ann Lee whose birthday was typed wrong (the day in 1, the year in 4);
    # records 2 and 3 are one person whose names were swapped in a record without a
    # birthday.
    rows: list[dict[str, object]] = [
        {"first_name": "Ann", "last_name": "Lee", "dob": "1971-04-12"},
        {"first_name": "Ann", "last_name": "Lee", "dob": "1971-04-21"},
        {"first_name": "Grace", "last_name": "Hopper", "dob": "1906-12-09"},
        {"first_name": "Hopper", "last_name": "Grace"},
        {"first_name": "Ann", "last_name": "Lee", "dob": "1917-04-12"},
    ]
    rows += [
        {"first_name": "Ann", "last_name": "Lee", "dob": f"19{40 + i % 50}-0{1 + i % 9}-1{i % 10}"}
        for i in range(60)
    ]
    t = table(rows)
    assert t.column("birth_year").to_pylist()[:2] == ["1971", "1971"]
    assert t.column("birth_md").to_pylist()[:2] == ["04-12", "04-21"]
    present = features.present(t)
    monkeypatch.setattr(blocking, "MIN_BUDGET", 100)
    monkeypatch.setattr(blocking, "PAIRS_PER_RECORD", 2)
    chosen = blocking.choose(t, present)
    rules = {r.columns: r for r in chosen if r.lacking is None}
    assert not rules[("first_formal", "last_name")].kept  # too many Ann Lees
    assert rules[("first_formal", "last_name", "birth_year")].kept
    assert rules[("first_formal", "last_name", "birth_md")].kept
    found: set[tuple[str, str]] = set()
    for rule in chosen:
        if rule.kept:
            found |= rule_pairs(t, rule)
    for sql in blocking.swapped_rules(present):
        found |= _pairs(t, sql)
    assert ("0", "1") in found  # the same year
    assert ("0", "4") in found  # the same day and month
    assert ("2", "3") in found  # swapped, one without a birthday


def test_a_typo_in_one_name_still_blocks_on_the_other_name_and_an_initial() -> None:
    # Jennifer Smith has a birthday; her record typed Smit has none, and her record
    # typed Jenifer none either: no rule on both names whole, nor on a birthday, meets
    # them.
    rows: list[dict[str, object]] = [
        {"first_name": "Jennifer", "last_name": "Smith", "dob": "1980-02-03"},
        {"first_name": "Jennifer", "last_name": "Smit"},
        {"first_name": "Jenifer", "last_name": "Smith"},
        {"first_name": "Mark", "last_name": "Jones", "dob": "1970-05-06"},
    ]
    t = table(rows)
    kept = [r for r in blocking.choose(t, features.present(t)) if r.kept]
    found = set().union(*(rule_pairs(t, r) for r in kept))
    assert {("0", "1"), ("0", "2")} <= found
    assert [r.name for r in kept if r.columns[-1].endswith("initial")][:2] == [
        "last_name+first_initial",
        "first_formal+last_initial",
    ]


def test_a_name_rule_too_large_keeps_only_its_smallest_blocks(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    rows: list[dict[str, object]] = [
        {"first_name": name, "last_name": "Lee"}
        for name in ("Ann", "Ben", "Cal", "Dee", "Eli", "Fay", "Gus", "Hal", "Ida", "Jo")
        for _ in range(5)
    ]
    rows += [{"first_name": "Kim", "last_name": "Lee"} for _ in range(10)]
    rows += [{"first_name": "Lu", "last_name": "Lee"} for _ in range(60)]
    t = table(rows)
    monkeypatch.setattr(blocking, "budget", lambda records: 1000)  # a fifth: 200 pairs
    rules = [
        r
        for r in blocking.choose(t, features.present(t))
        if r.columns == ("first_formal", "last_name")
    ]
    assert [(r.kept, r.cap) for r in rules] == [(False, None), (True, 5)]
    # The blocks of ten would fit a fifth of the budget too, but are namesakes more often.
    monkeypatch.setattr(blocking, "MAX_NAME_CAP", 10)
    rules = [
        r
        for r in blocking.choose(t, features.present(t))
        if r.columns == ("first_formal", "last_name")
    ]
    assert [(r.kept, r.cap) for r in rules] == [(False, None), (True, 10)]


def test_a_building_s_records_meet_their_family_s_with_a_name_missing(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # A building of many homes (its street too common to block on alone) where one
    # record of a person lacks the first name and another the surname: only the people
    # of one address with one surname, or one first name, meet them.
    rows: list[dict[str, object]] = []
    for i in range(40):
        x, y = "bcdfghjkmn"[i % 10], "aeiou"[i // 10]
        rows.append(
            {"first_name": f"A{x}{y}na", "last_name": f"K{y}{x}ley", "street": "4000 Skycrest Pkwy"}
        )
    rows += [
        {"first_name": "Harold", "last_name": "Barr", "street": "4000 Skycrest Pkwy"},
        {"last_name": "Barr", "street": "4000 Skycrest Pkwy"},
        {"first_name": "Harold", "street": "4000 Skycrest Pkwy"},
    ]
    monkeypatch.setattr(blocking, "budget", lambda records: 200)
    t = table(rows)
    chosen = blocking.choose(t, features.present(t))
    assert not any(r.kept and r.columns == ("street",) and r.cap is None for r in chosen)
    kept = [r for r in chosen if r.kept]
    found = set().union(*(rule_pairs(t, r) for r in kept))
    assert {("40", "41"), ("40", "42")} <= found
    assert {"last_name+street", "first_formal+street"} <= {r.name for r in kept}


def test_a_name_missing_or_a_placeholder_meets_its_person_by_the_other_and_middle_initial() -> None:
    # A census form's "Lady Of House" for a first name, and a benefits record without its
    # surname: neither shares both names or a birthday with its other record.
    t = features.prepare(
        [
            {
                "unique_id": "0",
                "first_name": "Lady Of House",
                "middle_name": "Loretta",
                "last_name": "Pierce",
            },
            {
                "unique_id": "1",
                "first_name": "Beulah",
                "middle_name": "L",
                "last_name": "Pierce",
                "dob": "1949-06-04",
                "street": "400 Glenwood Road",
            },
            {
                "unique_id": "2",
                "first_name": "Elisabet",
                "middle_name": "Heidi",
                "dob": "1995-12-29",
            },
            {
                "unique_id": "3",
                "first_name": "Elisabet",
                "middle_name": "H",
                "last_name": "Hong",
                "dob": "1995-10-29",
            },
            {"unique_id": "4", "first_name": "Tom", "middle_name": "Ray", "last_name": "Pierce"},
        ]
    )
    rules = blocking.choose(t, set(t.column_names))
    kept = [r for r in rules if r.kept and not r.near]
    assert {("last_name", "middle_initial"), ("first_formal", "middle_initial")} <= {
        r.columns for r in kept
    }
    found = set().union(*(rule_pairs(t, r) for r in kept))
    assert {("0", "1"), ("2", "3")} <= found
    assert ("0", "4") not in found
    assert ("1", "4") not in found
