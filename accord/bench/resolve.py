"""Matching benchmark: records with known truth, generated (``match.synth``) or labelled
(the FEBRL sets, or a user's own CSV file with a column naming each true person), run
through the same engine and decisions as ``accord resolve`` and scored against the
truth. It prints blocking recall (the true pairs that reach scoring, of all true pairs),
pairwise and cluster precision, recall and F1, the precision of each band of match
probability, the blocking rules with the pairs each makes, what the records alone cannot
tell apart (identical records of two people, and the precision that leaves at most),
seconds per phase and the peak memory of the process (DuckDB runs inside it), and beside
them Splink run out of the box on the same records (``splink_plain``)."""

from __future__ import annotations

import itertools
import random
import resource
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from accord.bench import labelled, splink_plain
from accord.match import engine, evaluate, features, synth
from accord.match.decide import Thresholds, decide, person_conflict
from accord.match.scored import blocking_summary

BANDS = (0.5, 0.8, 0.9, 0.95, 0.99, 0.999, 1.01)


@dataclass
class Baseline:
    scores: evaluate.Scores
    blocking_recall: float
    seconds: float


@dataclass
class SetResult:
    kind: str
    records: int
    people: int
    households: int | None
    scores: evaluate.Scores
    blocking_recall: float
    candidates: int
    blocking: list[dict[str, Any]]
    phases: dict[str, float]
    merged: int
    reviews: int
    household_links: int
    review_precision: float
    home_share: float | None = None
    band_precision: list[tuple[float, float, int, float]] = field(default_factory=list)
    incremental: list[float] = field(default_factory=list)
    training: list[engine.TrainingRule] = field(default_factory=list)
    baseline: Baseline | None = None
    mapping: dict[str, str] = field(default_factory=dict)
    indistinct: evaluate.Indistinct | None = None

    @property
    def resolve_seconds(self) -> float:
        return sum(v for k, v in self.phases.items() if k != "generate")


@dataclass
class ResolveResult:
    engine: str
    thresholds: Thresholds
    results: list[SetResult]
    peak_mb: float

    def lines(self) -> list[str]:
        out = [
            f"engine             {self.engine}  (auto-merge at p >= {self.thresholds.auto_merge}, "
            f"review at p >= {self.thresholds.review})"
        ]
        for r in self.results:
            out += _lines(r)
        out.append(f"peak memory        {self.peak_mb:,.0f} MB (process, DuckDB included)")
        return out


def _lines(r: SetResult) -> list[str]:
    s = r.scores
    homes = f" ({r.households:,} households)" if r.households is not None else ""
    out = [
        f"records            {r.kind}: {r.records:,} records of {r.people:,} people{homes}; "
        f"{s.true_pairs:,} true pairs",
    ]
    if r.mapping:
        out.append(
            "  fields           " + ", ".join(f"{k} <- {v}" for k, v in sorted(r.mapping.items()))
        )
    out += [
        f"  blocking recall  {r.blocking_recall:.4f} ({r.candidates:,} candidate pairs)",
        f"  pairwise         precision {s.precision:.4f}, recall {s.recall:.4f}, F1 {s.f1:.4f}",
        f"  cluster          precision {s.cluster_precision:.4f}, recall {s.cluster_recall:.4f}, "
        f"F1 {s.cluster_f1:.4f}",
    ]
    if r.baseline is not None:
        b = r.baseline.scores
        out.append(
            f"  splink plain     pairwise precision {b.precision:.4f}, recall {b.recall:.4f}, "
            f"F1 {b.f1:.4f}; cluster F1 {b.cluster_f1:.4f}; blocking recall "
            f"{r.baseline.blocking_recall:.4f}; {r.baseline.seconds:.1f} s"
        )
    share = "" if r.home_share is None else f"; homes: {r.home_share:.0%} of home pairs one person"
    out += [
        f"  decisions        {r.merged:,} merges, {r.reviews:,} for review "
        f"({r.review_precision:.0%} of them true), {r.household_links:,} household links{share}",
        "  seconds          "
        + ", ".join(f"{k} {v:.1f}" for k, v in r.phases.items())
        + f"; resolving (all but generate) {r.resolve_seconds:.1f}",
        "  precision by p   "
        + ", ".join(
            f"[{lo:g},{min(hi, 1):g}) {p:.3f} of {n:,}" for lo, hi, n, p in r.band_precision
        ),
    ]
    out.append("  blocking rules   " + blocking_summary(r.blocking))
    if r.indistinct is not None and r.indistinct.false_identical:
        d = r.indistinct
        out.append(
            f"  indistinct       {_count(d.false_identical, 'pair')} of identical records "
            f"are two people ({_count(d.people_pairs, 'pair')} of people; "
            f"{d.true_shared:,} of one person among the same records): merging them makes "
            f"{d.wrong_pairs:,} wrong pairs once each person is whole, precision at most "
            f"{d.precision_ceiling:.4f}"
        )
    if r.incremental:
        ms = sorted(r.incremental)
        out.append(
            f"  one new record   p50 {ms[len(ms) // 2] * 1000:.0f} ms, max "
            f"{ms[-1] * 1000:.0f} ms (scored against the people sharing its name, "
            f"email or phone with the trained model; {len(ms)} records)"
        )
    for t in r.training:
        share_of = f"{t.pairs_lambda:.1%}" if t.pairs_lambda is not None else "-"
        used_or_not = "used" if t.accepted else "not used"
        out.append(f"  training         {t.rule}: matches {share_of} of pairs, {used_or_not}")
    return out


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _blocking_recall(candidates: pa.Table | None, truth: dict[str, Any], true_pairs: int) -> float:
    if not true_pairs:
        return 1.0
    if candidates is None:
        return 0.0
    left = candidates.column("unique_id_l").to_pylist()
    right = candidates.column("unique_id_r").to_pylist()
    found = {
        (a, b) if a < b else (b, a)
        for a, b in zip(left, right, strict=True)
        if truth.get(a) == truth.get(b)
    }
    return len(found) / true_pairs


def evaluate_records(
    kind: str,
    rows: Sequence[dict[str, Any]],
    truth: Sequence[Any],
    thresholds: Thresholds,
    *,
    engine_name: engine.Engine = "duckdb",
    baseline: bool = True,
    phases: dict[str, float] | None = None,
    samples: list[list[dict[str, Any]]] | None = None,
    people: int | None = None,
    households: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SetResult:
    """Resolve ``rows`` (raw matching rows) and score the result against ``truth``."""
    phases = dict(phases or {})
    t = time.perf_counter()
    table = features.prepare(rows)
    ids = [str(r["unique_id"]) for r in rows]
    phases["prepare"] = time.perf_counter() - t
    result = engine.run(
        table, engine=engine_name, floor_weight=engine.weight_of(min(BANDS)), candidates=True
    )
    phases.update(result.phases)
    if progress:
        progress(1)
    t = time.perf_counter()
    top = {name: len(levels) - 1 for name, levels in result.levels.items()}
    home = engine.home_model_of(result.model)
    decisions = decide(result.pairs, thresholds, top, home=home)
    phases["decide"] = time.perf_counter() - t
    by_id = dict(zip(ids, truth, strict=True))
    scores = evaluate.score([decisions.clusters.get(i, i) for i in ids], list(truth))
    # Precision by match probability over the pairs the thresholds decide on (not those
    # that person-level disagreement already rules out): what the defaults come from.
    eligible = [p for p in result.pairs if person_conflict(p) is None]
    same = [by_id[p.left] == by_id[p.right] for p in eligible]
    bands = []
    for lo, hi in itertools.pairwise(BANDS):
        inside = [s for p, s in zip(eligible, same, strict=True) if lo <= p.probability < hi]
        if inside:
            bands.append((lo, hi, len(inside), sum(inside) / len(inside)))
    reviews = decisions.reviews
    review_true = sum(by_id[p.left] == by_id[p.right] for p in reviews)
    timings = []
    for group in samples or []:
        t = time.perf_counter()
        engine.run(features.prepare(group), model=result.model, tf=result.tf, floor_weight=0.0)
        timings.append(time.perf_counter() - t)
    plain = None
    if baseline:
        t = time.perf_counter()
        ran = splink_plain.run(table)
        seconds = time.perf_counter() - t
        plain = Baseline(
            evaluate.score([ran.clusters.get(i, i) for i in ids], list(truth)),
            _blocking_recall(ran.candidates, by_id, scores.true_pairs),
            seconds,
        )
    if progress:
        progress(1)
    return SetResult(
        kind=kind,
        records=len(ids),
        people=people if people is not None else len(set(truth)),
        households=households,
        scores=scores,
        blocking_recall=_blocking_recall(result.candidates, by_id, scores.true_pairs),
        candidates=result.candidates.num_rows if result.candidates is not None else 0,
        blocking=list(result.model.get("blocking_report", [])),
        phases=phases,
        merged=len(decisions.merges),
        reviews=len(reviews),
        household_links=len(decisions.households),
        review_precision=review_true / len(reviews) if reviews else 1.0,
        home_share=home.prior if home is not None and "home" in result.model else None,
        band_precision=bands,
        incremental=timings,
        training=result.training,
        baseline=plain,
        indistinct=evaluate.indistinct(
            rows, truth, sorted({k for row in rows for k in row} - {"unique_id"})
        ),
    )


def run_population(
    records: int,
    kind: str,
    thresholds: Thresholds,
    *,
    engine_name: engine.Engine = "duckdb",
    seed: int = 1,
    baseline: bool = True,
    progress: Callable[[int], None] | None = None,
) -> SetResult:
    t = time.perf_counter()
    population = synth.generate(records, kind, seed)
    generated = time.perf_counter() - t
    ids = population.columns["record_id"]
    cols = {k: v for k, v in population.columns.items() if k in features.RAW_FIELDS}
    rows = [{"unique_id": ids[i], **{k: v[i] for k, v in cols.items()}} for i in range(len(ids))]
    samples = _incremental_samples(population, cols)
    del cols
    if progress:
        progress(1)
    return evaluate_records(
        kind,
        rows,
        population.person,
        thresholds,
        engine_name=engine_name,
        baseline=baseline,
        phases={"generate": generated},
        samples=samples,
        people=population.people,
        households=population.households,
        progress=progress,
    )


def run_labelled(
    source: str,
    thresholds: Thresholds,
    *,
    truth: str | None = None,
    mapping: dict[str, str] | None = None,
    engine_name: engine.Engine = "duckdb",
    baseline: bool = True,
    progress: Callable[[int], None] | None = None,
) -> SetResult:
    t = time.perf_counter()
    data = labelled.load(source, truth, mapping)
    read = time.perf_counter() - t
    if progress:
        progress(1)
    out = evaluate_records(
        data.name,
        data.rows,
        data.truth,
        thresholds,
        engine_name=engine_name,
        baseline=baseline,
        phases={"read": read},
        progress=progress,
    )
    out.mapping = data.mapping
    return out


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
    files: Sequence[str] = (),
    truth: str | None = None,
    mapping: dict[str, str] | None = None,
    engine_name: engine.Engine = "duckdb",
    seed: int = 1,
    baseline: bool = True,
    progress: Callable[[int], None] | None = None,
) -> ResolveResult:
    results = [
        run_population(
            records,
            kind,
            thresholds,
            engine_name=engine_name,
            seed=seed,
            baseline=baseline,
            progress=progress,
        )
        for kind in populations
    ]
    results += [
        run_labelled(
            source,
            thresholds,
            truth=truth,
            mapping=mapping,
            engine_name=engine_name,
            baseline=baseline,
            progress=progress,
        )
        for source in files
    ]
    return ResolveResult(engine_name, thresholds, results, _peak_mb())
