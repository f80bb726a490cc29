"""``accord worker ...``: background work in a process of its own."""

from __future__ import annotations

import logging
import threading
from typing import Annotated

import typer

from accord.cli.context import settings

worker_app = typer.Typer(help="Background workers, each in a process of its own.")


@worker_app.command("resolve")
def resolve_worker(
    nice: Annotated[
        int | None,
        typer.Option(help="CPU priority to yield (0-19); default ACCORD_RESOLVER_NICE.", min=0),
    ] = None,
    exit_with: Annotated[
        int | None,
        typer.Option(hidden=True, help="End when this process (the one that started us) does."),
    ] = None,
) -> None:
    """Resolve accepted events onto profiles as they arrive (what `accord serve` runs
    beside its API workers); stops on SIGTERM or Ctrl-C after the batch under way."""
    from accord import jobs as accord_jobs
    from accord.kit.db import create_db_engine, create_session_factory
    from accord.kit.process import lower_priority, parent_alive, stop_on_signals
    from accord.kit.runtime import tune_gc
    from accord.resolve import process

    s = settings()
    logging.basicConfig(level=s.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    lower_priority(s.resolver_nice if nice is None else nice)
    tune_gc(s.gc_threshold)
    stop = threading.Event()
    stop_on_signals(stop)
    engine = create_db_engine(s.resolved_database_url, pool_size=2)
    factory = create_session_factory(engine)
    # What resolution changes is heard as in the API workers: segments' evaluation and
    # journeys' events go to the job engine (this process only enqueues), and so do the
    # acquisition touches, kept with each batch and advanced by a job after it.
    jobs, _ = accord_jobs.build(s, factory)
    accord_jobs.listen_to_changes(jobs, factory, touches_later=s.touches_follow_seconds)
    try:
        process.run(
            factory,
            stop,
            poll=s.resolve_poll_seconds,
            yield_above=s.resolve_yield_above,
            alive=parent_alive(exit_with),
        )
    finally:
        jobs.close()
        engine.dispose()


@worker_app.command("jobs")
def jobs_worker(
    threads: Annotated[
        int | None, typer.Option(help="Worker threads; default ACCORD_JOBS_THREADS.", min=1)
    ] = None,
    nice: Annotated[
        int | None,
        typer.Option(help="CPU priority to yield (0-19); default ACCORD_JOBS_NICE.", min=0),
    ] = None,
    exit_with: Annotated[
        int | None,
        typer.Option(hidden=True, help="End when this process (the one that started us) does."),
    ] = None,
) -> None:
    """Run the job engine's consumer (segment evaluation, timers, schedules, deliveries)
    in a process of its own: what `accord serve` runs beside its API workers, or a
    machine of its own runs where the API processes only enqueue; stops on SIGTERM or
    Ctrl-C after the jobs under way."""
    from accord import jobs as accord_jobs
    from accord.kit.db import create_db_engine, create_session_factory
    from accord.kit.process import lower_priority, parent_alive, stop_on_signals
    from accord.kit.runtime import tune_gc

    s = settings()
    logging.basicConfig(level=s.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    lower_priority(s.jobs_nice if nice is None else nice)
    tune_gc(s.gc_threshold)
    stop = threading.Event()
    stop_on_signals(stop)
    alive = parent_alive(exit_with)
    engine = create_db_engine(s.resolved_database_url, pool_size=(threads or s.jobs_threads) + 2)
    factory = create_session_factory(engine)
    jobs, _ = accord_jobs.build(s, factory)
    # Jobs change people too (imports, merges, journeys' events): heard as everywhere.
    accord_jobs.listen_to_changes(jobs, factory)
    jobs.start(threads)
    try:
        while alive() and not stop.wait(0.5):
            pass
    finally:
        jobs.close()
        engine.dispose()
