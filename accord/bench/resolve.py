"""Matching benchmark: a synthetic population with known truth (``match.synth``) run
through the same engine and decisions as ``accord resolve``, scored against the truth:
pairwise precision, recall and F1, cluster-level F1, seconds per phase and the peak
memory of the process (DuckDB runs inside it)."""

from __future__ import annotations

import itertools
import random
import resource
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from accord.match import engine, evaluate, features, synth
from accord.match.decide import Thresholds, decide, person_conflict

BANDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.01)


@dataclass
class PopulationResult:
    kind: str
    records: int
    people: int
    households: int
    scores: evaluate.Scores
    phases: dict[str, float]
    merged: int
    reviews: int
    household_links: int
    review_precision: float
    band_precision: list[tuple[float, float, int, float]] = field(default_factory=list)
    incremental: list[float] = field(default_factory=list)

    @property
    def resolve_seconds(self) -> float:
        return sum(v for k, v in self.phases.items() if k != "generate")

    training: list[engine.TrainingRule] = field(default_factory=list)


@dataclass
class ResolveResult:
    engine: str
    thresholds: Thresholds
    results: list[PopulationResult]
    peak_mb: float

    def lines(self) -> list[str]:
        out = [
            f"engine             {self.engine}  (auto-merge at p >= {self.thresholds.auto_merge}, "
            f"review at p >= {self.thresholds.review})"
        ]
        for r in self.results:
            s = r.scores
            out += [
                f"population         {r.kind}: {r.records:,} records of {r.people:,} people "
                f"({r.households:,} households)",
                f"  pairwise         precision {s.precision:.4f}, recall {s.recall:.4f}, "
                f"F1 {s.f1:.4f}",
                f"  cluster F1       {s.cluster_f1:.4f} (precision {s.cluster_precision:.4f}, "
                f"recall {s.cluster_recall:.4f})",
                f"  decisions        {r.merged:,} merges, {r.reviews:,} for review "
                f"({r.review_precision:.0%} of them true), {r.household_links:,} household links",
                "  seconds          "
                + ", ".join(f"{k} {v:.1f}" for k, v in r.phases.items())
                + f"; resolving (all but generate) {r.resolve_seconds:.1f}",
                "  precision by p   "
                + ", ".join(
                    f"[{lo:g},{min(hi, 1):g}) {p:.3f} of {n:,}" for lo, hi, n, p in r.band_precision
                ),
            ]
            if r.incremental:
                ms = sorted(r.incremental)
                out.append(
                    f"  one new record   p50 {ms[len(ms) // 2] * 1000:.0f} ms, max "
                    f"{ms[-1] * 1000:.0f} ms (scored against the people sharing its name, "
                    f"email or phone with the trained model; {len(ms)} records)"
                )
            for t in r.training:
                share = f"{t.pairs_lambda:.1%}" if t.pairs_lambda is not None else "-"
                used = "used" if t.accepted else "not used"
                out.append(f"  training         {t.rule}: matches {share} of pairs, {used}")
        out.append(f"peak memory        {self.peak_mb:,.0f} MB (process, DuckDB included)")
        return out


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_population(
    records: int,
    kind: str,
    thresholds: Thresholds,
    *,
    engine_name: engine.Engine = "duckdb",
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> PopulationResult:
    phases: dict[str, float] = {}
    t = time.perf_counter()
    population = synth.generate(records, kind, seed)
    phases["generate"] = time.perf_counter() - t
    t = time.perf_counter()
    ids = population.columns["record_id"]
    cols = {k: v for k, v in population.columns.items() if k in features.RAW_FIELDS}
    rows = ({"unique_id": ids[i], **{k: v[i] for k, v in cols.items()}} for i in range(len(ids)))
    table = features.prepare(rows)
    samples = _incremental_samples(population, cols)
    population.columns = {"record_id": ids}  # the raw fields are not needed any more
    del cols, rows
    phases["prepare"] = time.perf_counter() - t
    if progress:
        progress(1)
    result = engine.run(table, engine=engine_name, floor_weight=engine.weight_of(min(BANDS)))
    phases.update(result.phases)
    if progress:
        progress(1)
    t = time.perf_counter()
    top = {name: len(levels) - 1 for name, levels in result.levels.items()}
    decisions = decide(result.pairs, thresholds, top, home=engine.home_model_of(result.model))
    phases["decide"] = time.perf_counter() - t
    index = {rid: i for i, rid in enumerate(ids)}
    truth = population.person
    predicted = [decisions.clusters.get(rid, rid) for rid in ids]
    scores = evaluate.score(predicted, truth)
    # Precision by match probability over the pairs the thresholds decide on (not those
    # that person-level disagreement already rules out): what the defaults come from.
    eligible = [p for p in result.pairs if person_conflict(p) is None]
    same = [truth[index[p.left]] == truth[index[p.right]] for p in eligible]
    bands = []
    for lo, hi in itertools.pairwise(BANDS):
        inside = [s for p, s in zip(eligible, same, strict=True) if lo <= p.probability < hi]
        if inside:
            bands.append((lo, hi, len(inside), sum(inside) / len(inside)))
    reviews = decisions.reviews
    review_true = sum(truth[index[p.left]] == truth[index[p.right]] for p in reviews)
    timings = []
    for group in samples:
        t = time.perf_counter()
        engine.run(features.prepare(group), model=result.model, tf=result.tf, floor_weight=0.0)
        timings.append(time.perf_counter() - t)
    if progress:
        progress(1)
    return PopulationResult(
        kind=kind,
        records=len(population),
        people=population.people,
        households=population.households,
        scores=scores,
        phases=phases,
        merged=len(decisions.merges),
        reviews=len(reviews),
        household_links=len(decisions.households),
        review_precision=review_true / len(reviews) if reviews else 1.0,
        band_precision=bands,
        training=result.training,
        incremental=timings,
    )


def _incremental_samples(
    population: synth.Population, cols: dict[str, list[Any]], count: int = 20
) -> list[list[dict[str, Any]]]:
    """For a few records, the record and the others sharing its full name (either
    order), email or phone: what incremental matching reads through indexed columns."""
    ids = population.columns["record_id"]
    keys: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i in range(len(ids)):
        first, last = cols["first_name"][i], cols["last_name"][i]
        if first and last:
            keys[("name", f"{first} {last}".lower())].append(i)
        for f in ("email", "phone"):
            if cols[f][i]:
                keys[(f, cols[f][i])].append(i)
    rng = random.Random(3)
    out = []
    for i in rng.sample(range(len(ids)), min(count, len(ids))):
        first, last = cols["first_name"][i], cols["last_name"][i]
        found = set(keys.get(("name", f"{first} {last}".lower()), []))
        found |= set(keys.get(("name", f"{last} {first}".lower()), []))
        for f in ("email", "phone"):
            if cols[f][i]:
                found |= set(keys.get((f, cols[f][i]), []))
        found.add(i)
        out.append(
            [
                {"unique_id": ids[j], **{f: cols[f][j] for f in features.RAW_FIELDS if f in cols}}
                for j in found
            ]
        )
    return out


def run(
    records: int,
    populations: list[str],
    thresholds: Thresholds,
    *,
    engine_name: engine.Engine = "duckdb",
    seed: int = 1,
    progress: Callable[[int], None] | None = None,
) -> ResolveResult:
    results = [
        run_population(
            records, kind, thresholds, engine_name=engine_name, seed=seed, progress=progress
        )
        for kind in populations
    ]
    return ResolveResult(engine_name, thresholds, results, _peak_mb())
