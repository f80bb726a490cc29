"""``accord acquisition ...``: where people came from, from the command line."""

from __future__ import annotations

import typer

from accord.cli.context import progress_bar, settings, unit_of_work
from accord.cli.data import WorkspaceOpt, find_workspace

acquisition_app = typer.Typer(
    help="Acquisition: each person's first, last and latest touch.", no_args_is_help=True
)


@acquisition_app.command("rebuild")
def rebuild(workspace: WorkspaceOpt) -> None:
    """Compute every person's first, last and latest touch again from their events, a
    chunk of people per transaction, with progress: after an upgrade, or a load that
    wrote rows straight into the tables (resolution keeps them up to date otherwise)."""
    from accord.analyze.acquisition import touches
    from accord.kit.db import create_db_engine, create_session_factory

    s = settings()
    with unit_of_work(s) as session:
        workspace_id = find_workspace(session, workspace).id
        total = touches.people(session, workspace_id)
    engine = create_db_engine(s.resolved_database_url)
    try:
        with progress_bar() as bar:
            task = bar.add_task("Computing touches", total=total)
            done = touches.rebuild(
                create_session_factory(engine),
                workspace_id,
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        engine.dispose()
    typer.echo(f"Computed the touches of {done.people:,} people: {done.rows:,} live.")
