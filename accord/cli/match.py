"""``accord resolve``: probabilistic identity resolution of a workspace."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Annotated, Literal

import typer

from accord.cli.context import bulk_settings, heard_factory, progress_bar, unit_of_work
from accord.cli.data import WorkspaceOpt, find_workspace
from accord.config import Settings

if TYPE_CHECKING:
    from accord.match.models import MatchRun

Engine = Literal["duckdb", "spark"]
PHASES = [
    "reading people",
    "loading records",
    "training the model",
    "scoring candidate pairs",
    "applying decisions",
]


def run_with_progress(s: Settings, workspace_id: uuid.UUID, name: str, engine: Engine) -> MatchRun:
    """One full matching run of a workspace, with a progress bar per phase."""
    from accord.match.tasks import run_workspace

    with heard_factory(s) as factory, progress_bar() as progress:
        task = progress.add_task(f"Resolving {name}", total=len(PHASES))

        def on_phase(phase: str) -> None:
            head = phase.split(":", 1)[0]  # "applying decisions: merges 5,000 of ..."
            done = PHASES.index(head) if head in PHASES else 0
            progress.update(task, completed=done, description=f"Resolving {name}: {phase}")

        run = run_workspace(
            factory, workspace_id, s, engine_name=engine, trigger="cli", on_phase=on_phase
        )
        progress.update(task, completed=len(PHASES), description=f"Resolved {name}")
    return run


def resolve_command(
    workspace: WorkspaceOpt,
    engine: Annotated[
        str, typer.Option(help="duckdb (one machine) or spark (ACCORD_SPARK_MASTER).")
    ] = "duckdb",
) -> None:
    """Find the same person across records that share no key (Splink), merge the sure
    pairs, queue the borderline ones for review and link households."""
    if engine not in ("duckdb", "spark"):
        typer.secho("error: --engine is duckdb or spark (engine) [invalid]", fg="red", err=True)
        raise typer.Exit(2)
    s = bulk_settings()
    with unit_of_work(s) as session:
        ws = find_workspace(session, workspace)
        workspace_id, name = ws.id, ws.name
    run = run_with_progress(s, workspace_id, name, "spark" if engine == "spark" else "duckdb")
    report = run.report or {}
    typer.echo(f"run {run.id} ({run.engine}): {run.status}")
    typer.echo(f"  people compared      {run.records:,}")
    typer.echo(f"  pairs scored         {run.pairs:,}")
    typer.echo(f"  merged               {run.merged:,}")
    typer.echo(f"  proposed for review  {run.proposed:,}")
    typer.echo(f"  household links      {run.households:,}")
    kept = report.get("blocked") or 0
    if kept:
        typer.echo(
            f"  kept apart           {kept:,} (a record of one side is someone else, "
            "different user ids, or undone or rejected before)"
        )
    rules = (run.model or {}).get("blocking_report") or []
    if rules:
        from accord.match.scored import blocking_summary

        typer.echo(f"  blocking rules       {blocking_summary(rules)}")
    phases = report.get("phases") or {}
    if phases:
        typer.echo("  seconds              " + ", ".join(f"{k} {v:.1f}" for k, v in phases.items()))
    for rule in report.get("training") or []:
        used = "used" if rule["used"] else "not used"
        typer.echo(f"  training on {rule['rule']}: {used} ({rule['reason']})")
