from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from accord.kit import migrate
from accord.kit.db import create_db_engine
from accord.models import Base


def test_migrations_match_the_models(fresh_db_url: str) -> None:
    migrate.upgrade(fresh_db_url)
    engine = create_db_engine(fresh_db_url)
    try:
        with engine.connect() as conn:
            diff = compare_metadata(
                MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
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
    shared = {"workspaces", "users", "login_attempts"}
    for table in Base.metadata.sorted_tables:
        if table.name in shared:
            continue
        assert "workspace_id" in table.c, table.name
