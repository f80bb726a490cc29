"""Probabilistic resolution through the database, as a user runs it: a generated
population (names, dates of birth and addresses) or a labelled file (those, emails,
phones and id numbers) imported as contacts, the fields as traits and each record's id
as an identifier, resolved onto profiles, then one matching run that reads, trains,
scores and writes its merges (from the command line, in a process of its own, as
`accord resolve` runs after `accord import`; its seconds count from the run's start).
Prints the seconds of each step, the end-to-end total, peak memory (the import's and
the run's), and pairwise precision, recall and F1 of the people in the database against
the truth."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.bench import labelled
from accord.bench.common import PeakMemory
from accord.collect import imports
from accord.config import Settings
from accord.govern.access.principal import Principal
from accord.govern.workspaces import service as workspaces
from accord.kit.db import transaction
from accord.match import evaluate, synth
from accord.match.engine import Engine
from accord.match.tasks import run_workspace
from accord.resolve import service as resolve
from accord.resolve import settings as identity
from accord.resolve.models import Identifier
from accord.resolve.worker import resolve_workspace

# Resolution beside the import, as `accord import` runs it: a context of the workspace
# and the rows to import, whose value the import tells when it accepted its last row
# (``finish()``).
Beside = Callable[[uuid.UUID, int], AbstractContextManager[Any]]

ID_TYPE = "record_id"
MAPPING = [
    f"record_id=identifier:{ID_TYPE}",
    "first_name=trait:firstName",
    "middle_name=trait:middleName",
    "gender=trait:gender",
    "last_name=trait:lastName",
    "birthday=trait:birthday",
    "street=trait:address.street",
    "city=trait:address.city",
    "postcode=trait:address.postalCode",
    "email=trait:email",
    "phone=trait:phone",
    "id_number=trait:idNumber",
]
# The record's fields, each a trait of the contact (``dob`` as ``birthday``): a labelled
# file's all, a generated population's names, dates of birth and addresses.
FIELDS = (*synth.FIELDS, "id_number", "middle_name", "gender")
GENERATED = ("first_name", "last_name", "dob", "street", "city", "postcode")


@dataclass
class ResolveDbResult:
    workspace: str
    population: str
    records: int
    engine: str
    database: str
    seconds: dict[str, float] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    peak_mb: float = 0.0
    # The matching run's own peak, when it ran in a process of its own (as `accord
    # resolve` does); ``peak_mb`` is then the import's.
    run_peak_mb: float | None = None
    merged: int = 0
    proposed: int = 0
    households: int = 0
    scores: evaluate.Scores | None = None

    def lines(self) -> list[str]:
        s = self.seconds
        out = [
            f"{self.records:,} records ({self.population}) on {self.database}, "
            f"engine {self.engine}; workspace {self.workspace}",
            f"  import (accepted and resolved onto profiles)  {s.get('import', 0):.1f} s",
            f"  matching run                                  {s.get('resolve', 0):.1f} s  ("
            + ", ".join(f"{k} {v:.1f}" for k, v in self.phases.items())
            + ")",
            f"  end to end                                    "
            f"{s.get('import', 0) + s.get('resolve', 0):.1f} s",
            *(
                [f"  peak memory (this process)                    {self.peak_mb:,.0f} MB"]
                if self.run_peak_mb is None
                else [
                    f"  peak memory of the import                     {self.peak_mb:,.0f} MB",
                    f"  peak memory of the matching run (its process) {self.run_peak_mb:,.0f} MB",
                ]
            ),
            f"  merged {self.merged:,}, proposed for review {self.proposed:,}, "
            f"household links {self.households:,}",
        ]
        if self.scores is not None:
            sc = self.scores
            out.append(
                f"  pairwise precision {sc.precision:.4f}, recall {sc.recall:.4f}, "
                f"F1 {sc.f1:.4f} ({sc.correct_pairs:,} of {sc.true_pairs:,} true pairs, "
                f"{sc.predicted_pairs:,} predicted); cluster F1 {sc.cluster_f1:.4f}"
            )
        return out


def _rows(
    population: synth.Population, fields: tuple[str, ...]
) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """The records as the lines of a contacts file (its header is line 1)."""
    for line, row in enumerate(population.rows(), start=2):
        out = {name: row.get(name) for name in fields}
        if "dob" in out:
            out["birthday"] = out.pop("dob")
        yield line, {"record_id": str(row["record_id"]), **out}


def _population(columns: dict[str, list[Any]], truth: list[str], kind: str) -> synth.Population:
    """Records as columns, ``truth`` naming each one's person."""
    ids: dict[str, int] = {}
    return synth.Population(
        columns=columns,
        person=[ids.setdefault(t, len(ids)) for t in truth],
        household=[None] * len(truth),
        kind=kind,
        people=len(set(truth)),
    )


def from_labelled(data: labelled.Labelled) -> synth.Population:
    """A labelled file's records as a population (its truth the people)."""
    columns: dict[str, list[Any]] = {"record_id": [str(r["unique_id"]) for r in data.rows]}
    for name in FIELDS:
        columns[name] = [r.get(name) for r in data.rows]
    return _population(columns, data.truth, data.name)


def from_file(path: str, truth: str) -> tuple[synth.Population, tuple[str, ...]]:
    """A user's labelled CSV file as it is, to be imported as a user imports it: every
    column but ``truth`` named as the contacts import names it (``first_name`` the
    trait ``firstName``, ``mailing_address_zipcode`` the postal code...), and the
    columns read."""
    source = labelled.existing(path)
    header, records, labels = labelled.read_records(source, truth)
    fields = tuple(h for h in header if h != truth and h != "record_id")
    columns: dict[str, list[Any]] = {"record_id": [f"r{line}" for line, _ in records]}
    for f in fields:
        columns[f] = [(record.get(f) or "").strip() or None for _, record in records]
    return _population(columns, labels, source.name), fields


def _import(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    population: synth.Population,
    fields: tuple[str, ...],
    progress: Callable[[int], None],
    as_is: bool = False,
    beside: Beside | None = None,
) -> None:
    # A file as it is: its columns mapped as the contacts import maps them.
    mapping = imports.Mapping.parse(MAPPING[:1] if as_is else MAPPING, None)
    beside_it = beside(workspace_id, len(population)) if beside else nullcontext()
    with beside_it as resolver, factory() as session:
        imports.run_import(
            session,
            workspace_id=workspace_id,
            kind="contacts",
            rows=_rows(population, fields),
            mapping=mapping,
            source="import:contacts:bench",
            channel=None,
            progress=progress,
            on_batch=session.commit,
            held=partial(resolve.held_identifiers, session),
            declare=partial(identity.declare_types, session, Principal.cli(workspace_id)),
        )
        session.commit()
        if resolver is not None:
            resolver.finish()
    resolve_workspace(factory, workspace_id)  # what was left, if any


def _scores(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, population: synth.Population
) -> evaluate.Scores:
    """Each record's person in the database against its true person."""
    with factory() as session:
        owner = dict(
            session.execute(
                select(Identifier.value, Identifier.profile_id).where(
                    Identifier.workspace_id == workspace_id, Identifier.type == ID_TYPE
                )
            ).all()
        )
    rows = population.rows()
    # A record the import refused stands alone (it was resolved onto nobody).
    predicted = [owner.get(str(r["record_id"])) or f"missing-{i}" for i, r in enumerate(rows)]
    return evaluate.score(predicted, population.person)


@dataclass
class Ran:
    """A matching run's outcome as the bench reads it."""

    status: str
    error: str | None
    report: dict[str, Any]
    merged: int
    proposed: int
    households: int
    seconds: float  # the run itself (a process of its own starts before it)
    peak_mb: float | None = None  # of the process that ran it, when one of its own


def matching_run(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    settings: Settings,
    engine_name: Engine,
) -> Ran:
    """One matching run over the workspace, as `accord resolve` runs it."""
    started = time.perf_counter()
    run_ = run_workspace(factory, workspace_id, settings, engine_name=engine_name, trigger="bench")
    return Ran(
        run_.status,
        run_.error,
        run_.report or {},
        run_.merged,
        run_.proposed,
        run_.households,
        time.perf_counter() - started,
    )


def run(
    factory: sessionmaker[Session],
    url: str,
    settings: Settings,
    people: synth.Population,
    *,
    fields: tuple[str, ...] = GENERATED,
    engine_name: Engine,
    progress: Callable[[int], None],
    as_is: bool = False,
    matching: Callable[[uuid.UUID], Ran] | None = None,
    beside: Beside | None = None,
) -> ResolveDbResult:
    """``matching`` runs the matching run over a workspace (in a process of its own, say,
    whose peak memory it reports); by default, in this process."""
    name = f"bench-resolve-{people.kind}-{uuid.uuid4().hex[:6]}"
    with transaction(factory) as session:
        workspace_id = workspaces.create_workspace(session, name).workspace.id
    result = ResolveDbResult(
        workspace=name,
        population=people.kind,
        records=len(people),
        engine=engine_name,
        database=url.split(":", 1)[0].split("+", 1)[0],
    )
    with PeakMemory(os.getpid()) as peak:
        started = time.perf_counter()
        _import(factory, workspace_id, people, fields, progress, as_is, beside)
        result.seconds["import"] = time.perf_counter() - started
        if matching is None:
            ran = matching_run(factory, workspace_id, settings, engine_name)
        else:
            ran = matching(workspace_id)
        result.seconds["resolve"] = ran.seconds
    if ran.status != "done":
        raise RuntimeError(f"the matching run ended {ran.status}: {ran.error}")
    result.peak_mb = peak.peak
    result.run_peak_mb = ran.peak_mb
    result.phases = {k: float(v) for k, v in (ran.report.get("phases") or {}).items()}
    result.merged, result.proposed, result.households = ran.merged, ran.proposed, ran.households
    result.scores = _scores(factory, workspace_id, people)
    return result
