"""Recomputing a workspace's customer scores: a run is requested (once at a time per
workspace), then executed by a job: features read from the database, models fitted
(``pipeline``), every person's scores replaced in one transaction, and the run marked
done with its metrics. Progress is reported through a callback the job commits on its
own, so the console can show it while the work's transaction is still open.

People who refused personalization and profiling (consent purpose ``personalization``
denied or withdrawn for every channel) are not scored; their rows are removed."""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.analyze.scoring import features, figures, pipeline
from accord.analyze.scoring.models import ScoringRun
from accord.analyze.scoring.repository import ScoringRepository
from accord.govern.consent import rules as consent_rules
from accord.govern.consent.models import ConsentState
from accord.kit.dialect import lock_workspace
from accord.kit.planning import planner
from accord.kit.time import utcnow
from accord.profile.models import Profile

STALE = timedelta(hours=6)  # a run queued or running this long was lost with its worker
Progress = Callable[[str, float], None]
OrderCounts = tuple[list[float], list[tuple[int, int, int]]]  # weekly repeat buys, cohorts
CostsOf = Callable[[Session, uuid.UUID], dict[str, float]]


@dataclass(frozen=True)
class Inputs:
    """What the edge hands over: the inbox's service history and the workspace's cost
    of a conversation per channel."""

    service: features.ServiceFeatures | None = None
    costs_of: CostsOf | None = None


def request(
    session: Session, workspace_id: uuid.UUID, requested_by: str | None
) -> tuple[ScoringRun, bool]:
    """A run for the workspace: the one queued or running, else a new one (``True``)."""
    lock_workspace(session, workspace_id, "scoring")
    repo = ScoringRepository.from_session(session)
    active = repo.active_run(workspace_id)
    if active is not None and utcnow() - (active.started_at or active.queued_at) > STALE:
        fail(session, active, "abandoned: no worker finished it within six hours")
        active = None
    if active is not None:
        return active, False
    run = ScoringRun(
        id=uuid.uuid4(),
        workspace_id=workspace_id,
        status="queued",
        progress=0.0,
        requested_by=requested_by,
        queued_at=utcnow(),
        models={},
        metrics={},
        customers=0,
        people=0,
    )
    return repo.add_run(run), True


def start(session: Session, run: ScoringRun) -> None:
    run.status = "running"
    run.started_at = utcnow()
    run.stage = "Starting"
    run.progress = 0.0
    session.flush()


def fail(session: Session, run: ScoringRun, error: str) -> None:
    run.status = "failed"
    run.finished_at = utcnow()
    run.error = error[:2000]
    session.flush()


@dataclass
class Result:
    """What an analysis found, ready to be stored."""

    frame: features.Frame
    scores: pipeline.Scores
    refused: set[uuid.UUID]
    as_of: datetime


def cutoffs_of(options: pipeline.Options, now: datetime) -> list[datetime]:
    """The moments a run reads features at: ``now - 2h``, ``now - h`` and ``now``."""
    h = timedelta(days=options.churn_days)
    return [now - 2 * h, now - h, now]


FrameOf = Callable[[Session, list[datetime], pipeline.Options], features.Frame]


def analyse(
    session: Session,
    workspace_id: uuid.UUID,
    inputs: Inputs,
    *,
    options: pipeline.Options | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    frame: features.Frame | None = None,
    beside: Session | None = None,
) -> Result:
    """Every score of the workspace's people, computed from what the session reads (it
    writes nothing: run it in a read-only unit of work, so progress can be committed
    beside it). A ``frame`` computed elsewhere (on Spark, ``features_spark``) at this
    run's cutoffs stands for the features read from the database. ``beside``: a second
    read-only unit of work in which the order counts that only the dashboards and the
    lifetime check need run meanwhile (the database works while the models are fitted).
    """
    options = options or pipeline.Options()
    now = now or (frame.cutoffs[-1] if frame is not None else utcnow())
    tell = progress or (lambda stage, share: None)
    repo = ScoringRepository.from_session(session)
    h = timedelta(days=options.churn_days)
    cutoffs = cutoffs_of(options, now)
    total = _live_people(session, workspace_id) or 1
    read = 0

    def rows_read(n: int) -> None:
        nonlocal read
        read += n
        tell(f"Reading customers: {read:,} of {total:,}", 0.05 + 0.45 * read / total)

    if frame is None:
        tell("Reading customers", 0.02)
        frame = features.extract(
            session,
            workspace_id,
            cutoffs,
            service=inputs.service,
            recent=timedelta(days=options.recent_days),
            lookback=timedelta(days=365),
            progress=rows_read,
        )
    elif frame.cutoffs != cutoffs:
        raise ValueError("the features were computed at other cutoffs than this run's")
    # The orders are grouped twice more (repeat purchases in the holdout weeks, cohorts):
    # in the ``beside`` unit of work while the models are fitted here, else in turn.
    weeks = pipeline.holdout_weeks(options)
    with ThreadPoolExecutor(1, thread_name_prefix="scoring-orders") as pool:
        counting: Future[OrderCounts]
        if beside is not None:
            counting = pool.submit(_orders_counted, beside, workspace_id, now, h, weeks)
        else:
            tell("Counting repeat purchases and cohorts", 0.5)
            counting = Future()
            counting.set_result(_orders_counted(session, workspace_id, now, h, weeks))
        tell("Fitting lifetime value, churn and personas", 0.55)
        costs = inputs.costs_of(session, workspace_id) if inputs.costs_of is not None else {}
        people, campaigns = repo.first_campaigns(workspace_id)
        acquired = pipeline.Acquired(
            campaign=[people.get(pid) for pid in frame.ids], cost=campaigns
        )
        scores = pipeline.compute(frame, options, costs, lambda: counting.result()[0], acquired)
        tell("Building cohorts", 0.75)
        scores.metrics["cohorts"] = _cohorts(counting.result()[1])
    scores.metrics["options"] = {
        "horizon_days": options.horizon_days,
        "churn_days": options.churn_days,
        "annual_discount": options.annual_discount,
        "costs": costs,
    }
    refused = _refused_profiling(session, workspace_id) & set(frame.ids)
    scored = np.array([pid not in refused for pid in frame.ids], dtype=bool)
    scores.metrics["dashboards"] = figures.dashboards(frame.ids, scores, scored)
    scores.metrics["not_scored_for_consent"] = len(refused)
    return Result(frame=frame, scores=scores, refused=refused, as_of=now)


def store(session: Session, run: ScoringRun, result: Result) -> int:
    """The workspace's scores replaced by the result's, and the run marked done."""
    lock_workspace(session, run.workspace_id, "scoring")
    rows = _rows(
        result.frame, result.scores, run.workspace_id, run.id, result.as_of, result.refused
    )
    written = ScoringRepository.from_session(session).replace_scores(run.workspace_id, rows)
    run.status = "done"
    run.stage = "Done"
    run.progress = 1.0
    run.finished_at = utcnow()
    run.as_of = result.as_of
    run.people = written
    run.customers = int(result.scores.metrics.get("customers", 0))
    run.models = _json_safe(result.scores.models)
    run.metrics = _json_safe(result.scores.metrics)
    session.flush()
    return written


def set_progress(session: Session, run_id: uuid.UUID, stage: str, share: float) -> None:
    ScoringRepository.from_session(session).set_progress(run_id, stage, share)


def run_of(session: Session, workspace_id: uuid.UUID, run_id: uuid.UUID) -> ScoringRun | None:
    return ScoringRepository.from_session(session).run(workspace_id, run_id)


def workspaces_to_score(session: Session) -> list[uuid.UUID]:
    return ScoringRepository.from_session(session).workspaces_with_orders()


def _live_people(session: Session, workspace_id: uuid.UUID) -> int:
    stmt = select(func.count()).where(
        Profile.workspace_id == workspace_id, Profile.merged_into_id.is_(None)
    )
    return int(session.scalar(stmt) or 0)


def _refused_profiling(session: Session, workspace_id: uuid.UUID) -> set[uuid.UUID]:
    stmt = select(ConsentState.profile_id).where(
        ConsentState.workspace_id == workspace_id,
        ConsentState.channel == consent_rules.ALL,
        ConsentState.purpose.in_(("personalization", consent_rules.ALL)),
        ConsentState.status.in_((consent_rules.DENIED, consent_rules.WITHDRAWN)),
    )
    return set(session.scalars(stmt))


def _orders_counted(
    session: Session, workspace_id: uuid.UUID, now: datetime, h: timedelta, weeks: int
) -> OrderCounts:
    """The actual repeat purchases week by week after ``now - h``, and the cohorts' rows."""
    repo = ScoringRepository.from_session(session)
    with planner(session, jit="off"):
        days = repo.repeat_days(workspace_id, now - h, now)
        return _weekly_cumulative(days, now - h, weeks), repo.cohorts(workspace_id, now)


def _weekly_cumulative(days: list[tuple[Any, int]], since: datetime, weeks: int) -> list[float]:
    per_week = [0.0] * weeks
    start = since.date()
    for day, n in days:
        w = (day - start).days // 7
        if 0 <= w < weeks:
            per_week[w] += n
    return [float(x) for x in np.cumsum(per_week)]


def _cohorts(rows: list[tuple[int, int, int]], months: int = 12) -> dict[str, Any]:
    """Retention by first-purchase month: the last ``months`` cohorts, the share of each
    cohort buying again 0..11 months later."""
    if not rows:
        return {"cohorts": [], "offsets": [], "sizes": [], "retention": []}
    firsts = sorted({f for f, _, _ in rows})[-months:]
    size = {f: n for f, o, n in rows if o == 0}
    grid: dict[tuple[int, int], int] = {(f, o): n for f, o, n in rows}
    offsets = list(range(months))
    retention = []
    for f in firsts:
        base = size.get(f, 0) or 1
        retention.append(
            [round(grid.get((f, o), 0) / base, 4) if f + o <= firsts[-1] else None for o in offsets]
        )
    labels = [f"{f // 12:04d}-{f % 12 + 1:02d}" for f in firsts]
    return {
        "cohorts": labels,
        "offsets": offsets,
        "sizes": [size.get(f, 0) for f in firsts],
        "retention": retention,
    }


COLUMNS = (
    "profile_id",
    "workspace_id",
    "run_id",
    "computed_at",
    "first_order_at",
    "last_order_at",
    "recency_days",
    "frequency",
    "monetary",
    "r_score",
    "f_score",
    "m_score",
    "rfm_group",
    "expected_purchases",
    "p_alive",
    "expected_value",
    "clv",
    "churn_risk",
    "churn_factors",
    "persona",
    "persona_name",
    "conversations",
    "service_cost",
    "acquisition_cost",
    "relationship_value",
)


def _rows(
    frame: features.Frame,
    s: pipeline.Scores,
    workspace_id: uuid.UUID,
    run_id: uuid.UUID,
    now: datetime,
    refused: set[uuid.UUID],
) -> Iterator[tuple[Any, ...]]:
    epoch = features.EPOCH
    for i, profile_id in enumerate(frame.ids):
        if profile_id in refused:
            continue
        customer = s.frequency[i] > 0
        yield (
            profile_id,
            workspace_id,
            run_id,
            now,
            epoch + timedelta(days=float(s.first_order[i])) if customer else None,
            epoch + timedelta(days=float(s.last_order[i])) if customer else None,
            _int(s.recency_days[i]),
            int(s.frequency[i]),
            Decimal(f"{float(s.monetary[i]):.2f}"),
            int(s.r[i]) or None,
            int(s.f[i]) or None,
            int(s.m[i]) or None,
            s.group[i],
            _float(s.expected_purchases[i]),
            _float(s.p_alive[i]),
            _float(s.expected_value[i]),
            _float(s.clv[i]),
            _float(s.churn_risk[i]),
            s.churn_factors[i],
            int(s.persona[i]) if s.persona[i] >= 0 else None,
            s.persona_name[i],
            int(s.conversations[i]),
            float(s.service_cost[i]),
            float(s.acquisition_cost[i]),
            float(s.relationship_value[i]),
        )


def _int(v: float) -> int | None:
    return None if v is None or math.isnan(v) else int(v)


def _float(v: float) -> float | None:
    return None if v is None or math.isnan(v) or math.isinf(v) else round(float(v), 6)


def _json_safe(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return [_json_safe(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and (math.isnan(value) or math.isinf(value)):
        return None
    return value
