"""Where Splink runs: DuckDB in memory (capped, spilling to disk) or a Spark session,
the tables a run registers there, and their removal from a session that outlives it."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

import pyarrow as pa

log = logging.getLogger("accord.match.engine")
Engine = Literal["duckdb", "spark"]
DUCKDB_MEMORY = "3GB"


def silence_splink() -> None:
    for name in ("splink", "py4j"):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def backend(engine: Engine, spark: Any = None) -> Iterator[Any]:
    """A Splink database API: DuckDB in memory, or the given (or a local) Spark session."""
    if engine == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        con = duckdb.connect()
        con.execute("SET preserve_insertion_order = false")
        # Spill to disk rather than grow past a few GB on large workspaces.
        con.execute(f"SET memory_limit = '{DUCKDB_MEMORY}'")
        con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/accord-duckdb'")
        try:
            yield DuckDBAPI(connection=con)
        finally:
            con.close()
        return
    from splink import SparkAPI

    owned = spark is None
    session = spark if spark is not None else spark_session()
    try:
        yield SparkAPI(spark_session=session)  # type: ignore[no-untyped-call]
    finally:
        if owned:
            session.stop()


def spark_session(master: str = "local[2]", memory: str = "4g") -> Any:
    """A Spark session (local[N] or a cluster URL) with Splink's similarity functions and a
    checkpoint directory."""
    from pyspark.sql import SparkSession
    from splink.backends.spark import similarity_jar_location

    session = (
        SparkSession.builder.master(master)
        .appName("accord-resolve")
        .config("spark.jars", similarity_jar_location())
        .config("spark.driver.memory", memory)
        .config("spark.sql.shuffle.partitions", "4" if master.startswith("local") else "200")
        .config("spark.sql.adaptive.enabled", "true")
        .config("spark.ui.enabled", "false")
        # The command shows its own progress; Spark's stage bars would write over it.
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    session.sparkContext.setCheckpointDir(tempfile.mkdtemp(prefix="accord-spark-"))
    return session


def register(db_api: Any, table: pa.Table, engine: Engine, name: str) -> Any:
    if engine == "spark":
        frame = db_api.spark.createDataFrame(table.to_pylist(), schema=_spark_schema(table))
        return db_api.register(frame, table_name=name)
    return db_api.register(table, table_name=name)


def _spark_schema(table: pa.Table) -> Any:
    from pyspark.sql.types import (
        ArrayType,
        DataType,
        DoubleType,
        LongType,
        StringType,
        StructField,
        StructType,
    )

    def spark_type(kind: pa.DataType) -> DataType:
        if pa.types.is_floating(kind):
            return DoubleType()
        if pa.types.is_integer(kind):
            return LongType()
        if pa.types.is_list(kind):  # the name-pair ids a blocking rule explodes
            return ArrayType(spark_type(kind.value_type), True)
        return StringType()

    return StructType([StructField(f.name, spark_type(f.type), True) for f in table.schema])


def drop(db_api: Any, registered: list[Any], engine: Engine) -> None:
    """The tables this run registered leave a Spark session with it, whether it failed or
    not: the session may outlive the run, and a table left behind would be in the way of
    the next. (A DuckDB connection is the run's own, closed with it.)"""
    if engine != "spark":
        return
    for frame in reversed(registered):
        try:
            db_api.spark.catalog.dropTempView(frame.physical_name)
            db_api.remove_splinkdataframe_from_cache(frame)
        except Exception as exc:  # the session may be gone already
            log.debug("could not drop %s: %s", frame.physical_name, exc)


def register_tf(
    db_api: Any,
    linker: Any,
    tf: dict[str, dict[str, float]],
    table: pa.Table,
    engine: Engine,
    suffix: str,
    registered: list[Any],
) -> None:
    """Term frequencies of the whole workspace for the few values in ``table``."""
    for name, freqs in tf.items():
        if name not in table.column_names:
            continue
        rare = freqs.get("", 1e-6)
        values = sorted({v for v in table.column(name).to_pylist() if v})
        if not values:
            continue
        lookup = pa.table(
            {
                name: pa.array(values, type=pa.string()),
                f"tf_{name}": pa.array([freqs.get(v, rare) for v in values], type=pa.float64()),
            }
        )
        frame = register(db_api, lookup, engine, f"accord_tf_{name}_{suffix}")
        registered.append(frame)
        linker.table_management.register_term_frequency_lookup(frame, name)
