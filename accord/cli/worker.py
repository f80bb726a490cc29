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
    from accord.kit.db import create_db_engine, create_session_factory
    from accord.kit.runtime import tune_gc
    from accord.resolve import process

    s = settings()
    logging.basicConfig(level=s.log_level.upper(), format="%(levelname)s %(name)s: %(message)s")
    process.lower_priority(s.resolver_nice if nice is None else nice)
    tune_gc(s.gc_threshold)
    stop = threading.Event()
    process.stop_on_signals(stop)
    engine = create_db_engine(s.resolved_database_url, pool_size=2)
    try:
        process.run(
            create_session_factory(engine),
            stop,
            poll=s.resolve_poll_seconds,
            yield_above=s.resolve_yield_above,
            alive=process.parent_alive(exit_with),
        )
    finally:
        engine.dispose()
