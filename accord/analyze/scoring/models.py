"""What customer analytics keeps: each person's scores from the last recompute of their
workspace, and every recompute (a run) with its progress, its fitted models and how well
they predicted on data they did not see."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, Numeric, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from accord.kit.db import Base, IdMixin


class CustomerScore(Base):
    """One person's value, risk and persona as of ``computed_at``.

    - RFM: ``recency_days`` since the last order, ``frequency`` orders, ``monetary`` net
      revenue; the quintile scores 1..5 (5 best) and the named group.
    - Lifetime value: BG/NBD's ``expected_purchases`` over the workspace's horizon and
      ``p_alive``; Gamma-Gamma's ``expected_value`` of an order; ``clv`` the discounted
      value over the horizon.
    - ``churn_risk`` (0..1) with ``churn_factors``, the features that raise it most.
    - ``persona`` (its key in the run) and ``persona_name``.
    - Relationship value: ``service_cost`` (conversations priced by channel),
      ``acquisition_cost`` (the first-touch campaign's cost shared among the customers it
      acquired) and ``relationship_value`` = net revenue - cost to serve - acquisition
      cost.
    People with no order have no RFM scores, no lifetime value and no churn risk, but a
    persona and a service cost."""

    __tablename__ = "customer_scores"
    # A recompute rewrites every row of its workspace, so the table carries no more than
    # it needs: one index beside the key (segments and pages find a person's row by its
    # key), and one foreign key, the person's (their erasure or their workspace's takes
    # the row with it). The workspace and the run are the person's and the recompute's
    # own: checking them again for each of a million rows would cost more than the
    # writing.
    __table_args__ = (Index(None, "workspace_id"),)

    profile_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("profiles.id", ondelete="CASCADE"), primary_key=True
    )
    workspace_id: Mapped[uuid.UUID]
    run_id: Mapped[uuid.UUID | None]
    computed_at: Mapped[datetime]
    first_order_at: Mapped[datetime | None]
    last_order_at: Mapped[datetime | None]
    recency_days: Mapped[int | None] = mapped_column(Integer)
    frequency: Mapped[int] = mapped_column(Integer, default=0)
    monetary: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"))
    r_score: Mapped[int | None] = mapped_column(SmallInteger)
    f_score: Mapped[int | None] = mapped_column(SmallInteger)
    m_score: Mapped[int | None] = mapped_column(SmallInteger)
    rfm_group: Mapped[str | None] = mapped_column(String(24))
    expected_purchases: Mapped[float | None] = mapped_column(Float)
    p_alive: Mapped[float | None] = mapped_column(Float)
    expected_value: Mapped[float | None] = mapped_column(Float)
    clv: Mapped[float | None] = mapped_column(Float)
    churn_risk: Mapped[float | None] = mapped_column(Float)
    churn_factors: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    persona: Mapped[int | None] = mapped_column(SmallInteger)
    persona_name: Mapped[str | None] = mapped_column(String(80))
    conversations: Mapped[int] = mapped_column(Integer, default=0)
    service_cost: Mapped[float] = mapped_column(Float, default=0.0)
    acquisition_cost: Mapped[float] = mapped_column(Float, default=0.0)
    relationship_value: Mapped[float] = mapped_column(Float, default=0.0)


class ScoringRun(IdMixin, Base):
    """One recompute of a workspace's scores: queued, running (with ``stage`` and
    ``progress`` 0..1, written as it goes), done or failed (``error``). ``models`` holds
    the fitted parameters (BG/NBD, Gamma-Gamma, the churn model, the personas);
    ``metrics`` how they did on held-out data and the figures the dashboards chart."""

    __tablename__ = "scoring_runs"
    __table_args__ = (Index(None, "workspace_id", "started_at"),)

    workspace_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("workspaces.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(12), default="queued")
    stage: Mapped[str | None] = mapped_column(String(120))
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    queued_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    as_of: Mapped[datetime | None]
    customers: Mapped[int] = mapped_column(Integer, default=0)
    people: Mapped[int] = mapped_column(Integer, default=0)
    models: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
