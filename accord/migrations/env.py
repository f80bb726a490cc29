from __future__ import annotations

from typing import Any

from alembic import context
from sqlalchemy import Connection

import accord.models  # noqa: F401  (fills the metadata)
from accord.config import get_settings
from accord.kit import migrate
from accord.kit.db import Base, create_db_engine

config = context.config
target_metadata = Base.metadata


def _configure(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        compare_type=True,
        include_name=migrate.include_name,
        render_as_batch=connection.dialect.name == "sqlite",
    )


def _migrate(connection: Connection) -> None:
    """Run the migrations. SQLite changes a table by building a new one and dropping the
    old, and dropping a table with foreign keys enforced would first delete its rows and
    cascade to the rows that point at them: as SQLite's documentation prescribes,
    enforcement is off while the migrations run (it can only change outside a
    transaction) and the keys are checked before it is on again."""
    sqlite = connection.dialect.name == "sqlite" and not connection.in_transaction()
    driver: Any = connection.connection.driver_connection
    if sqlite:
        driver.execute("PRAGMA foreign_keys=OFF")
    try:
        _configure(connection)
        with context.begin_transaction():
            context.run_migrations()
            if sqlite:
                broken = connection.exec_driver_sql("PRAGMA foreign_key_check").all()
                if broken:
                    raise RuntimeError(f"the migration broke foreign keys: {broken[:5]}")
        if sqlite and connection.in_transaction():  # begun here, by the migration context
            connection.commit()
    except BaseException:
        if sqlite and connection.in_transaction():
            connection.rollback()
        raise
    finally:
        if sqlite:
            driver.execute("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _migrate(connection)
        return
    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
    engine = create_db_engine(url)
    with engine.connect() as conn:
        _migrate(conn)
    engine.dispose()


def run_migrations_offline() -> None:
    url = config.get_main_option("sqlalchemy.url") or get_settings().resolved_database_url
    context.configure(url=url, target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
