"""The service dashboards over HTTP: the figures by day or week with their filters, and
the workspace's service costs (the settings group ``service_costs``)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query

from accord.govern.access.deps import AnalyticsReader, WorkspaceAdmin, WorkspaceReader
from accord.inbox import metrics_trends
from accord.inbox.metrics_costs import COSTS, ServiceCostsBody
from accord.inbox.metrics_trends import Filters, Trends
from accord.kit.deps import DbSession

router = APIRouter(prefix="/api/v1", tags=["inbox"])


@router.get(
    "/inbox/metrics/trends",
    response_model=Trends,
    summary="Service figures by day or week",
    description="First response, resolution, first-contact resolution, reopen rate, "
    "satisfaction, chat abandonment, channel mix and cost per period, and for the whole "
    "period (`totals`). The period is `since`..`until`, or the last `days` (30); it is "
    "shown by day up to 45 days and by week beyond, unless `bucket` says. With "
    "`agent_id`, each figure credits the agent who did the work: the first response its "
    "sender, replies their authors, a resolution (and what follows it) its agent.",
)
def trends(
    session: DbSession,
    principal: AnalyticsReader,
    days: Annotated[int | None, Query(ge=1, le=metrics_trends.MAX_DAYS)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    bucket: Annotated[str | None, Query(pattern="^(day|week)$")] = None,
    team_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    channel: str | None = None,
    priority: str | None = None,
) -> Trends:
    filters = Filters.of(
        days=days,
        since=since,
        until=until,
        bucket=bucket,
        team_id=team_id,
        agent_id=agent_id,
        channel=channel,
        priority=priority,
    )
    return metrics_trends.trends(session, principal.workspace_id, filters)


@router.get(
    "/inbox/costs",
    response_model=ServiceCostsBody,
    summary="Service costs",
    description="The fixed cost of a conversation per channel, an agent's hourly cost and "
    "the minutes a reply takes per channel, in one currency; the dashboards' costs.",
)
def get_costs(session: DbSession, principal: WorkspaceReader) -> dict[str, Any]:
    return COSTS.current_of(session, principal.workspace_id)


@router.put(
    "/inbox/costs",
    response_model=ServiceCostsBody,
    summary="Change the service costs",
    description="Send `version` (from a GET) to refuse the change with 409 "
    "`settings_version_conflict` when someone else changed them since.",
)
def put_costs(
    session: DbSession, principal: WorkspaceAdmin, body: ServiceCostsBody
) -> dict[str, Any]:
    return COSTS.write_body(session, principal, body)
