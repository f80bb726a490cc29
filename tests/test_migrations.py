from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from accord.kit import migrate
from accord.kit.db import create_db_engine
from accord.models import Base


def test_migrations_match_the_models(fresh_db_url: str) -> None:
    migrate.upgrade(fresh_db_url)
    engine = create_db_engine(fresh_db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(
                    conn, opts={"compare_type": True, "include_name": migrate.include_name}
                ),
                Base.metadata,
            )
        assert diff == [], diff
    finally:
        engine.dispose()


def test_downgrade_and_upgrade_again(fresh_db_url: str) -> None:
    from alembic import command

    migrate.upgrade(fresh_db_url)
    command.downgrade(migrate.alembic_config(fresh_db_url), "base")
    engine = create_db_engine(fresh_db_url)
    try:
        tables = set(inspect(engine).get_table_names()) - {"alembic_version"}
        assert tables == set()
    finally:
        engine.dispose()
    migrate.upgrade(fresh_db_url)
    assert migrate.current_heads(fresh_db_url)


def test_every_customer_table_names_its_workspace() -> None:
    """Tables of tenant data carry workspace_id; the shared ones are listed here."""
    shared = {"workspaces", "users", "login_attempts", "password_resets"}
    for table in Base.metadata.sorted_tables:
        if table.name in shared:
            continue
        assert "workspace_id" in table.c, table.name


def test_rebuilding_a_table_keeps_the_rows_that_point_at_it(fresh_db_url: str) -> None:
    """SQLite changes a table by copying it and dropping the old one; with foreign keys
    enforced, the drop would delete the rows that point at it (an order's event)."""
    from alembic import command

    from accord.govern.workspaces import service as workspaces
    from accord.kit.db import create_session_factory, transaction
    from accord.resolve import service as resolve
    from tests.resolve.test_batches import accept

    migrate.upgrade(fresh_db_url)
    engine = create_db_engine(fresh_db_url)
    try:
        with transaction(create_session_factory(engine)) as session:
            ws = workspaces.create_workspace(session, "rebuilt").workspace
            order = {"order_id": "O-1", "total": 10}
            accept(
                session,
                ws.id,
                [
                    {
                        "type": "track",
                        "userId": "u1",
                        "messageId": "o",
                        "event": "Order Completed",
                        "properties": order,
                    }
                ],
            )
            resolve.resolve_pending(session, ws.id)

        def rows() -> list[int]:
            with engine.connect() as conn:
                return [
                    conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()  # noqa: S608
                    for t in ("events", "orders")
                ]

        assert rows() == [1, 1]
        # 0007 rebuilds the events table on SQLite, down and up again.
        command.downgrade(migrate.alembic_config(fresh_db_url), "0006")
        assert rows() == [1, 1]
        migrate.upgrade(fresh_db_url)
        assert rows() == [1, 1]
        with engine.connect() as conn:  # a caller's connection enforces keys afterwards
            migrate.upgrade(connection=conn)
            if engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()
