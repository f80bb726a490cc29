"""``accord scores ...``: customer analytics from the command line."""

from __future__ import annotations

import uuid

import typer

from accord.cli.context import progress_bar, settings, unit_of_work
from accord.cli.data import WorkspaceOpt, find_workspace
from accord.config import Settings

scores_app = typer.Typer(help="Customer analytics: RFM, lifetime value, churn risk, personas.")


def recompute_with_progress(s: Settings, workspace_id: uuid.UUID) -> tuple[str, dict[str, object]]:
    """Recompute the workspace's scores in this process, showing the run's progress;
    returns its status and metrics."""
    from accord import jobs as accord_jobs
    from accord.analyze.scoring import service, tasks
    from accord.kit.db import create_db_engine, create_session_factory

    engine = create_db_engine(s.resolved_database_url)
    factory = create_session_factory(engine)
    try:
        with unit_of_work(s) as session:
            run, _ = service.request(session, workspace_id, "cli")
            run_id = run.id
        with progress_bar() as bar:
            task = bar.add_task("Scoring customers", total=100)

            class Shown:
                def __call__(self, stage: str, share: float) -> None:
                    bar.update(task, completed=round(share * 100), description=stage[:60])

            tasks.recompute(
                factory,
                workspace_id,
                run_id,
                inputs=accord_jobs.scoring_inputs(),
                progress=Shown(),
            )
            bar.update(task, completed=100, description="Scored")
        with factory() as session:
            done = service.run_of(session, workspace_id, run_id)
            assert done is not None
            return done.status, dict(done.metrics or {}) | {"error": done.error}
    finally:
        engine.dispose()


@scores_app.command("recompute")
def recompute(workspace: WorkspaceOpt) -> None:
    """Recompute every person's scores now (what the nightly job and the console's
    "Recompute now" do), with progress; prints how well the models predicted."""
    s = settings()
    with unit_of_work(s) as session:
        ws = find_workspace(session, workspace)
        workspace_id = ws.id
    status, metrics = recompute_with_progress(s, workspace_id)
    if status != "done":
        typer.echo(f"Scoring failed: {metrics.get('error')}", err=True)
        raise typer.Exit(1)
    typer.echo(summary(metrics))


def summary(metrics: dict[str, object]) -> str:
    lines = [
        f"Scored {metrics.get('people', 0):,} people, {metrics.get('customers', 0):,} customers"
    ]
    churn = metrics.get("churn")
    if isinstance(churn, dict) and "auc" in churn:
        lines.append(
            f"Churn risk: AUC {churn['auc']:.3f} on the later period "
            f"(recency alone {churn['baseline_auc']:.3f})"
        )
    elif isinstance(churn, dict):
        lines.append(f"Churn risk: not fitted ({churn.get('skipped')})")
    life = metrics.get("lifetime")
    if isinstance(life, dict) and life.get("error") is not None:
        lines.append(
            f"Lifetime value: repeat purchases over the holdout predicted within "
            f"{abs(float(life['error'])):.1%} of the actual"
        )
    elif isinstance(life, dict):
        lines.append(f"Lifetime value: check skipped ({life.get('skipped')})")
    personas = metrics.get("personas")
    if isinstance(personas, list):
        lines.append("Personas: " + ", ".join(str(p["name"]) for p in personas))
    return "\n".join(lines)
