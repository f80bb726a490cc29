"""Splink run out of the box, for comparison: the comparison library's stock comparison
for each field the records have, a blocking rule on each identifying field, the prior
from sure matches, u by random sampling and m by EM as Splink's tutorials do it, and
clusters at the tutorials' threshold (match probability 0.95). It reads the same cleaned
columns as Accord, so only the model and the decisions differ."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from accord.match import blocking, features

THRESHOLD = 0.95
U_PAIRS = 1_000_000


@dataclass
class Plain:
    clusters: dict[str, str]  # record -> cluster id
    candidates: pa.Table | None
    phases: dict[str, float] = field(default_factory=dict)
    skipped: str | None = None


def _comparisons(present: set[str]) -> list[Any]:
    import splink.comparison_library as cl

    out: list[Any] = []
    if "first_name" in present:
        out.append(cl.NameComparison("first_name").configure(term_frequency_adjustments=True))
    if "last_name" in present:
        out.append(cl.NameComparison("last_name").configure(term_frequency_adjustments=True))
    if "dob" in present:
        out.append(cl.DateOfBirthComparison("dob", input_is_string=True))
    if "street" in present:
        out.append(cl.LevenshteinAtThresholds("street", [1, 3]))
    for name in ("city", "postcode"):
        if name in present:
            out.append(cl.ExactMatch(name).configure(term_frequency_adjustments=True))
    if "email" in present:
        out.append(cl.EmailComparison("email"))
    for name in ("phone", "id_number"):
        if name in present:
            out.append(cl.LevenshteinAtThresholds(name, [1, 2]))
    return out


def _blocking(table: pa.Table, present: set[str]) -> list[Any]:
    from splink import block_on

    wanted = [
        ("first_name", "last_name"),
        ("dob",),
        ("postcode",),
        ("email",),
        ("phone",),
        ("id_number",),
    ]
    limit = blocking.budget(table.num_rows) * 4
    rules = [
        block_on(*cols)
        for cols in wanted
        if all(c in present for c in cols) and blocking.block_pairs(table, cols) <= limit
    ]
    return rules


def run(table: pa.Table) -> Plain:
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)
    present = features.present(table) & set(features.RAW_FIELDS)
    keep = ["unique_id", *sorted(present)]
    data = table.select(keep)
    rules = _blocking(data, present)
    comparisons = _comparisons(present)
    if not rules or not comparisons:
        return Plain({}, None, skipped="no field to block or compare on")
    phases: dict[str, float] = {}
    t = time.perf_counter()
    db_api = DuckDBAPI()
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=comparisons,
        blocking_rules_to_generate_predictions=rules,
        retain_intermediate_calculation_columns=False,
    )
    sdf = db_api.register(data, table_name="plain_records")
    linker = Linker(sdf, settings, log_level=logging.ERROR)
    sure: list[Any] = [
        block_on(*cols)
        for cols in (("first_name", "last_name", "dob"), ("first_name", "last_name", "postcode"))
        if all(c in present for c in cols)
    ]
    if sure:
        try:
            linker.training.estimate_probability_two_random_records_match(sure, recall=0.7)
        except Exception as exc:
            logging.getLogger(__name__).info("prior left at its default: %s", exc)
    linker.training.estimate_u_using_random_sampling(max_pairs=U_PAIRS, seed=7)
    for cols in (("first_name", "last_name"), ("dob",), ("postcode",)):
        if all(c in present for c in cols):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(block_on(*cols))
            except Exception as exc:
                logging.getLogger(__name__).info("EM on %s failed: %s", cols, exc)
    phases["train"] = time.perf_counter() - t
    t = time.perf_counter()
    predictions: Any = linker.inference.predict(threshold_match_probability=None)
    every = predictions.query_sql("SELECT unique_id_l, unique_id_r FROM {this}")
    candidates = every.as_pyarrow_table()
    clusters: Any = linker.clustering.cluster_pairwise_predictions_at_threshold(
        predictions, threshold_match_probability=THRESHOLD
    )
    frame = clusters.as_pyarrow_table()
    phases["predict and cluster"] = time.perf_counter() - t
    ids = frame.column("unique_id").to_pylist()
    labels = frame.column("cluster_id").to_pylist()
    return Plain({str(i): str(c) for i, c in zip(ids, labels, strict=True)}, candidates, phases)
