"""Customer service history for customer analytics on Apache Spark: the definitions of
``scoring_facts.ServiceHistory`` as a Spark aggregate over the workspace's conversations,
handed to ``analyze/scoring/features_spark.py`` by the edge (the CLI) like the SQL one.
PySpark is imported only when the aggregate is built."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from accord.analyze.scoring.export_parquet import Rows
from accord.analyze.scoring.features_spark import micros
from accord.inbox import rules
from accord.inbox.models import Conversation
from accord.inbox.scoring_facts import CHANNELS, LOW_CSAT, ServiceHistory


class SparkServiceHistory:
    """Per person and cutoff: conversations, those in the recent window, low CSAT ratings
    and reopened conversations; and the conversations by channel up to the last cutoff
    (any other channel counted as ``other``), as ``ServiceHistory`` counts them."""

    names: tuple[str, ...] = ServiceHistory.names
    channels: tuple[str, ...] = CHANNELS

    def rows(self, workspace_id: uuid.UUID) -> Rows:
        """The columns of the ``conversations`` source, for the workspace's conversations
        with a person."""
        c = Conversation
        return select(
            c.profile_id,
            c.workspace_id,
            c.created_at,
            c.channel,
            c.csat_score,
            c.csat_at,
            c.reopen_count,
        ).where(c.workspace_id == workspace_id, c.profile_id.is_not(None))

    def aggregate(self, conversations: Any, cutoffs: Sequence[datetime], recent: timedelta) -> Any:
        """The workspace's conversations (a Spark DataFrame) grouped by ``profile_id``."""
        from pyspark.sql import functions as F

        t, rated = F.col("t"), F.col("rated")
        rows = conversations.where(F.col("profile_id").isNotNull()).select(
            F.col("profile_id").cast("string").alias("profile_id"),
            F.unix_micros(F.col("created_at")).alias("t"),
            F.unix_micros(F.col("csat_at")).alias("rated"),
            F.col("csat_score"),
            F.col("reopen_count"),
            F.col("channel"),
        )
        aggs: list[Any] = []
        for k, cut in enumerate(cutoffs):
            before = t < micros(cut)
            aggs += [
                F.sum(F.when(before, 1).otherwise(0)).alias(f"conversations_{k}"),
                F.sum(F.when(before & (t >= micros(cut - recent)), 1).otherwise(0)).alias(
                    f"conversations_recent_{k}"
                ),
                F.sum(
                    F.when((rated < micros(cut)) & (F.col("csat_score") <= LOW_CSAT), 1).otherwise(
                        0
                    )
                ).alias(f"low_csat_{k}"),
                F.sum(F.when(before & (F.col("reopen_count") > 0), 1).otherwise(0)).alias(
                    f"reopened_{k}"
                ),
            ]
        last = micros(max(cutoffs))
        for channel in CHANNELS:
            if channel == "other":
                hit = ~F.col("channel").isin(*rules.CHANNELS)
            else:
                hit = F.col("channel") == channel
            aggs.append(F.sum(F.when((t < last) & hit, 1).otherwise(0)).alias(f"channel:{channel}"))
        return rows.groupBy("profile_id").agg(*aggs)
