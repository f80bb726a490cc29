"""Running a benchmark from the command line: a progress bar, then its figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Protocol

import typer
from sqlalchemy.orm import Session, sessionmaker

from accord.cli.context import progress_bar, settings
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
    description: str, total: int, runner: Runner, database_url: str | None = None
) -> None:
    """Run a benchmark on the configured database (or ``database_url``) with a progress
    bar; print its figures."""
    s = settings()
    url = database_url or s.resolved_database_url
    engine = create_db_engine(url)
    try:
        with progress_bar(transient=True) as progress:
            task = progress.add_task(description, total=total)
            result = runner(
                create_session_factory(engine),
                url,
                s.data_dir,
                lambda n: progress.advance(task, n),
            )
    finally:
        engine.dispose()
    for line in result.lines():
        typer.echo(line)
