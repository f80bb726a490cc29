"""Base of every repository: it keeps the session and owns the SQL of its domain."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Self, TypeVar

from sqlalchemy import Executable, Row, delete, select
from sqlalchemy.orm import Session

T = TypeVar("T")
# Values one IN list (or array) carries at most: a few hundred keep each statement short.
CHUNK = 500


def chunks(items: Sequence[T], size: int = CHUNK) -> Iterator[list[T]]:
    """``items`` in consecutive parts of at most ``size``."""
    for i in range(0, len(items), size):
        yield list(items[i : i + size])


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: Session) -> Self:
        return cls(session)

    def plain_rows(self, stmt: Executable) -> Sequence[Row[*tuple[Any, ...]]]:
        """A select of columns (no mapped objects) run on the session's connection: its
        rows come as they are, without the ORM's handling of each, which cost a reader of
        thousands of rows a batch as much as decoding their JSON; fetched all at once.
        Flushed first, as the session's own execute would (unless autoflush is off)."""
        if self.session.autoflush:
            self.session.flush()
        return self.session.connection().execute(stmt).all()

    def take_oldest(self, model: Any, workspace_id: uuid.UUID, limit: int) -> list[Any]:
        """The oldest ``limit`` rows of a workspace in a table of waiting work (``model``
        has ``workspace_id`` and a time-ordered ``id``), deleted as they are taken; the
        caller holds the workspace's lock for that work, so no one else takes them."""
        rows = list(
            self.session.scalars(
                select(model)
                .where(model.workspace_id == workspace_id)
                .order_by(model.id)
                .limit(limit)
            )
        )
        if rows:
            self.session.execute(
                delete(model).where(model.id.in_([r.id for r in rows])),
                execution_options={"synchronize_session": False},
            )
        return rows
