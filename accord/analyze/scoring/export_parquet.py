"""A workspace's source tables for customer analytics as Arrow: read from the database in
chunks (what ``features_spark.from_database`` hands to Spark), or written to a folder of
parquet files, one folder per table (``export``): the layout ``features_spark.from_parquet``
reads, how a workspace beyond one machine is handed to a data lake.

The folder holds ``profiles/``, ``orders/``, ``events/`` and (with the inbox's service
rows) ``conversations/``, each a ``part-00000.parquet`` written one row group per chunk.
Ids are UUIDs in their text form (``str(uuid)``), times UTC timestamps (microseconds),
amounts decimals, as in the tables:

- ``profiles``: ``id``, ``workspace_id``, ``merged_into_id`` (every person, merged ones
  included);
- ``orders``: ``profile_id``, ``workspace_id``, ``placed_at``, ``status``, ``total``,
  ``refunded``, ``channel`` (cancelled ones included);
- ``events``: ``profile_id``, ``workspace_id``, ``timestamp``;
- ``conversations`` (columns of the service provider, ``inbox/scoring_facts_spark.py``):
  ``profile_id``, ``workspace_id``, ``created_at``, ``channel``, ``csat_score``,
  ``csat_at``, ``reopen_count``.

Orders, events and conversations are those attributed to a person (``profile_id`` set):
the others count for nobody."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TypeAlias

import pyarrow as pa
import pyarrow.parquet as pq
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.profile.models import Order, Profile

# A query of any columns.
Rows: TypeAlias = "Select[*tuple[Any, ...]]"
CHUNK = 50_000
PART = "part-00000.parquet"


class ServiceRows(Protocol):
    """The service rows (conversations) of a workspace, from the provider the edge hands
    over: a query whose columns are the ``conversations`` source's."""

    def rows(self, workspace_id: uuid.UUID) -> Rows: ...


def queries(workspace_id: uuid.UUID, service: ServiceRows | None = None) -> dict[str, Rows]:
    """The workspace's rows of each source table, by the table's folder name."""
    out: dict[str, Rows] = {
        "profiles": select(Profile.id, Profile.workspace_id, Profile.merged_into_id).where(
            Profile.workspace_id == workspace_id
        ),
        "orders": select(
            Order.profile_id,
            Order.workspace_id,
            Order.placed_at,
            Order.status,
            Order.total,
            Order.refunded,
            Order.channel,
        ).where(Order.workspace_id == workspace_id, Order.profile_id.is_not(None)),
        "events": select(Event.profile_id, Event.workspace_id, Event.timestamp).where(
            Event.workspace_id == workspace_id, Event.profile_id.is_not(None)
        ),
    }
    if service is not None:
        out["conversations"] = service.rows(workspace_id)
    return out


def schema_of(stmt: Rows) -> pa.Schema:
    """The Arrow schema of a query's columns: UUIDs as text, times as UTC timestamps,
    numerics as decimals of their precision."""
    return pa.schema([pa.field(c.name, _arrow_type(c.type)) for c in stmt.selected_columns])


def _arrow_type(sa_type: Any) -> pa.DataType:
    sa_type = getattr(sa_type, "impl_instance", sa_type)  # a decorated type: the stored one
    python = sa_type.python_type
    if python is uuid.UUID or python is str:
        return pa.string()
    if python is datetime:
        return pa.timestamp("us", tz="UTC")
    if python is Decimal:
        return pa.decimal128(sa_type.precision or 38, sa_type.scale or 0)
    if python is int:
        return pa.int64()
    if python is float:
        return pa.float64()
    if python is bool:
        return pa.bool_()
    raise TypeError(f"no Arrow type for a column of {sa_type!r}")


def batches(session: Session, stmt: Rows, chunk: int = CHUNK) -> Iterator[pa.RecordBatch]:
    """The query's rows streamed in chunks of ``chunk`` rows, each an Arrow record batch."""
    schema = schema_of(stmt)
    text = [f.type == pa.string() for f in schema]
    result = session.execute(stmt.execution_options(yield_per=chunk))
    for part in result.partitions(chunk):
        columns = list(zip(*part, strict=True))
        arrays = [
            pa.array(
                [None if v is None else str(v) for v in col] if as_text else list(col),
                type=f.type,
            )
            for col, f, as_text in zip(columns, schema, text, strict=True)
        ]
        yield pa.RecordBatch.from_arrays(arrays, schema=schema)


def read(session: Session, stmt: Rows, chunk: int = CHUNK) -> pa.Table:
    """The query's rows as one Arrow table (read in chunks)."""
    return pa.Table.from_batches(list(batches(session, stmt, chunk)), schema=schema_of(stmt))


def export(
    session: Session,
    workspace_id: uuid.UUID,
    path: str | Path,
    *,
    service: ServiceRows | None = None,
    chunk: int = CHUNK,
) -> dict[str, int]:
    """Write the workspace's source tables under ``path`` (one folder per table, replacing
    the parquet files there); returns the rows written per table."""
    written: dict[str, int] = {}
    for name, stmt in queries(workspace_id, service).items():
        folder = Path(path) / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.parquet"):
            old.unlink()
        n = 0
        with pq.ParquetWriter(folder / PART, schema_of(stmt)) as writer:
            for batch in batches(session, stmt, chunk):
                writer.write_batch(batch)
                n += batch.num_rows
        written[name] = n
    return written
