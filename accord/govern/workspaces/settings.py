"""Workspace settings, in typed groups.

``Workspace.settings`` is one JSON object holding one entry per group ("chat", "inbox",
"email", "identity", "match", ...), plus each group's version under ``"versions"``. A group
is declared once, by the package that owns it, as a ``SettingsGroup`` with a Pydantic
model; that package's service is the one place that writes it, through ``write``:

- the value is validated by the model (an invalid one never reaches the database);
- ``expected_version``, when given, must match the stored version, or the write fails with
  409 ``settings_version_conflict`` (two admins editing at once do not silently overwrite
  each other); each write bumps the version;
- the row is locked and read afresh before it is changed, so writes of two different
  groups never lose one another;
- the change is audited (``settings.<group>.update``) with the fields that changed.

Readers call ``read``: a stored value the model no longer accepts falls back to the
model's defaults rather than failing a page.

Over the API a group reads as its fields plus ``version`` (``current``), and a ``PUT``
sends its fields plus, optionally, the ``version`` it read (``write_versioned``): the
group's API models are its model with a ``Versioned`` field mixed in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.audit import service as audit
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.repository import WorkspaceRepository
from accord.govern.workspaces.service import get_workspace
from accord.kit.errors import AccordError, FieldError, not_found

log = logging.getLogger(__name__)
VERSIONS = "versions"
M = TypeVar("M", bound=BaseModel)


def field_of(loc: tuple[int | str, ...]) -> str:
    """A validation error's location as a field name: ``vip_rules[0].op``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part != "[key]":
            out += f".{part}" if out else str(part)
    return out or "body"


def invalid_settings(exc: ValidationError) -> AccordError:
    """Settings that do not validate: 422 naming the first field at fault, with all (a
    model's own check says its words without pydantic's "Value error, " before them)."""
    errors = [
        FieldError(field_of(e["loc"]), "invalid", str(e["msg"]).removeprefix("Value error, "))
        for e in exc.errors()
    ]
    first = errors[0]
    return AccordError(f"{first.field}: {first.message}", "invalid", 422, first.field, errors)


class Versioned(BaseModel):
    """Mixed into a group's API models: the version read, or the one a write expects."""

    version: int | None = Field(
        default=None,
        description="The settings' version: sent back on a write, it must still be current",
    )


def stored(workspace: Workspace, name: str) -> dict[str, Any]:
    """A group's stored value by its name, for a package below the group's owner that
    only asks whether something is set up (the inbox: whether the workspace can text)."""
    value = (workspace.settings or {}).get(name)
    return dict(value) if isinstance(value, dict) else {}


class SettingsGroup(Generic[M]):
    """One named group of a workspace's settings, with its model."""

    def __init__(self, name: str, model: type[M], *, secret_fields: frozenset[str] = frozenset()):
        if name == VERSIONS:
            raise ValueError(f"{VERSIONS!r} is reserved")
        self.name = name
        self.model = model
        # Fields whose values are never written to the audit log (passwords, keys).
        self.secret_fields = secret_fields

    def raw(self, workspace: Workspace) -> dict[str, Any]:
        return stored(workspace, self.name)

    def read(self, workspace: Workspace) -> M:
        try:
            return self.model.model_validate(self.raw(workspace))
        except ValidationError:
            log.warning("workspace %s: stored %s settings are invalid", workspace.id, self.name)
            return self.model()

    def version(self, workspace: Workspace) -> int:
        versions = (workspace.settings or {}).get(VERSIONS) or {}
        return int(versions.get(self.name, 0))

    def write(
        self,
        session: Session,
        workspace: Workspace,
        value: M,
        *,
        actor: Principal,
        expected_version: int | None = None,
    ) -> M:
        """Store ``value`` as the group's new settings (see the module's docstring)."""
        value = self.model.model_validate(value.model_dump())
        locked = WorkspaceRepository.from_session(session).lock(workspace.id)
        if locked is None:
            raise not_found("Workspace", field="workspace_id")
        current = self.version(locked)
        if expected_version is not None and expected_version != current:
            raise AccordError(
                f"The {self.name} settings were changed by someone else (version {current},"
                f" not {expected_version}); reload them and try again",
                code="settings_version_conflict",
                status=409,
                field="version",
            )
        before = self.raw(locked)
        after = value.model_dump(mode="json")
        settings = dict(locked.settings or {})
        settings[self.name] = after
        settings[VERSIONS] = {**(settings.get(VERSIONS) or {}), self.name: current + 1}
        locked.settings = settings
        changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
        audit.record(
            session,
            actor,
            f"settings.{self.name}.update",
            target=str(workspace.id),
            data={
                "version": current + 1,
                "changed": changed,
                "values": {k: after.get(k) for k in changed if k not in self.secret_fields},
            },
        )
        session.flush()
        return value

    def current(self, workspace: Workspace) -> dict[str, Any]:
        """The group's settings and version, as the API answers them."""
        return {**self.read(workspace).model_dump(mode="json"), "version": self.version(workspace)}

    def read_with_version(self, session: Session, workspace_id: uuid.UUID) -> tuple[M, int]:
        """The settings of the workspace with this id, and their version."""
        workspace = get_workspace(session, workspace_id)
        return self.read(workspace), self.version(workspace)

    def save(
        self,
        session: Session,
        workspace_id: uuid.UUID,
        raw: Mapping[str, Any],
        *,
        actor: Principal,
        expected_version: int | None = None,
        schema: type[BaseModel] | None = None,
    ) -> tuple[M, int]:
        """Replace the settings from a form or a body: validated by ``schema`` (stricter
        than the model, e.g. refusing unknown keys) or the model, 422 naming the field;
        then ``write``. Returns them with their new version."""
        try:
            given = (schema or self.model).model_validate(dict(raw))
        except ValidationError as exc:
            raise invalid_settings(exc) from None
        workspace = get_workspace(session, workspace_id)
        value = self.model.model_validate(given.model_dump())
        stored = self.write(
            session, workspace, value, actor=actor, expected_version=expected_version
        )
        return stored, self.version(workspace)

    def current_of(self, session: Session, workspace_id: uuid.UUID) -> dict[str, Any]:
        """``current`` of the workspace with this id."""
        return self.current(get_workspace(session, workspace_id))

    def write_body(self, session: Session, actor: Principal, body: BaseModel) -> dict[str, Any]:
        """``write_versioned`` in the actor's workspace."""
        workspace = get_workspace(session, actor.workspace_id)
        return self.write_versioned(session, workspace, body, actor=actor)

    def write_versioned(
        self, session: Session, workspace: Workspace, body: BaseModel, *, actor: Principal
    ) -> dict[str, Any]:
        """Write an API body (the group's fields plus an optional ``version``) and answer
        as ``current``."""
        fields = body.model_dump(exclude={"version"})
        expected = getattr(body, "version", None)
        self.write(
            session,
            workspace,
            self.model.model_validate(fields),
            actor=actor,
            expected_version=expected,
        )
        return self.current(workspace)
