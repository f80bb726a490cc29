"""Alembic migrations. Run them with ``accord db upgrade``."""
