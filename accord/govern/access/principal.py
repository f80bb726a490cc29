"""Who is calling: an API token, a write key, a console user or the command line, and
the scopes they hold. Every service that records or checks an actor takes one."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from accord.govern.access.scopes import ALL_SCOPES, Scope
from accord.kit.errors import forbidden


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API token, a console user or the command line."""

    workspace_id: uuid.UUID
    kind: str  # "token" | "user" | "write_key" | "cli"
    label: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    user_id: uuid.UUID | None = None
    key_id: uuid.UUID | None = None
    role: str | None = None

    def has(self, scope: Scope | str) -> bool:
        return str(scope) in self.scopes

    def require(self, *scopes: Scope) -> None:
        missing = [str(s) for s in scopes if not self.has(s)]
        if missing:
            raise forbidden(
                f"This {self.kind_name} lacks the scope {', '.join(missing)}",
                code="insufficient_scope",
            )

    @property
    def kind_name(self) -> str:
        return {"token": "API token", "user": "user", "write_key": "write key"}.get(
            self.kind, self.kind
        )

    @classmethod
    def cli(cls, workspace_id: uuid.UUID) -> Principal:
        return cls(workspace_id=workspace_id, kind="cli", label="cli", scopes=frozenset(ALL_SCOPES))
