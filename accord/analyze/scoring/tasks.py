"""Scoring jobs, run by the job engine (registered by name in ``accord/jobs.py``): a
recompute in three units of work (the run marked running; the analysis, read-only, with
its progress committed as it goes, and a second read-only one beside it for the order
counts the service runs while the models are fitted; the scores written and the run
marked done), and a nightly request for every workspace with orders. Once scores are
written, the segments that depend on them are built again (``after``)."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.scoring import pipeline, service
from accord.kit.db import read_only, transaction
from accord.kit.time import utcnow

log = logging.getLogger(__name__)
Enqueue = Callable[..., None]


def recompute(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    *,
    inputs: service.Inputs,
    after: Callable[[uuid.UUID], None] | None = None,
    progress: service.Progress | None = None,
    frame_of: service.FrameOf | None = None,
) -> None:
    """``frame_of(session, cutoffs, options)`` computes the features elsewhere (on Spark)
    instead of in the database."""
    with transaction(factory) as session:
        run = service.run_of(session, workspace_id, run_id)
        if run is None or run.status not in ("queued", "running"):
            return
        service.start(session, run)
    last = [0.0]

    shown = progress

    def report(stage: str, share: float) -> None:
        if shown is not None:
            shown(stage, share)
        if time.monotonic() - last[0] < 0.5 and share < 1:
            return  # at most two writes a second
        last[0] = time.monotonic()
        with transaction(factory) as s:
            service.set_progress(s, run_id, stage, share)

    try:
        with read_only(factory) as session, read_only(factory) as beside:
            options, now = pipeline.Options(), utcnow()
            frame = None
            if frame_of is not None:
                report("Computing the features elsewhere", 0.05)
                frame = frame_of(session, service.cutoffs_of(options, now), options)
            result = service.analyse(
                session,
                workspace_id,
                inputs,
                options=options,
                now=now,
                progress=report,
                frame=frame,
                beside=beside,
            )
        report("Writing scores", 0.85)
        with transaction(factory) as session:
            run = service.run_of(session, workspace_id, run_id)
            if run is None:
                return
            service.store(session, run, result)
    except Exception as exc:
        log.exception("scoring workspace %s failed", workspace_id)
        with transaction(factory) as session:
            run = service.run_of(session, workspace_id, run_id)
            if run is not None:
                service.fail(session, run, f"{type(exc).__name__}: {exc}")
        return
    if after is not None:
        after(workspace_id)


def nightly(factory: sessionmaker[Session], *, enqueue: Enqueue) -> None:
    """Every workspace with orders gets a recompute (one at a time per workspace)."""
    with factory() as session:
        workspaces = service.workspaces_to_score(session)
    for workspace_id in workspaces:
        with transaction(factory) as session:
            run, new = service.request(session, workspace_id, "schedule")
            run_id = run.id
        if new:
            enqueue("scoring.recompute", workspace_id, run_id)
