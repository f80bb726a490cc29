"""Base of every repository: it keeps the session and owns the SQL of its domain."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Self, TypeVar

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
