"""Customer service history for customer analytics (churn features, the cost to serve),
handed to the scoring pipeline by the edge, so the analyze layer reads the inbox without
importing it."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from accord.inbox import metrics_costs, rules
from accord.inbox.models import Conversation, Message

LOW_CSAT = 2  # a rating of 1 or 2 out of 5
CHANNELS = (*rules.CHANNELS, "other")


class ServiceHistory:
    """Per person and cutoff: conversations, those in the recent window, low CSAT
    ratings and reopened conversations; and the conversations by channel up to the last
    cutoff (any other channel counted as ``other``)."""

    names: tuple[str, ...] = ("conversations", "conversations_recent", "low_csat", "reopened")
    channels: tuple[str, ...] = CHANNELS

    def query(
        self, workspace_id: uuid.UUID, cutoffs: Sequence[datetime], recent: timedelta
    ) -> Select[Any]:
        c = Conversation
        cols: list[Any] = [c.profile_id.label("profile_id")]
        for k, cut in enumerate(cutoffs):
            before = c.created_at < cut
            cols += [
                func.sum(case((before, 1), else_=0)).label(f"conversations_{k}"),
                func.sum(case((before & (c.created_at >= cut - recent), 1), else_=0)).label(
                    f"conversations_recent_{k}"
                ),
                func.sum(case(((c.csat_at < cut) & (c.csat_score <= LOW_CSAT), 1), else_=0)).label(
                    f"low_csat_{k}"
                ),
                func.sum(case((before & (c.reopen_count > 0), 1), else_=0)).label(f"reopened_{k}"),
            ]
        last = max(cutoffs)
        for channel in CHANNELS:
            hit = c.channel.not_in(rules.CHANNELS) if channel == "other" else c.channel == channel
            cols.append(
                func.sum(case(((c.created_at < last) & hit, 1), else_=0)).label(
                    f"channel:{channel}"
                )
            )
        return (
            select(*cols)
            .where(c.workspace_id == workspace_id, c.profile_id.is_not(None))
            .group_by(c.profile_id)
        )


def service_costs(session: Session, workspace_id: uuid.UUID) -> dict[str, float]:
    """What a conversation costs on each channel, from the workspace's service costs
    (``inbox/metrics_costs.py``): the channel's fixed cost plus the agents' time, its
    minutes per reply at the hourly rate times the workspace's average number of agent
    replies per conversation on that channel. Empty when no cost is set."""
    costs, _ = metrics_costs.with_version(session, workspace_id)
    if not costs.configured:
        return {}
    c, m = Conversation, Message
    replies = (
        select(m.conversation_id, func.count().label("n"))
        .where(m.workspace_id == workspace_id, m.direction == "out")
        .group_by(m.conversation_id)
        .subquery()
    )
    stmt = (
        select(c.channel, func.avg(func.coalesce(replies.c.n, 0)))
        .outerjoin(replies, replies.c.conversation_id == c.id)
        .where(c.workspace_id == workspace_id)
        .group_by(c.channel)
    )
    average = {str(ch): float(n or 0) for ch, n in session.execute(stmt)}
    hourly = float(costs.agent_hourly)
    out: dict[str, float] = {}
    for channel in CHANNELS:
        agent_time = costs.minutes(channel) / 60 * hourly * average.get(channel, 1.0)
        out[channel] = round(float(costs.fixed(channel)) + agent_time, 4)
    return out
