"""``accord scores ...``: customer analytics from the command line."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer
from sqlalchemy.orm import Session

from accord.cli.context import progress_bar, settings, unit_of_work
from accord.cli.data import WorkspaceOpt, find_workspace
from accord.config import Settings

if TYPE_CHECKING:
    from accord.analyze.scoring.features import Frame
    from accord.analyze.scoring.pipeline import Options
    from accord.analyze.scoring.service import FrameOf

scores_app = typer.Typer(help="Customer analytics: RFM, lifetime value, churn risk, personas.")


def recompute_with_progress(
    s: Settings, workspace_id: uuid.UUID, features_on: str = "sql", source: str | None = None
) -> tuple[str, dict[str, object]]:
    """Recompute the workspace's scores in this process, showing the run's progress;
    returns its status and metrics. With ``features_on="spark"`` the features are computed on
    Spark (``ACCORD_SPARK_MASTER``) from the database or the parquet export at ``source``."""
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
                frame_of=_on_spark(s, workspace_id, source) if features_on == "spark" else None,
            )
            bar.update(task, completed=100, description="Scored")
        with factory() as session:
            done = service.run_of(session, workspace_id, run_id)
            assert done is not None
            return done.status, dict(done.metrics or {}) | {"error": done.error}
    finally:
        engine.dispose()


def _on_spark(s: Settings, workspace_id: uuid.UUID, source: str | None) -> FrameOf:
    """The features computed on Spark (``ACCORD_SPARK_MASTER``), from the database or
    from the parquet export at ``source``."""
    from accord.analyze.scoring import features_spark
    from accord.inbox.scoring_facts_spark import SparkServiceHistory

    def frame_of(session: Session, cutoffs: list[datetime], options: Options) -> Frame:
        history = SparkServiceHistory()
        with features_spark.spark_session(s.spark_master) as spark:
            if source is None:
                sources = features_spark.from_database(
                    spark, session, workspace_id, service=history
                )
            else:
                sources = features_spark.from_parquet(spark, source)
            return features_spark.extract_spark(
                spark,
                sources,
                workspace_id,
                cutoffs,
                service=history,
                recent=timedelta(days=options.recent_days),
                lookback=timedelta(days=365),
            )

    return frame_of


@scores_app.command("recompute")
def recompute(
    workspace: WorkspaceOpt,
    engine: Annotated[
        str, typer.Option(help="sql (in the database) or spark (ACCORD_SPARK_MASTER).")
    ] = "sql",
    source: Annotated[
        str | None,
        typer.Option(
            help="With --engine spark: a parquet export (profiles/, orders/, events/, "
            "conversations/) to read instead of the database."
        ),
    ] = None,
) -> None:
    """Recompute every person's scores now (what the nightly job and the console's
    "Recompute now" do), with progress; prints how well the models predicted."""
    if engine not in ("sql", "spark") or (source is not None and engine != "spark"):
        typer.secho(
            "error: --engine is sql or spark, and --source needs spark (engine) [invalid]",
            fg="red",
            err=True,
        )
        raise typer.Exit(2)
    s = settings()
    with unit_of_work(s) as session:
        ws = find_workspace(session, workspace)
        workspace_id = ws.id
    status, metrics = recompute_with_progress(s, workspace_id, engine, source)
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
