"""Splink as the engine: a Fellegi-Sunter model trained on the workspace's own records
(u by random sampling, m by guarded EM, the prior from deterministic rules) and the
scored candidate pairs it predicts. DuckDB by default; the same settings run on Apache
Spark (``engine="spark"``) for data beyond one machine."""

from __future__ import annotations

import copy
import logging
import time
import uuid
from collections.abc import Callable
from typing import Any

import pyarrow as pa

from accord.match import backends, blocking, comparisons, household
from accord.match.backends import backend, spark_session
from accord.match.features import month_first_of
from accord.match.features import present as present_columns
from accord.match.scored import (
    Engine,
    Fields,
    Level,
    Result,
    Scored,
    TrainingRule,
    by_gamma,
    home_model_of,
    levels_of,
    weight_of,
)

__all__ = [
    "Engine",
    "Fields",
    "Level",
    "Result",
    "Scored",
    "TrainingRule",
    "backend",
    "home_model_of",
    "levels_of",
    "spark_session",
    "weight_of",
]

log = logging.getLogger("accord.match.engine")
MIN_RECORDS_FOR_U = 200  # below this, u comes from the priors too
MIN_RECORDS_FOR_EM = 1000  # below this, m comes from the priors
EM_MAX_PAIRS = 2_000_000
U_MAX_PAIRS = 1_000_000
GUARD_LOW, GUARD_HIGH = 0.01, 0.99
DEFAULT_PRIOR_MATCHES_PER_RECORD = 0.5
M_FLOOR = 0.001
NEW_LEVEL_U = 0.001
MAX_TRAINING_RULES = 3


TF_COLUMNS = ("first_name", "last_name", "postcode")
TF_KEEP = 5000


def term_frequencies(table: pa.Table, keep: int = TF_KEEP) -> dict[str, dict[str, float]]:
    """The share of records holding each of the most common values of the columns with
    term-frequency adjustment, kept with the model to score new records alike."""
    import pyarrow.compute as pc

    out: dict[str, dict[str, float]] = {}
    for name in TF_COLUMNS:
        column = table.column(name)
        filled = len(column) - column.null_count
        if not filled:
            continue
        counts = pc.value_counts(column.drop_null()).to_pylist()
        counts.sort(key=lambda c: -c["counts"])
        out[name] = {c["values"]: c["counts"] / filled for c in counts[:keep]}
        out[name][""] = 1 / filled  # any value not kept: seen about once
    return out


def _settings(
    specs: list[comparisons.Spec],
    present: set[str],
    n: int,
    dialect: str = "duckdb",
    term_frequencies: bool = True,
    filled: dict[str, float] | None = None,
    chosen: list[Any] | None = None,
) -> dict[str, Any]:
    from splink import SettingsCreator

    creator = SettingsCreator(
        link_type="dedupe_only",
        unique_id_column_name="unique_id",
        comparisons=[s.comparison(dialect) for s in specs],
        blocking_rules_to_generate_predictions=comparisons.prediction_rules(present, chosen),
        probability_two_random_records_match=min(
            0.5, DEFAULT_PRIOR_MATCHES_PER_RECORD / max(n - 1, 1)
        ),
        retain_intermediate_calculation_columns=True,
        retain_matching_columns=True,
    )
    settings: dict[str, Any] = creator.create_settings_dict(dialect)
    for spec, comp in zip(specs, settings["comparisons"], strict=True):
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        priors = comparisons.prior_m(spec, filled or {})
        for lv, (label, _), m in zip(levels, spec.levels, priors, strict=True):
            lv["m_probability"] = m
            lv["label_for_charts"] = label
            if not term_frequencies:  # a handful of records says nothing of how common
                lv.pop("tf_adjustment_column", None)
                lv.pop("tf_adjustment_weight", None)
    return settings


def _prior_u(settings: dict[str, Any]) -> None:
    """u values for a workspace too small to sample: how often two strangers agree at
    each level (``comparisons.PRIOR_U``); the last level takes the rest."""
    for comp in settings["comparisons"]:
        levels = [lv for lv in comp["comparison_levels"] if not lv.get("is_null_level")]
        known = comparisons.PRIOR_U.get(comp["output_column_name"], {})
        agree = [
            known.get(lv.get("label_for_charts", ""), 0.01 / (2**i))
            for i, lv in enumerate(levels[:-1])
        ]
        for lv, u in zip(levels, [*agree, 1 - sum(agree)], strict=True):
            lv["u_probability"] = u


def _trained_names(before: dict[str, Any], after: dict[str, Any]) -> set[str]:
    out = set()
    for b, a in zip(before["comparisons"], after["comparisons"], strict=True):
        mb = [lv.get("m_probability") for lv in b["comparison_levels"]]
        ma = [lv.get("m_probability") for lv in a["comparison_levels"]]
        if mb != ma:
            out.add(a["output_column_name"])
    return out


# Fields one person keeps: a model whose matches mostly disagree on one of them has
# taken something else for a person (a home, a family), whatever its weights' signs.
KEPT_BY_A_PERSON = ("first_name", "middle_name", "last_name", "dob", "gender", "id_number")


def _signs_hold(model: dict[str, Any], names: set[str]) -> str | None:
    """A model that learned persons: agreeing is evidence for, disagreeing against, and
    one person's records agree on what a person keeps more often than not."""
    for name, levels in levels_of(model).items():
        if name not in names:
            continue
        top, other = levels[0].weight, levels[-1].weight
        if top is not None and top <= 0:
            return f"agreement on {name} came out as evidence against"
        if other is not None and other >= 0:
            return f"disagreement on {name} came out as evidence for"
        # Alike at any level (a typo, a nickname, an initial) against different.
        agree, differ = sum(lv.m or 0.0 for lv in levels[:-1]), levels[-1].m
        if name in KEPT_BY_A_PERSON and differ is not None and agree <= differ:
            return f"matches came out disagreeing on {name} more often than agreeing"
    return None


def in_dialect(model: dict[str, Any], dialect: str) -> dict[str, Any]:
    """A stored model's Splink settings for a backend: the comparisons and blocking
    rules are built anew in its SQL dialect and the trained parameters carried over."""
    present = set(model["present"])
    trained = model["settings"]
    fresh = _settings(
        comparisons.specs_for(present),
        present,
        2,
        dialect,
        term_frequencies=bool(model.get("term_frequencies", True)),
        chosen=model.get("blocking"),
    )
    fresh["probability_two_random_records_match"] = trained["probability_two_random_records_match"]
    by_name = {c["output_column_name"]: c for c in trained["comparisons"]}
    for comp in fresh["comparisons"]:
        old = by_name.get(comp["output_column_name"])
        if old is None:
            continue
        levels = comp["comparison_levels"]
        before = old["comparison_levels"]
        if len(levels) != len(before):
            # A model trained before a level was added: carry each level over by its
            # label; a new level keeps its prior m and a small u until the next run.
            by_label = {lv.get("label_for_charts"): lv for lv in before}
            before = [by_label.get(lv.get("label_for_charts"), {}) for lv in levels]
        for level, was in zip(levels, before, strict=True):
            for key in ("m_probability", "u_probability"):
                if was.get(key) is not None:
                    level[key] = was[key]
            if not level.get("is_null_level") and level.get("u_probability") is None:
                level["u_probability"] = NEW_LEVEL_U
    return fresh


def train(
    db_api: Any,
    sdf: Any,
    table: pa.Table,
    *,
    model: dict[str, Any] | None = None,
    dialect: str = "duckdb",
    rules: list[blocking.Rule] | None = None,
) -> tuple[dict[str, Any], list[TrainingRule], bool]:
    """The workspace's model (``{"present": columns, "settings": Splink settings}``):
    given, or trained here (guarded, with safe fallbacks). ``rules`` are the blocking
    rules ``blocking.choose`` made for the table, when it was called already."""
    if model is not None:
        return model, [], True
    present = present_columns(table)
    settings, report, trained = _train(db_api, sdf, table, present, dialect)
    use_tf = table.num_rows >= MIN_RECORDS_FOR_U
    if rules is None:
        rules = blocking.choose(table, present)
    return (
        {
            "present": sorted(present),
            "month_first": month_first_of(table),
            "term_frequencies": use_tf,
            "settings": settings,
            "blocking": [r.stored for r in rules if r.kept],
            "blocking_report": [
                {
                    "columns": list(r.columns),
                    "lacking": r.lacking,
                    "cap": r.cap,
                    "near": r.near,
                    "name": r.name,
                    "pairs": r.pairs,
                    "used": r.kept,
                    "why": r.reason,
                }
                for r in rules
            ],
        },
        report,
        trained,
    )


def _linker(sdf: Any, settings: dict[str, Any]) -> Any:
    """A Splink linker over ``sdf`` as every run makes it: Splink's messages below ERROR
    dropped, and so its settings validation skipped (it only logs warnings)."""
    from splink import Linker

    return Linker(sdf, settings, log_level=logging.ERROR, validate_settings=False)


def _train(
    db_api: Any, sdf: Any, table: pa.Table, present: set[str], dialect: str
) -> tuple[dict[str, Any], list[TrainingRule], bool]:
    specs = comparisons.specs_for(present)
    n = table.num_rows
    filled = {c: 1 - table.column(c).null_count / max(n, 1) for c in table.column_names}
    settings = _settings(
        specs, present, n, dialect, term_frequencies=n >= MIN_RECORDS_FOR_U, filled=filled
    )
    if n < MIN_RECORDS_FOR_U:
        _prior_u(settings)
        return settings, [], False
    linker = _linker(sdf, settings)
    # In one pass: the sampled pairs in chunks, stopping once every level is seen 100
    # times, read most of them anyway for the rarest levels (names swapped), with a
    # statement per chunk and comparison.
    linker.training.estimate_u_using_random_sampling(
        max_pairs=min(U_MAX_PAIRS, n * (n - 1) / 2), seed=7, num_chunks=1
    )
    rules = comparisons.deterministic_rules(present)
    if rules:
        try:
            linker.training.estimate_probability_two_random_records_match(rules, recall=0.7)
        except Exception as exc:  # no deterministic matches at all: keep the default
            log.info("prior left at its default: %s", exc)
    base = linker.misc.save_model_to_json()
    prior = base.get("probability_two_random_records_match") or 0.0
    if not 0 < prior < 1:  # no sure matches to count: expect a few per record
        base["probability_two_random_records_match"] = settings[
            "probability_two_random_records_match"
        ]
    if n < MIN_RECORDS_FOR_EM:
        return base, [], False
    trained: dict[str, list[list[float | None]]] = {}
    report: list[TrainingRule] = []
    for rule in comparisons.training_rules(present):
        sql = rule.get_blocking_rule(dialect).blocking_rule_sql
        session_linker = _linker(sdf, copy.deepcopy(base))
        try:
            session = session_linker.training.estimate_parameters_using_expectation_maximisation(
                rule, max_pairs=EM_MAX_PAIRS, estimate_without_term_frequencies=True
            )
        except Exception as exc:  # an empty block, or EM that cannot run on it
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            report.append(TrainingRule(sql, None, False, f"could not train: {first[:200]}"))
            continue
        share = float(session.core_model_settings.probability_two_random_records_match)
        after = session_linker.misc.save_model_to_json()
        names = _trained_names(base, after)
        if not GUARD_LOW <= share <= GUARD_HIGH:
            report.append(TrainingRule(sql, share, False, f"matches are {share:.1%} of its pairs"))
            continue
        wrong = _signs_hold(after, names)
        if wrong:
            report.append(TrainingRule(sql, share, False, wrong))
            continue
        report.append(TrainingRule(sql, share, True, "ok"))
        for comp in after["comparisons"]:
            if comp["output_column_name"] in names:
                trained.setdefault(comp["output_column_name"], []).append(
                    [lv.get("m_probability") for lv in comp["comparison_levels"]]
                )
        if sum(t.accepted for t in report) >= MAX_TRAINING_RULES:
            break
    final = copy.deepcopy(base)
    for comp in final["comparisons"]:
        runs = trained.get(comp["output_column_name"])
        if not runs:
            continue
        for i, lv in enumerate(comp["comparison_levels"]):
            values = [float(r[i] or 0.0) for r in runs if r[i] is not None]
            if values and not lv.get("is_null_level") and not lv.get("fix_m_probability"):
                # A level EM never saw keeps a small, not a vanishing, m.
                lv["m_probability"] = max(sum(values) / len(values), M_FLOOR)
    return final, report, bool(trained)


def predict(
    linker: Any,
    model: dict[str, Any],
    floor_weight: float,
    keep: list[pa.Table] | None = None,
    home: household.HomeCounts | None = None,
    present: set[str] | None = None,
) -> list[Scored]:
    """Pairs at or above ``floor_weight``, and household pairs (different first names
    that share an address, phone or email) whatever their weight. ``keep``, when given,
    receives every candidate pair's ids and blocking rule; ``home`` the person-level
    gammas of the candidate pairs that share a home, counted."""
    names = [c["output_column_name"] for c in model["comparisons"]]
    frame = linker.inference.predict(threshold_match_weight=None, warning_mode="never")
    if keep is not None:
        every = frame.query_sql("SELECT unique_id_l, unique_id_r, match_key FROM {this}")
        keep.append(every.as_pyarrow_table())
        every.drop_table_from_database_and_remove_from_cache()
    top = {name: len(levels) - 1 for name, levels in levels_of(model).items()}
    household = comparisons.household_sql(top)
    family = comparisons.family_sql(top, present) if present is not None else household
    if home is not None and family:
        person = [n for n in comparisons.PERSON_LEVEL if n in top]
        if person:
            cols = ", ".join(f"gamma_{n}" for n in person)
            sql = f"SELECT {cols}, count(*) AS n FROM {{this}} WHERE {family} GROUP BY {cols}"  # noqa: S608
            grouped = frame.query_sql(sql)
            table = grouped.as_pyarrow_table()
            grouped.drop_table_from_database_and_remove_from_cache()
            columns = [table.column(f"gamma_{n}").to_pylist() for n in person]
            home.names = person
            home.counts = list(
                (tuple(int(c[i]) for c in columns), int(n))
                for i, n in enumerate(table.column("n").to_pylist())
            )
    condition = f"match_weight >= {floor_weight}"
    if "first_name" in top and household:
        condition += f" OR (gamma_first_name = 0 AND ({household}))"
    available = {c.unquote().name for c in frame.columns}
    weight_sql = [
        f"mw_{n} + mw_tf_adj_{n} AS mw_{n}" if f"mw_tf_adj_{n}" in available else f"mw_{n}"
        for n in names
    ]
    cols = ", ".join(
        ["unique_id_l", "unique_id_r", "match_weight", "match_probability"]
        + [f"gamma_{n}" for n in names]
        + weight_sql
    )
    # Column names and numbers of our own making, no input.
    selected = frame.query_sql(f"SELECT {cols} FROM {{this}} WHERE {condition}")  # noqa: S608
    arrow = selected.as_pyarrow_table()
    selected.drop_table_from_database_and_remove_from_cache()
    frame.drop_table_from_database_and_remove_from_cache()
    index = {n: i for i, n in enumerate(names)}
    lefts = arrow.column("unique_id_l").to_pylist()
    rights = arrow.column("unique_id_r").to_pylist()
    mws = arrow.column("match_weight").to_pylist()
    probs = arrow.column("match_probability").to_pylist()
    gammas = list(zip(*(arrow.column(f"gamma_{n}").to_pylist() for n in names), strict=True))
    weights = list(
        zip(
            *([round(w or 0.0, 2) for w in arrow.column(f"mw_{n}").to_pylist()] for n in names),
            strict=True,
        )
    )
    del arrow
    return [
        Scored(
            lefts[i],
            rights[i],
            float(mws[i]),
            float(probs[i]),
            Fields(index, gammas[i]),
            Fields(index, weights[i]),
        )
        for i in range(len(lefts))
    ]


def _fit_home(
    settings: dict[str, Any], names: list[str], counts: list[tuple[tuple[int, ...], int]]
) -> household.HomeModel:
    return household.fit(names, counts, by_gamma(settings, "m"), by_gamma(settings, "u"))


def nothing_to_compare(table: pa.Table, model: dict[str, Any] | None) -> str | None:
    """Why a table cannot be matched (Splink would be handed a model with no comparison
    or no blocking rule, and fail on the SQL it writes), or None when it can."""
    if table.num_rows < 2:
        return "fewer than two named people"
    present = set(model["present"]) if model is not None else present_columns(table)
    chosen = model.get("blocking") if model is not None else None
    if not comparisons.specs_for(present) or not comparisons.prediction_rules(present, chosen):
        return "no field to compare is filled in for two people or more"
    return None


def run(
    table: pa.Table,
    *,
    engine: Engine = "duckdb",
    spark: Any = None,
    model: dict[str, Any] | None = None,
    floor_weight: float = 0.0,
    on_phase: Callable[[str], None] | None = None,
    tf: dict[str, dict[str, float]] | None = None,
    candidates: bool = False,
) -> Result:
    """Train (unless ``model`` is given) and predict over ``table``. A table with nothing
    to compare gives no pairs and no model (``Result.skipped`` says why)."""
    skipped = nothing_to_compare(table, model)
    if skipped is not None:
        return Result(
            pairs=[],
            model=model or {},
            levels=levels_of(model["settings"]) if model else {},
            training=[],
            trained=False,
            records=table.num_rows,
            tf=tf or {},
            skipped=skipped,
        )
    backends.silence_splink()
    # Rules kept to their small blocks read each record's block size from a column.
    choosing = time.perf_counter()
    rules = blocking.choose(table, present_columns(table)) if model is None else None
    used = (
        [r for r in rules if r.kept]
        if rules is not None
        else [blocking.Rule.from_stored(c) for c in (model or {}).get("blocking", [])]
    )
    sized = [r.sized for r in used if r.sized is not None]
    table = blocking.with_near_pairs(blocking.with_block_sizes(table, sized), used)
    chosen_in = time.perf_counter() - choosing  # counted with training
    phases: dict[str, float] = {}
    # Names of this run's own: runs sharing a Spark session never meet.
    suffix = uuid.uuid4().hex[:12]
    registered: list[Any] = []
    with backend(engine, spark) as db_api:
        try:
            t = time.perf_counter()
            if on_phase:
                on_phase("loading records")
            sdf = backends.register(db_api, table, engine, f"accord_records_{suffix}")
            registered.append(sdf)
            phases["load"] = time.perf_counter() - t
            t = time.perf_counter()
            if on_phase:
                on_phase("training the model")
            stored, report, trained = train(
                db_api, sdf, table, model=model, dialect=engine, rules=rules
            )
            phases["train"] = time.perf_counter() - t + chosen_in
            t = time.perf_counter()
            if on_phase:
                on_phase("scoring candidate pairs")
            settings = in_dialect(stored, engine)
            linker = _linker(sdf, copy.deepcopy(settings))
            if tf:
                backends.register_tf(db_api, linker, tf, table, engine, suffix, registered)
            kept: list[pa.Table] | None = [] if candidates else None
            home = household.HomeCounts() if model is None else None
            pairs = predict(
                linker, settings, floor_weight, kept, home, set(stored.get("present", []))
            )
            if home is not None and home.names:
                stored["home"] = _fit_home(settings, home.names, home.counts).as_dict()
            phases["predict"] = time.perf_counter() - t
        finally:
            backends.drop(db_api, registered, engine)
    return Result(
        pairs=pairs,
        model=stored,
        levels=levels_of(settings),
        training=report,
        trained=trained,
        phases=phases,
        records=table.num_rows,
        tf=tf if tf else term_frequencies(table),
        candidates=kept[0] if kept else None,
    )
