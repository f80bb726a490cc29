"""What every command needs: settings, an engine made on demand, one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy.orm import Session, sessionmaker

from accord.config import Settings, get_settings
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.errors import AccordError
from accord.kit.runtime import tune_gc


def settings() -> Settings:
    s = get_settings()
    s.ensure_data_dir()
    return s


def bulk_settings() -> Settings:
    """Settings for a command that works through many records in one process (an import,
    a matching run): the cycle collector tuned as the server's processes tune it. A run
    holds tens of thousands of mapped objects, which Python's default walks again every
    700 allocations."""
    s = settings()
    tune_gc(s.gc_threshold)
    return s


@contextmanager
def heard_factory(s: Settings, url: str | None = None) -> Iterator[sessionmaker[Session]]:
    """A session factory whose transactions are heard as the server's processes' are:
    what a command changes about people (an import, a matching run, an erase, mail
    received) reaches the segments' evaluation, the acquisition touches and the journeys
    waiting for events. The command only notes it and enqueues; the job engine's
    consumer (`accord serve`, `accord worker jobs`) does the work, now or when it next
    runs. ``url``: another database than the configured one."""
    from accord import jobs as accord_jobs

    if url is not None and url != s.resolved_database_url:
        s = s.on_database(url)  # its job queue too
    engine = create_db_engine(s.resolved_database_url)
    factory = create_session_factory(engine)
    jobs, _ = accord_jobs.build(s, factory)
    accord_jobs.listen_to_changes(jobs, factory, touches_later=s.touches_follow_seconds)
    try:
        yield factory
    finally:
        jobs.close()
        engine.dispose()


@contextmanager
def unit_of_work(s: Settings, factory: sessionmaker[Session] | None = None) -> Iterator[Session]:
    """One committed transaction (of ``factory``, or of an engine of its own); an
    AccordError becomes a clear message and exit code 2."""
    engine = None
    if factory is None:
        engine = create_db_engine(s.resolved_database_url)
        factory = create_session_factory(engine)
    try:
        with transaction(factory) as session:
            yield session
    except AccordError as error:
        field = f" ({error.field})" if error.field else ""
        typer.secho(f"error: {error.message}{field} [{error.code}]", fg="red", err=True)
        raise typer.Exit(2) from None
    finally:
        if engine is not None:
            engine.dispose()


def progress_bar(*, transient: bool = False) -> Progress:
    """The progress display of every long command: what, a bar, n of total, time taken."""
    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=transient,
    )
