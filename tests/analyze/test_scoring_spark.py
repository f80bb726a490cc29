"""Customer analytics' features on a local Spark session: on a small shop with the cases
the definitions turn on (cancelled and refunded orders, two orders a day, orders and
events on a cutoff or the lookback's bound, a merged person, another workspace, service
on another channel), the Spark frame is the database's at three cutoffs, read from the
database and from a parquet export; and `accord scores recompute --engine spark` scores
a workspace end to end on SQLite, from the database and from an export.

Skipped without Java (or PySpark), and failing instead with ACCORD_TEST_SPARK=required,
as CI sets it. One Spark session serves the module."""

from __future__ import annotations

import importlib.util
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accord.analyze.scoring import export_parquet, features, features_spark
from accord.analyze.scoring.models import CustomerScore, ScoringRun
from accord.cli.main import app as cli
from accord.collect.models import Event
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.inbox.models import Conversation
from accord.inbox.scoring_facts import ServiceHistory
from accord.inbox.scoring_facts_spark import SparkServiceHistory
from accord.kit.db import create_db_engine, create_session_factory
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.profile.models import Order, Profile
from tests.analyze.shop import seed_shop
from tests.helpers import provision

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CUTOFFS = [NOW - timedelta(days=180), NOW - timedelta(days=90), NOW]
RECENT, LOOKBACK = timedelta(days=90), timedelta(days=365)
runner = CliRunner()


def _need_spark() -> None:
    missing = None
    if shutil.which("java") is None:
        missing = "Spark needs Java"
    elif importlib.util.find_spec("pyspark") is None:
        missing = "PySpark is not installed (the spark extra)"
    if missing is None:
        return
    if os.environ.get("ACCORD_TEST_SPARK", "").lower() == "required":
        pytest.fail(f"{missing} (ACCORD_TEST_SPARK=required)")
    pytest.skip(missing)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    _need_spark()
    with features_spark.spark_session("local[2]", "1g") as session:
        session.conf.set("spark.sql.shuffle.partitions", "2")
        yield session


def _person(
    session: Session, workspace_id: uuid.UUID, merged_into: uuid.UUID | None = None
) -> uuid.UUID:
    pid = new_id()
    session.add(
        Profile(
            id=pid,
            workspace_id=workspace_id,
            merged_into_id=merged_into,
            traits={},
            stats={},
            order_count=0,
            revenue=Decimal("0"),
        )
    )
    session.flush()
    return pid


def _event(
    session: Session, workspace_id: uuid.UUID, pid: uuid.UUID | None, at: datetime
) -> uuid.UUID:
    eid = new_id()
    session.add(
        Event(
            id=eid,
            workspace_id=workspace_id,
            message_id=uuid.uuid4().hex,
            type="track",
            name="Order Completed",
            channel="web",
            source="test",
            identifiers=[],
            timestamp=at,
            received_at=at,
            status="resolved",
            profile_id=pid,
        )
    )
    return eid


def _order(
    session: Session,
    workspace_id: uuid.UUID,
    pid: uuid.UUID | None,
    at: datetime,
    total: str,
    *,
    refunded: str = "0",
    status: str = "placed",
    channel: str = "web",
) -> None:
    event_id = _event(session, workspace_id, pid, at)
    session.add(
        Order(
            id=new_id(),
            workspace_id=workspace_id,
            order_id=uuid.uuid4().hex[:16],
            event_id=event_id,
            profile_id=pid,
            placed_at=at,
            channel=channel,
            currency="USD",
            total=Decimal(total),
            refunded=Decimal(refunded),
            status=status,
            items=[],
        )
    )


def _conversation(
    session: Session,
    workspace_id: uuid.UUID,
    pid: uuid.UUID,
    at: datetime,
    channel: str,
    *,
    csat: int | None = None,
    reopened: int = 0,
) -> None:
    session.add(
        Conversation(
            id=new_id(),
            workspace_id=workspace_id,
            number=900_000 + session.scalar(select(func.count()).select_from(Conversation)),
            profile_id=pid,
            subject="Edge",
            status="resolved",
            channel=channel,
            last_channel=channel,
            created_at=at,
            last_message_at=at,
            csat_score=csat,
            csat_at=at + timedelta(hours=1) if csat is not None else None,
            reopen_count=reopened,
        )
    )
    session.flush()


def add_edges(session: Session, ws: uuid.UUID, other: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    """A person on the definitions' edges and one seen only before the lookback (both
    returned), a person merged into the first, an order of nobody, and a person of
    another workspace."""
    edge = _person(session, ws)
    day = datetime(2026, 1, 10, tzinfo=UTC)
    _order(session, ws, edge, day + timedelta(hours=1), "10.00")
    _order(session, ws, edge, day + timedelta(hours=23, minutes=59), "20.00", channel="store")
    _order(session, ws, edge, day + timedelta(days=1, seconds=1), "50.00", refunded="20.00")
    _order(session, ws, edge, day + timedelta(days=2), "999.00", status="cancelled")
    _order(session, ws, edge, CUTOFFS[1], "7.50", channel="app")  # on a cutoff
    _event(session, ws, edge, CUTOFFS[0] - LOOKBACK)  # on the lookback's bound: counted
    _event(session, ws, edge, CUTOFFS[2] - RECENT)  # opens the last recent window
    # (events: each order's, cancelled or not, and these two)
    _conversation(session, ws, edge, CUTOFFS[1], "whatsapp", csat=1, reopened=1)
    _conversation(session, ws, edge, day, "social", csat=3)
    _conversation(session, ws, edge, day + timedelta(days=3), "email")
    lapsed = _person(session, ws)
    _event(session, ws, lapsed, CUTOFFS[0] - LOOKBACK - timedelta(microseconds=1))
    merged = _person(session, ws, merged_into=edge)
    _order(session, ws, merged, day, "30.00")
    _order(session, ws, None, day, "40.00")
    stranger = _person(session, other)
    _order(session, other, stranger, day, "60.00")
    session.flush()
    return edge, lapsed


def assert_same(got: features.Frame, want: features.Frame) -> None:
    assert len(got.ids) == len(set(got.ids))
    assert sorted(got.ids) == sorted(want.ids)
    assert got.cutoffs == want.cutoffs
    where = {pid: i for i, pid in enumerate(want.ids)}
    order = [where[pid] for pid in got.ids]
    assert list(got.data) == list(want.data)
    for name, values in want.data.items():
        assert got.data[name].shape == values.shape, name
        np.testing.assert_allclose(
            got.data[name], values[order], rtol=1e-12, equal_nan=True, err_msg=name
        )
    assert list(got.channels) == list(want.channels)
    for name, values in want.channels.items():
        np.testing.assert_array_equal(got.channels[name], values[order], err_msg=name)


def test_spark_computes_the_databases_features_from_the_database_and_an_export(
    spark: Any,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = workspace.workspace.id
    seed_shop(session, ws, NOW, customers=80, browsers=10)
    edge, lapsed = add_edges(session, ws, other_workspace.workspace.id)
    want = features.extract(session, ws, CUTOFFS, service=ServiceHistory())
    assert len(want) == 80 + 10 + 2

    # The edges are in the database's frame: what Spark has to compute alike.
    i = want.ids.index(edge)
    assert want.data["orders"][i].tolist() == [0, 3, 4]
    assert want.data["days"][i].tolist() == [0, 2, 3]
    assert want.data["revenue"][i].tolist() == [0, 60, 67.5]
    assert want.data["refunds"][i].tolist() == [0, 1, 1]
    assert want.data["order_channels"][i].tolist() == [0, 2, 3]
    assert np.isnan(want.data["first_order"][i, 0])
    assert want.data["events_recent"][i].tolist() == [0, 4, 2]
    assert want.data["last_event"][i, 0] == features.days_since_epoch(CUTOFFS[0] - LOOKBACK)
    assert want.data["conversations"][i].tolist() == [0, 2, 3]
    assert want.data["low_csat"][i].tolist() == [0, 0, 1]
    assert want.channels["other"][i] == 1
    assert want.channels["social"][i] == 1
    assert np.isnan(want.data["last_event"][want.ids.index(lapsed)]).all()

    history = SparkServiceHistory()
    monkeypatch.setattr(features_spark, "CHUNK", 25)  # collected in several chunks
    read = []
    sources = features_spark.from_database(spark, session, ws, service=history, chunk=100)
    got = features_spark.extract_spark(
        spark,
        sources,
        ws,
        CUTOFFS,
        service=history,
        recent=RECENT,
        lookback=LOOKBACK,
        progress=read.append,
    )
    assert_same(got, want)
    assert got.ids == sorted(got.ids, key=str)
    assert sum(read) == len(want)
    assert len(read) == 4

    lake = tmp_path / "lake"
    written = export_parquet.export(session, ws, lake, service=history, chunk=100)
    assert written["profiles"] == len(want) + 1  # the merged person too
    assert sorted(p.name for p in lake.iterdir()) == sorted(features_spark.TABLES)
    # Instants, not wall-clock times: the session's time zone changes nothing.
    spark.conf.set("spark.sql.session.timeZone", "Pacific/Auckland")
    try:
        from_lake = features_spark.extract_spark(
            spark,
            features_spark.from_parquet(spark, lake),
            ws,
            CUTOFFS,
            service=history,
            recent=RECENT,
            lookback=LOOKBACK,
        )
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert_same(from_lake, want)


@pytest.fixture
def sqlite_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite:///{tmp_path / 'accord.db'}"
    monkeypatch.setenv("ACCORD_DATABASE_URL", url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    return url


def _scores(factory: Any, ws: uuid.UUID) -> dict[uuid.UUID, tuple[Any, ...]]:
    with factory() as session:
        rows = session.execute(
            select(
                CustomerScore.profile_id,
                CustomerScore.frequency,
                CustomerScore.monetary,
                CustomerScore.rfm_group,
                CustomerScore.conversations,
            ).where(CustomerScore.workspace_id == ws)
        )
        return {r[0]: tuple(r[1:]) for r in rows}


def test_accord_scores_recompute_on_spark_from_the_database_and_an_export(
    spark: Any, sqlite_cli: str, tmp_path: Path
) -> None:
    engine = create_db_engine(sqlite_cli)
    factory = create_session_factory(engine)
    try:
        with factory() as session:
            ws = provision(session, "Acme")
            seed_shop(session, ws.workspace.id, utcnow(), customers=80, browsers=10)
            session.commit()
            export_parquet.export(
                session, ws.workspace.id, tmp_path / "lake", service=SparkServiceHistory()
            )
        slug, ws_id = ws.workspace.slug, ws.workspace.id

        on_sql = runner.invoke(cli, ["scores", "recompute", "--workspace", slug])
        assert on_sql.exit_code == 0, on_sql.output
        by_sql = _scores(factory, ws_id)
        on_spark = runner.invoke(
            cli, ["scores", "recompute", "--workspace", slug, "--engine", "spark"]
        )
        assert on_spark.exit_code == 0, on_spark.output
        assert "Scored 90 people" in on_spark.output
        assert _scores(factory, ws_id) == by_sql
        lake = tmp_path / "lake"
        from_lake = runner.invoke(
            cli,
            [
                "scores",
                "recompute",
                "--workspace",
                slug,
                "--engine",
                "spark",
                "--source",
                str(lake),
            ],
        )
        assert from_lake.exit_code == 0, from_lake.output
        assert _scores(factory, ws_id) == by_sql
        with factory() as session:
            runs = session.scalars(select(ScoringRun).where(ScoringRun.workspace_id == ws_id))
            assert [(r.status, r.people) for r in runs] == [("done", 90)] * 3
        assert spark.getActiveSession() is not None  # the CLI left the session it found
    finally:
        engine.dispose()


def test_accord_scores_recompute_refuses_an_unknown_engine_or_a_source_without_spark() -> None:
    bad = runner.invoke(cli, ["scores", "recompute", "--workspace", "x", "--engine", "oracle"])
    assert bad.exit_code == 2
    sql = runner.invoke(cli, ["scores", "recompute", "--workspace", "x", "--source", "/tmp/x"])
    assert sql.exit_code == 2
    assert "--source needs spark" in sql.output
