"""Customer analytics' features computed on Apache Spark, for workspaces beyond one
machine: the definitions of ``features.extract`` (orders net of refunds and not
cancelled, distinct order days, the recent window, events bounded by the lookback, the
service history and its channels) as Spark DataFrame aggregates, grouped by person and
conditional on each cutoff, joined to the live people and collected to the driver in
chunks into the same ``Frame``, so ``pipeline.compute`` gets the same input either way.

The sources are Spark DataFrames of the four tables: read from the configured database
and handed over through Arrow (``from_database``; tests and moderate sizes), or read from
a folder of parquet files (``from_parquet``; the layout ``export_parquet`` writes and
documents), local or on a data lake (``s3a://...``, ``hdfs://...``).

Times are compared as microseconds since the epoch (UTC, whatever the session's time
zone), and a day is a UTC day; dates come out as days since the epoch, as ``features``
computes them. The service history is the inbox's: its provider is handed over by the
edge (``SparkServiceFeatures``, ``inbox/scoring_facts_spark.py``). PySpark is an optional
extra (``pip install 'accord[spark]'``), imported only when Spark is used."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from sqlalchemy.orm import Session

from accord.analyze.scoring import export_parquet
from accord.analyze.scoring.features import (
    CHUNK,
    COUNTED,
    EPOCH,
    EVENT_FEATURES,
    MOMENTS,
    ORDER_FEATURES,
    Frame,
)

DAY_US = 86_400_000_000
TABLES = ("profiles", "orders", "events", "conversations")


class SparkServiceFeatures(export_parquet.ServiceRows, Protocol):
    """Customer service history per person as of each cutoff, on Spark (the inbox provides
    it): ``rows`` are the workspace's conversations as the database holds them (the
    ``conversations`` source); ``aggregate`` groups the workspace's conversations by
    ``profile_id`` into, for each cutoff ``k`` and each of ``names``, a column
    ``<name>_<k>``, then one ``channel:<channel>`` column per channel of ``channels``
    counted up to the last cutoff: the columns of ``features.ServiceFeatures``."""

    names: tuple[str, ...]
    channels: tuple[str, ...]

    def aggregate(
        self, conversations: Any, cutoffs: Sequence[datetime], recent: timedelta
    ) -> Any: ...


@dataclass(frozen=True)
class Sources:
    """Spark DataFrames of the tables features are computed from (columns as listed in
    ``export_parquet``); ``conversations`` only with a service provider."""

    profiles: Any
    orders: Any
    events: Any
    conversations: Any | None = None


def micros(value: datetime) -> int:
    """Microseconds since the epoch (UTC) of an aware datetime."""
    return (value - EPOCH) // timedelta(microseconds=1)


@contextmanager
def spark_session(master: str = "local[2]", memory: str = "4g") -> Iterator[Any]:
    """A Spark session (``local[N]`` or a cluster URL), stopped at the end; the session
    already active in this process, if any, is used as it is and left running."""
    from pyspark.sql import SparkSession

    from accord.match.engine import spark_session as match_spark_session

    active = SparkSession.getActiveSession()
    if active is not None:
        yield active
        return
    # The same session as identity resolution's (Splink's functions, a checkpoint
    # directory): one process may run both, and Spark keeps one session per process.
    session = match_spark_session(master, memory)
    session.conf.set("spark.sql.session.timeZone", "UTC")
    try:
        yield session
    finally:
        session.stop()


def from_database(
    spark: Any,
    session: Session,
    workspace_id: uuid.UUID,
    *,
    service: export_parquet.ServiceRows | None = None,
    chunk: int = CHUNK,
) -> Sources:
    """The workspace's tables read from the database in chunks of ``chunk`` rows and handed
    to Spark as Arrow tables (held by the driver: for tests and moderate sizes)."""
    frames = {
        name: spark.createDataFrame(export_parquet.read(session, stmt, chunk))
        for name, stmt in export_parquet.queries(workspace_id, service).items()
    }
    return Sources(**frames)


def from_parquet(spark: Any, path: str | Path) -> Sources:
    """The tables of a parquet export: the folders ``profiles/``, ``orders/``, ``events/``
    and ``conversations/`` under ``path`` (a local folder or a URI Spark reads), with the
    columns ``export_parquet`` lists; they may hold several workspaces."""
    root = str(path).rstrip("/")
    frames = {name: spark.read.parquet(f"{root}/{name}") for name in TABLES}
    return Sources(**frames)


def extract_spark(
    spark: Any,
    sources: Sources,
    workspace_id: uuid.UUID,
    cutoffs: Sequence[datetime],
    *,
    service: SparkServiceFeatures | None = None,
    recent: timedelta = timedelta(days=90),
    lookback: timedelta = timedelta(days=365),
    progress: Callable[[int], None] | None = None,
) -> Frame:
    """Every live person of the workspace with their features at each cutoff (ascending),
    as ``features.extract`` computes them, ordered by id; ``progress(rows)`` hears of each
    chunk collected."""
    from pyspark.sql import functions as F

    cutoffs = sorted(cutoffs)
    ws = F.col("workspace_id").cast("string") == str(workspace_id)
    people = sources.profiles.where(ws & F.col("merged_into_id").isNull()).select(
        F.col("id").cast("string").alias("id")
    )
    parts = [
        _orders(sources.orders.where(ws), cutoffs),
        _events(sources.events.where(ws), cutoffs, recent, lookback),
    ]
    names = [*ORDER_FEATURES, *EVENT_FEATURES]
    channels: tuple[str, ...] = ()
    if service is not None:
        if sources.conversations is None:
            raise ValueError("the sources have no conversations for the service history")
        served = service.aggregate(sources.conversations.where(ws), cutoffs, recent)
        parts.append(served.withColumn("profile_id", F.col("profile_id").cast("string")))
        names += list(service.names)
        channels = service.channels
    table = people
    for part in parts:
        table = table.join(part.withColumnRenamed("profile_id", "id"), on="id", how="left")

    columns = [F.col("id")]
    for name in names:
        for k in range(len(cutoffs)):
            value = F.col(f"`{name}_{k}`")
            if name in MOMENTS:  # microseconds: days since the epoch, as features computes
                value = value.cast("double") / 1e6 / 86400.0
            columns.append(value.cast("double"))
    columns += [F.col(f"`channel:{c}`").cast("double") for c in channels]
    rows = table.select(*columns).orderBy("id").toLocalIterator(prefetchPartitions=True)

    ids: list[uuid.UUID] = []
    blocks: list[np.ndarray] = []
    width = len(names) * len(cutoffs) + len(channels)
    while part := list(islice(rows, CHUNK)):
        ids.extend(uuid.UUID(row[0]) for row in part)
        # None (no such row, or no value) becomes NaN, as in features.extract.
        blocks.append(np.array([tuple(row)[1:] for row in part], dtype=np.float64))
        if progress is not None:
            progress(len(part))
    matrix = np.vstack(blocks) if blocks else np.empty((0, width))

    frame = Frame(ids=ids, cutoffs=list(cutoffs))
    n = len(cutoffs)
    for j, name in enumerate(names):
        frame.data[name] = np.ascontiguousarray(matrix[:, j * n : (j + 1) * n])
    for j, channel in enumerate(channels):
        frame.channels[channel] = np.nan_to_num(matrix[:, len(names) * n + j])
    for counts in [*COUNTED, *(service.names if service is not None else ())]:
        frame.data[counts] = np.nan_to_num(frame.data[counts])
    return frame


def _orders(orders: Any, cutoffs: Sequence[datetime]) -> Any:
    """Per person: orders not cancelled placed before the last cutoff, counted at each."""
    from pyspark.sql import functions as F

    t = F.col("t")
    placed = orders.where(
        F.col("profile_id").isNotNull() & (F.col("status") != "cancelled")
    ).select(
        F.col("profile_id").cast("string").alias("profile_id"),
        F.unix_micros(F.col("placed_at")).alias("t"),
        (F.col("total") - F.col("refunded")).alias("net"),
        F.col("refunded"),
        F.col("channel"),
    )
    placed = placed.where(t < micros(max(cutoffs)))
    day = F.floor(t / F.lit(DAY_US))
    aggs: list[Any] = []
    for k, c in enumerate(cutoffs):
        before = t < micros(c)
        aggs += [
            F.sum(F.when(before, 1).otherwise(0)).alias(f"orders_{k}"),
            F.count_distinct(F.when(before, day)).alias(f"days_{k}"),
            F.sum(F.when(before, F.col("net")).otherwise(0)).alias(f"revenue_{k}"),
            F.min(F.when(before, t)).alias(f"first_order_{k}"),
            F.max(F.when(before, t)).alias(f"last_order_{k}"),
            F.sum(F.when(before & (F.col("refunded") > 0), 1).otherwise(0)).alias(f"refunds_{k}"),
            F.count_distinct(F.when(before, F.col("channel"))).alias(f"order_channels_{k}"),
        ]
    return placed.groupBy("profile_id").agg(*aggs)


def _events(
    events: Any, cutoffs: Sequence[datetime], recent: timedelta, lookback: timedelta
) -> Any:
    """Per person: events from ``lookback`` before the first cutoff to the last, those in
    the ``recent`` window before each cutoff and the last one before it."""
    from pyspark.sql import functions as F

    t = F.col("t")
    seen = events.where(F.col("profile_id").isNotNull()).select(
        F.col("profile_id").cast("string").alias("profile_id"),
        F.unix_micros(F.col("timestamp")).alias("t"),
    )
    seen = seen.where((t >= micros(min(cutoffs) - lookback)) & (t < micros(max(cutoffs))))
    aggs: list[Any] = []
    for k, c in enumerate(cutoffs):
        within = (t >= micros(c - recent)) & (t < micros(c))
        aggs += [
            F.sum(F.when(within, 1).otherwise(0)).alias(f"events_recent_{k}"),
            F.max(F.when(t < micros(c), t)).alias(f"last_event_{k}"),
        ]
    return seen.groupBy("profile_id").agg(*aggs)
