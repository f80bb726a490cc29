"""Running Alembic from code: ``accord db upgrade``, ``make demo`` and the tests."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
FILE_TEMPLATE = "%%(year)d_%%(month).2d_%%(day).2d_%%(hour).2d%%(minute).2d-%%(slug)s"


def include_name(name: str | None, type_: str, _parents: object) -> bool:
    """What Alembic compares with the models: not SQLite's FTS5 search table and its
    shadow tables (``help_fts*``), nor PostgreSQL's trigram indexes of people's names,
    emails and phones (``*_trgm``), which are made by a migration, not by a model."""
    if name is None:
        return True
    if type_ == "table" and name.startswith("help_fts"):
        return False
    return not (type_ == "index" and name.endswith("_trgm"))


def alembic_config(url: str | None = None, connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("file_template", FILE_TEMPLATE)
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def upgrade(url: str | None = None, *, connection: Connection | None = None) -> None:
    command.upgrade(alembic_config(url, connection), "head")


def current_heads(url: str) -> list[str]:
    from alembic.runtime.migration import MigrationContext

    from accord.kit.db import create_db_engine

    engine = create_db_engine(url)
    try:
        with engine.connect() as conn:
            return list(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
