"""The Fellegi-Sunter comparisons and blocking rules, built from the fields a workspace
has. Each comparison lists its levels from the most to the least specific; every level
has a prior m probability used when the workspace is too small to train (or a training
rule is rejected). Household-level fields (surname, address, phone, email) are kept
apart from person-level ones (first name, date of birth), which the decisions use."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import splink.comparison_level_library as cll
import splink.comparison_library as cl
from splink import block_on
from splink.blocking_rule_library import CustomRule
from splink.internals.blocking_rule_creator import BlockingRuleCreator
from splink.internals.comparison_creator import ComparisonCreator

from accord.match.scored import (
    HOUSEHOLD_DEPTH,
    HOUSEHOLD_LEVEL,
    PERSON_LEVEL,
    shares_household,
)

__all__ = ["HOUSEHOLD_LEVEL", "PERSON_LEVEL", "shares_household"]


def household_sql(top: Mapping[str, int]) -> str | None:
    parts = [
        f"gamma_{name} > {top[name] - depth}"
        for name, depth in HOUSEHOLD_DEPTH.items()
        if name in top
    ]
    return " OR ".join(parts) if parts else None


def family_sql(top: Mapping[str, int], present: set[str]) -> str | None:
    """The pairs the model of the people of one home is measured on: those that share a
    home, or, in a workspace that records no home (no house numbers, phones or emails),
    those that share a surname (and a postcode, or a city, when recorded): relatives as
    near as its records can tell."""
    if present & {"house", "phone", "email"}:
        return household_sql(top)
    if "last_name" not in present:
        return None
    sql = "last_name_l = last_name_r"
    for column in ("postcode", "city"):
        if column in present:
            return f"{sql} AND {column}_l = {column}_r"
    return sql


@dataclass(frozen=True)
class Spec:
    name: str  # output column name (gamma_<name>, mw_<name>)
    needs: tuple[str, ...]  # any of these columns present enables it
    levels: tuple[tuple[str, float], ...]  # (label, prior m) from most specific to else
    build: Any

    def comparison(self, dialect: str = "duckdb") -> ComparisonCreator:
        built: ComparisonCreator = self.build(dialect)
        return built


SWAP_SIMILARITY = 0.88
FORMAL_SIMILARITY = 0.9


def _swapped_with_typo(dialect: str) -> cll.CustomLevel:
    """First and last names in each other's place, one or both mistyped."""
    from splink.internals.dialects import SplinkDialect

    jw = SplinkDialect.from_string(dialect).jaro_winkler_function_name
    return cll.CustomLevel(
        f"{jw}(first_name_l, last_name_r) >= {SWAP_SIMILARITY} AND "
        f"{jw}(last_name_l, first_name_r) >= {SWAP_SIMILARITY}",
        label_for_charts="names swapped, with a typo",
        base_dialect_str=dialect,
    )


def _formal_mistyped(dialect: str) -> cll.CustomLevel:
    """A nickname on one side and a typo on either (``Barb`` and ``Brabara``): the
    formal names, not the names, alike."""
    from splink.internals.dialects import SplinkDialect

    jw = SplinkDialect.from_string(dialect).jaro_winkler_function_name
    return cll.CustomLevel(
        f"{jw}(first_formal_l, first_formal_r) >= {FORMAL_SIMILARITY}",
        label_for_charts="nickname, mistyped",
        base_dialect_str=dialect,
    )


def _first_name(dialect: str) -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="first_name",
        comparison_levels=[
            cll.NullLevel("first_name"),
            cll.ExactMatchLevel("first_name").configure(tf_adjustment_column="first_name"),
            cll.ColumnsReversedLevel("first_name", "last_name", symmetrical=True),
            _swapped_with_typo(dialect),
            cll.ExactMatchLevel("first_formal"),
            # Each name's first word looked up among the other's formal names.
            cll.CustomLevel(
                "instr(first_formals_r, concat('|', first_name_l, '|')) > 0 OR "
                "instr(first_formals_l, concat('|', first_name_r, '|')) > 0",
                label_for_charts="a nickname of the other",
                base_dialect_str="duckdb",
            ),
            cll.JaroWinklerLevel("first_name", 0.92),
            cll.JaroWinklerLevel("first_name", 0.85),
            cll.ExactMatchLevel("first_sound"),
            _formal_mistyped(dialect),
            cll.CustomLevel(
                "(length(first_name_l) = 1 OR length(first_name_r) = 1) AND "
                "substr(first_name_l, 1, 1) = substr(first_name_r, 1, 1)",
                label_for_charts="Initial",
                base_dialect_str="duckdb",
            ),
            cll.ElseLevel(),
        ],
    )


def _last_name(dialect: str) -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="last_name",
        comparison_levels=[
            cll.NullLevel("last_name"),
            cll.ExactMatchLevel("last_name").configure(tf_adjustment_column="last_name"),
            # Counted once, by the first name comparison.
            cll.ColumnsReversedLevel("first_name", "last_name", symmetrical=True).configure(
                m_probability=0.01,
                u_probability=0.01,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            _swapped_with_typo(dialect).configure(
                m_probability=0.01,
                u_probability=0.01,
                fix_m_probability=True,
                fix_u_probability=True,
            ),
            cll.JaroWinklerLevel("last_name", 0.92),
            cll.JaroWinklerLevel("last_name", 0.85),
            cll.ExactMatchLevel("last_sound"),
            # One name written in the other's field, the other name another (``Jordan
            # Lavis`` and ``Lavis Henry``): a form filled in the wrong order, or a
            # middle name given as the first.
            cll.CustomLevel(
                "last_name_l = first_name_r OR first_name_l = last_name_r",
                label_for_charts="the other's first name",
                base_dialect_str="duckdb",
            ),
            cll.ElseLevel(),
        ],
    )


def _middle_name(dialect: str) -> ComparisonCreator:
    """A middle name written out or as its initial: the same name, the same initial (one
    side an initial, or both), or another."""
    return cl.CustomComparison(
        output_column_name="middle_name",
        comparison_levels=[
            cll.NullLevel("middle_name"),
            cll.CustomLevel(
                "middle_name_l = middle_name_r AND length(middle_name_l) > 1",
                label_for_charts="same name",
                base_dialect_str="duckdb",
            ),
            cll.ExactMatchLevel("middle_initial").configure(label_for_charts="same initial"),
            cll.ElseLevel(),
        ],
    )


def _gender(dialect: str) -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="gender",
        comparison_levels=[
            cll.NullLevel("gender"),
            cll.ExactMatchLevel("gender"),
            cll.ElseLevel(),
        ],
    )


def _dob(dialect: str) -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="dob",
        comparison_levels=[
            cll.NullLevel("dob"),
            cll.ExactMatchLevel("dob"),
            cll.CustomLevel(
                "substr(dob_l, 1, 4) = substr(dob_r, 1, 4) AND "
                "substr(dob_l, 6, 2) = substr(dob_r, 9, 2) AND "
                "substr(dob_l, 9, 2) = substr(dob_r, 6, 2)",
                label_for_charts="Day and month swapped",
                base_dialect_str="duckdb",
            ),
            cll.LevenshteinLevel("dob", 1),
            cll.LevenshteinLevel("dob", 2),
            cll.ElseLevel(),
        ],
    )


def _address(dialect: str) -> ComparisonCreator:
    """Street, postcode and city as one comparison: they move together, so a mover's
    new address counts against a match once, not three times."""
    nothing = " AND ".join(f"{c}_{{side}} IS NULL" for c in ("street", "postcode", "city"))
    # (``house`` is ``street`` when it has a number, so a missing street covers it.)
    return cl.CustomComparison(
        output_column_name="address",
        comparison_levels=[
            cll.CustomLevel(
                f"({nothing.format(side='l')}) OR ({nothing.format(side='r')})",
                label_for_charts="missing",
                base_dialect_str="duckdb",
            ).configure(is_null_level=True),
            cll.And(cll.ExactMatchLevel("house"), cll.ExactMatchLevel("postcode")).configure(
                label_for_charts="same street and postcode"
            ),
            cll.ExactMatchLevel("house").configure(label_for_charts="same street"),
            cll.And(cll.JaroWinklerLevel("house", 0.9), cll.ExactMatchLevel("postcode")).configure(
                label_for_charts="similar street, same postcode"
            ),
            # A typo in the postcode as well as in the street.
            cll.JaroWinklerLevel("house", 0.9).configure(label_for_charts="similar street"),
            # Streets recorded without house numbers: neighbours as much as one home.
            cll.And(cll.ExactMatchLevel("street"), cll.ExactMatchLevel("postcode")).configure(
                label_for_charts="same street, no house number"
            ),
            cll.And(
                cll.Or(cll.NullLevel("street"), cll.NullLevel("postcode")),
                cll.ExactMatchLevel("postcode"),
            ).configure(tf_adjustment_column="postcode"),
            cll.ExactMatchLevel("postcode").configure(tf_adjustment_column="postcode"),
            cll.And(cll.ExactMatchLevel("city"), cll.ExactMatchLevel("zip3")),
            cll.ExactMatchLevel("city"),
            cll.ExactMatchLevel("zip3"),
            cll.ElseLevel(),
        ],
    )


def _email(dialect: str) -> ComparisonCreator:
    return cl.CustomComparison(
        output_column_name="email",
        comparison_levels=[
            cll.NullLevel("email"),
            cll.ExactMatchLevel("email"),
            cll.ExactMatchLevel("email_user"),
            cll.ElseLevel(),
        ],
    )


def _exact_or_one_off(name: str) -> ComparisonCreator:
    """A number compared whole: the same, one character off, or another."""
    return cl.CustomComparison(
        output_column_name=name,
        comparison_levels=[
            cll.NullLevel(name),
            cll.ExactMatchLevel(name),
            cll.LevenshteinLevel(name, 1),
            cll.ElseLevel(),
        ],
    )


def _phone(dialect: str) -> ComparisonCreator:
    return _exact_or_one_off("phone")


def _id_number(dialect: str) -> ComparisonCreator:
    return _exact_or_one_off("id_number")


SPECS: tuple[Spec, ...] = (
    Spec(
        "first_name",
        ("first_name",),
        (
            ("exact", 0.80),
            ("names swapped", 0.01),
            ("names swapped, with a typo", 0.005),
            ("nickname", 0.06),
            ("a nickname of the other", 0.01),
            ("very similar", 0.05),
            ("similar", 0.03),
            ("sounds alike", 0.02),
            ("nickname, mistyped", 0.005),
            ("initial", 0.01),
            ("different", 0.015),
        ),
        _first_name,
    ),
    Spec(
        "middle_name",
        ("middle_name",),
        (("same name", 0.55), ("same initial", 0.4), ("different", 0.05)),
        _middle_name,
    ),
    Spec(
        "last_name",
        ("last_name",),
        (
            ("exact", 0.85),
            ("names swapped", 0.01),
            ("names swapped, with a typo", 0.01),
            ("very similar", 0.06),
            ("similar", 0.03),
            ("sounds alike", 0.02),
            ("the other's first name", 0.005),
            ("different", 0.03),
        ),
        _last_name,
    ),
    Spec(
        "dob",
        ("dob",),
        (
            ("exact", 0.9),
            ("day and month swapped", 0.02),
            ("one digit off", 0.05),
            ("two digits off", 0.01),
            ("different", 0.02),
        ),
        _dob,
    ),
    Spec(
        "address",
        ("street", "postcode", "city"),
        (
            ("same street and postcode", 0.55),
            ("same street", 0.04),
            ("similar street, same postcode", 0.04),
            ("similar street", 0.01),
            ("same street, no house number", 0.01),
            ("same postcode, no street to compare", 0.24),
            ("same postcode, another street", 0.01),
            ("same city and area", 0.02),
            ("same city", 0.02),
            ("same area", 0.01),
            ("different", 0.06),
        ),
        _address,
    ),
    Spec(
        "gender",
        ("gender",),
        (("same", 0.97), ("different", 0.03)),
        _gender,
    ),
    Spec(
        "email",
        ("email",),
        (("exact", 0.8), ("same user", 0.05), ("different", 0.15)),
        _email,
    ),
    Spec(
        "phone",
        ("phone",),
        (("exact", 0.8), ("one digit off", 0.03), ("different", 0.17)),
        _phone,
    ),
    Spec(
        "id_number",
        ("id_number",),
        (("exact", 0.85), ("one character off", 0.05), ("different", 0.10)),
        _id_number,
    ),
)


# How often two strangers agree at each level, for a workspace too small to sample: a
# handful of common first names and surnames, a few postcodes of one city.
PRIOR_U: dict[str, dict[str, float]] = {
    "first_name": {
        "exact": 0.01,
        "names swapped": 0.0002,
        "names swapped, with a typo": 0.0002,
        "nickname": 0.002,
        "a nickname of the other": 0.001,
        "very similar": 0.002,
        "similar": 0.005,
        "sounds alike": 0.005,
        "nickname, mistyped": 0.002,
        "initial": 0.002,
    },
    "middle_name": {"same name": 0.005, "same initial": 0.07},
    "gender": {"same": 0.5},
    "last_name": {
        "exact": 0.005,
        "very similar": 0.002,
        "similar": 0.003,
        "sounds alike": 0.003,
        "the other's first name": 0.0005,
    },
    "dob": {
        "exact": 0.0003,
        "day and month swapped": 0.00003,
        "one digit off": 0.003,
        "two digits off": 0.01,
    },
    "address": {
        "same street and postcode": 0.0005,
        "same street": 0.0002,
        "similar street, same postcode": 0.001,
        "similar street": 0.0003,
        "same street, no house number": 0.002,
        "same postcode, no street to compare": 0.01,
        "same postcode, another street": 0.01,
        "same city and area": 0.005,
        "same city": 0.02,
        "same area": 0.01,
    },
    "email": {"exact": 0.0001, "same user": 0.0005},
    "phone": {"exact": 0.0001, "one digit off": 0.0005},
    "id_number": {"exact": 0.0001, "one character off": 0.0005},
}


PRIOR_M_FLOOR = 0.001


def prior_m(spec: Spec, filled: Mapping[str, float]) -> list[float]:
    """A comparison's prior m probabilities. For the address they follow how often the
    street is filled in: when few records have one, agreeing on the postcode alone is
    what a match usually looks like. (Only workspaces too small or too sparse to train
    use priors; EM replaces them otherwise.)"""
    m = [p for _, p in spec.levels]
    if spec.name != "address" or "street" not in filled:
        return m
    both = filled["street"] ** 2  # both records of a pair have a street
    houses = filled.get("house", 0.0) ** 2  # ...and with house numbers
    postcode = 0.85  # a match shares the postcode, with or without a street
    scale = postcode * houses / (m[0] + m[2]) if m[0] + m[2] else 1.0
    out = list(m)
    # With no house numbers at all, agreeing on one stays possible, only rare: a level's
    # m is never zero (Splink refuses it, and no evidence can move it from there).
    out[0], out[2] = max(m[0] * scale, PRIOR_M_FLOOR), max(m[2] * scale, PRIOR_M_FLOOR)
    out[3] = max(postcode * (both - houses), 0.01)  # same street, no house number
    out[4] = max(postcode * (1 - both), 0.01)  # same postcode, no street to compare
    rest = 1 - sum(out[:5])
    tail = sum(m[5:])
    out[5:] = [p * max(rest, 0.01) / tail for p in m[5:]]
    return out


def specs_for(present: set[str]) -> list[Spec]:
    return [s for s in SPECS if any(c in present for c in s.needs)]


def prediction_rules(
    present: set[str], chosen: list[Any] | None = None
) -> list[BlockingRuleCreator | dict[str, Any]]:
    """Candidate pairs: records that could be one person despite errors. ``chosen`` are
    the equality rules ``blocking.choose`` kept for the workspace (a model stores them);
    a model from before that keeps the rules that were fixed then."""
    from accord.match import blocking

    if chosen is not None:
        rules: list[BlockingRuleCreator | dict[str, Any]] = []
        near: list[BlockingRuleCreator | dict[str, Any]] = []
        for c in chosen:
            if isinstance(c, dict):  # one record lacking a field, small blocks, typos
                rule = blocking.Rule.from_stored(c)
                if rule.near:  # last: later rules do not exclude its pairs
                    near.append(CustomRule(rule.sql, "duckdb", arrays_to_explode=rule.explode))
                else:
                    rules.append(CustomRule(rule.sql, "duckdb"))
            else:
                rules.append(block_on(*c))
        rules += [CustomRule(sql, "duckdb") for sql in blocking.swapped_rules(present)]
        return rules + near
    rules = []
    if "email" in present:
        rules.append(block_on("email"))
    if "phone" in present:
        rules.append(block_on("phone"))
    if "dob" in present:
        rules.append(block_on("last_sound", "dob"))
        rules.append(block_on("first_sound", "dob"))
    if "postcode" in present:
        rules.append(block_on("first_formal", "postcode"))
        rules.append(block_on("last_name", "postcode"))
    elif "city" in present:
        rules.append(block_on("first_formal", "last_name", "city"))
    if "street" in present:
        rules.append(block_on("street"))
    rules += [CustomRule(sql, "duckdb") for sql in blocking.swapped_rules(present)]
    if not ({"dob", "postcode", "city", "email", "phone"} & present):
        rules.append(block_on("first_formal", "last_name"))
    return rules


def training_rules(present: set[str]) -> list[BlockingRuleCreator]:
    """EM training blocks, each leaving other comparisons free to be learned. Their
    pairs must hold a real mix of matches and non-matches (checked after training)."""
    rules: list[BlockingRuleCreator] = []
    if "dob" in present:
        rules.append(block_on("dob"))
    if "zip3" in present:  # on a large population same name alone is mostly strangers
        rules.append(block_on("first_formal", "last_name", "zip3"))
    rules.append(block_on("first_formal", "last_name"))
    if "dob" not in present:
        for column in ("email", "phone"):
            if column in present:
                rules.append(block_on(column))
    return rules


def deterministic_rules(present: set[str]) -> list[str | BlockingRuleCreator]:
    """Rules that admit almost no false positives, to estimate the prior."""
    rules: list[str | BlockingRuleCreator] = []
    if "dob" in present:
        rules.append(block_on("first_name", "last_name", "dob"))
    if "email" in present:
        rules.append(block_on("first_name", "email"))
    if "phone" in present:
        rules.append(block_on("first_name", "phone"))
    if "id_number" in present:
        rules.append(block_on("first_name", "id_number"))
    if not rules and "postcode" in present:
        rules.append(block_on("first_name", "last_name", "postcode"))
    return rules
