"""The SQL of customer analytics: runs, the bulk write of scores, and the aggregates the
models and dashboards need beyond the features (weekly repeat purchases, cohorts)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, update

from accord.analyze.acquisition.models import AcquisitionTouch, Campaign
from accord.analyze.scoring.models import CustomerScore, ScoringRun
from accord.kit.dialect import copy_rows, month_index
from accord.kit.repository import Repository
from accord.profile.models import Order

ACTIVE = ("queued", "running")


class ScoringRepository(Repository):
    # --- runs ---------------------------------------------------------------------------

    def add_run(self, run: ScoringRun) -> ScoringRun:
        self.session.add(run)
        self.session.flush()
        return run

    def run(self, workspace_id: uuid.UUID, run_id: uuid.UUID) -> ScoringRun | None:
        run = self.session.get(ScoringRun, run_id)
        return run if run is not None and run.workspace_id == workspace_id else None

    def active_run(self, workspace_id: uuid.UUID) -> ScoringRun | None:
        stmt = (
            select(ScoringRun)
            .where(ScoringRun.workspace_id == workspace_id, ScoringRun.status.in_(ACTIVE))
            .order_by(ScoringRun.queued_at.desc())
        )
        return self.session.scalars(stmt).first()

    def latest_done(self, workspace_id: uuid.UUID) -> ScoringRun | None:
        stmt = (
            select(ScoringRun)
            .where(ScoringRun.workspace_id == workspace_id, ScoringRun.status == "done")
            .order_by(ScoringRun.finished_at.desc())
        )
        return self.session.scalars(stmt).first()

    def runs(self, workspace_id: uuid.UUID, limit: int = 20) -> list[ScoringRun]:
        stmt = (
            select(ScoringRun)
            .where(ScoringRun.workspace_id == workspace_id)
            .order_by(ScoringRun.queued_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def set_progress(self, run_id: uuid.UUID, stage: str, progress: float) -> None:
        self.session.execute(
            update(ScoringRun)
            .where(ScoringRun.id == run_id)
            .values(stage=stage[:120], progress=max(0.0, min(1.0, progress)))
        )

    def workspaces_with_orders(self) -> list[uuid.UUID]:
        return list(self.session.scalars(select(Order.workspace_id).distinct()))

    # --- scores -------------------------------------------------------------------------

    def replace_scores(self, workspace_id: uuid.UUID, rows: Iterable[Sequence[Any]]) -> int:
        """The workspace's scores replaced by ``rows`` (in the table's column order), in
        the caller's transaction: readers see the old scores until it commits."""
        self.session.execute(
            delete(CustomerScore).where(CustomerScore.workspace_id == workspace_id)
        )
        return copy_rows(self.session, CustomerScore.__table__, rows)  # type: ignore[arg-type]

    def score(self, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> CustomerScore | None:
        row = self.session.get(CustomerScore, profile_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    # --- aggregates -----------------------------------------------------------------------

    def first_campaigns(
        self, workspace_id: uuid.UUID
    ) -> tuple[dict[uuid.UUID, str], dict[str, float]]:
        """Each person's first-touch campaign that has a cost, and each such campaign's
        cost."""
        campaigns = {
            key: float(cost)
            for key, cost in self.session.execute(
                select(Campaign.utm_campaign, Campaign.cost).where(
                    Campaign.workspace_id == workspace_id, Campaign.cost > 0
                )
            )
        }
        if not campaigns:
            return {}, {}
        stmt = select(AcquisitionTouch.profile_id, AcquisitionTouch.first_campaign).where(
            AcquisitionTouch.workspace_id == workspace_id,
            AcquisitionTouch.first_campaign.in_(list(campaigns)),
        )
        people = {
            pid: str(c) for pid, c in self.session.execute(stmt.execution_options(yield_per=50_000))
        }
        return people, campaigns

    def repeat_days(
        self, workspace_id: uuid.UUID, since: datetime, until: datetime
    ) -> list[tuple[date, int]]:
        """Per day in [since, until): how many customers who had bought before ``since``
        bought that day (a day with several orders counts once)."""
        known = (
            select(Order.profile_id)
            .where(
                Order.workspace_id == workspace_id,
                Order.status != "cancelled",
                Order.placed_at < since,
                Order.profile_id.is_not(None),
            )
            .distinct()
            .subquery()
        )
        day = func.date(Order.placed_at)
        stmt = (
            select(day, func.count(func.distinct(Order.profile_id)))
            .where(
                Order.workspace_id == workspace_id,
                Order.status != "cancelled",
                Order.placed_at >= since,
                Order.placed_at < until,
                Order.profile_id.in_(select(known.c.profile_id)),
            )
            .group_by(day)
        )
        out = []
        for d, n in self.session.execute(stmt):
            out.append((d if isinstance(d, date) else date.fromisoformat(str(d)), int(n)))
        return out

    def cohorts(self, workspace_id: uuid.UUID, until: datetime) -> list[tuple[int, int, int]]:
        """(first-purchase month, months since, customers who bought in that month)."""
        month = month_index(self.session, Order.placed_at)
        bought = (
            select(Order.profile_id.label("p"), month.label("m"))
            .where(
                Order.workspace_id == workspace_id,
                Order.status != "cancelled",
                Order.profile_id.is_not(None),
                Order.placed_at < until,
            )
            .group_by(Order.profile_id, month)
            .cte("bought")  # read twice below, computed once
        )
        first = select(bought.c.p, func.min(bought.c.m).label("f")).group_by(bought.c.p).subquery()
        offset = bought.c.m - first.c.f
        stmt = (
            select(first.c.f, offset, func.count())
            .select_from(bought.join(first, first.c.p == bought.c.p))
            .group_by(first.c.f, offset)
        )
        return [(int(f), int(o), int(n)) for f, o, n in self.session.execute(stmt)]
