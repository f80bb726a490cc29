"""Running a benchmark from the command line: a progress bar, then its figures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Protocol

import typer
from sqlalchemy.orm import Session, sessionmaker

from accord.cli.context import heard_factory, progress_bar, settings
from accord.config import Settings
from accord.kit.db import create_db_engine, create_session_factory

# A benchmark that loads its data into a database of the user's choosing.
MigratedDatabaseOpt = Annotated[
    str | None,
    typer.Option(help="A migrated database to load (default: the configured one)."),
]


class Result(Protocol):
    def lines(self) -> list[str]: ...


Runner = Callable[[sessionmaker[Session], str, Path, Callable[[int], None]], Result]


def run_bench(
    description: str,
    total: int,
    runner: Runner,
    database_url: str | None = None,
    *,
    heard: bool = False,
) -> None:
    """Run a benchmark on the configured database (or ``database_url``) with a progress
    bar; print its figures. ``heard``: its changes to people are heard as a command's
    are (``heard_factory``), for a bench that runs what the commands run."""
    s = settings()
    url = database_url or s.resolved_database_url
    with _factory(s, url, heard) as factory, progress_bar(transient=True) as progress:
        task = progress.add_task(description, total=total)
        result = runner(factory, url, s.data_dir, lambda n: progress.advance(task, n))
    for line in result.lines():
        typer.echo(line)


@contextmanager
def _factory(s: Settings, url: str, heard: bool) -> Iterator[sessionmaker[Session]]:
    if heard:
        with heard_factory(s, url) as factory:
            yield factory
        return
    engine = create_db_engine(url)
    try:
        yield create_session_factory(engine)
    finally:
        engine.dispose()
