"""Base of every repository: it keeps the session and owns the SQL of its domain."""

from __future__ import annotations

from typing import Self

from sqlalchemy.orm import Session


class Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    @classmethod
    def from_session(cls, session: Session) -> Self:
        return cls(session)
