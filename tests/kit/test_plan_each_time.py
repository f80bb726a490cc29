"""Every PostgreSQL connection plans each statement for its own values and the tables as
they are: a generic plan, made once a statement has been prepared and kept for the
connection's life, would be made while a workspace's tables are small and never again
(without ANALYZE), however they grow."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from accord.kit.db import create_db_engine
from tests.conftest import new_database


def _setting(url: str, name: str) -> str:
    engine = create_db_engine(url, pool_size=1)
    try:
        with engine.connect() as conn:
            return str(conn.execute(text(f"SHOW {name}")).scalar_one())
    finally:
        engine.dispose()


def test_each_statement_is_planned_for_its_values(tmp_path: Path) -> None:
    with new_database("postgresql", tmp_path, migrated=False) as url:
        assert _setting(url, "plan_cache_mode") == "force_custom_plan"


def test_options_given_in_the_url_are_kept_beside_it(tmp_path: Path) -> None:
    with new_database("postgresql", tmp_path, migrated=False) as url:
        given = f"{url}?options=-c%20statement_timeout%3D4321"
        assert _setting(given, "statement_timeout") == "4321ms"
        assert _setting(given, "plan_cache_mode") == "force_custom_plan"
