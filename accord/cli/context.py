"""What every command needs: settings, an engine made on demand, one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn
from sqlalchemy.orm import Session

from accord.config import Settings, get_settings
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.errors import AccordError


def settings() -> Settings:
    s = get_settings()
    s.ensure_data_dir()
    return s


@contextmanager
def unit_of_work(s: Settings) -> Iterator[Session]:
    """One committed transaction; an AccordError becomes a clear message and exit code 2."""
    engine = create_db_engine(s.resolved_database_url)
    try:
        with transaction(create_session_factory(engine)) as session:
            yield session
    except AccordError as error:
        field = f" ({error.field})" if error.field else ""
        typer.secho(f"error: {error.message}{field} [{error.code}]", fg="red", err=True)
        raise typer.Exit(2) from None
    finally:
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
