"""Objects built as loaded (``as_loaded``) and held once their rows are written
(``hold``) behave as the rows the ORM loads: nothing to insert again, and a later change
flushed as an update of that column alone."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import as_loaded, hold
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository


def _values(workspace: ProvisionedWorkspace) -> dict[str, object]:
    """Every column of a person: the unset ones empty."""
    values: dict[str, object] = {c.key: None for c in Profile.__table__.columns}
    values.update(
        id=new_id(),
        workspace_id=workspace.workspace.id,
        contested=False,
        traits={"firstName": "Ada"},
        stats={},
        display_name="Ada",
        search_name="ada",
        order_count=0,
        revenue=Decimal("0"),
        created_at=utcnow(),
    )
    return values


def test_an_object_built_as_loaded_is_held_as_written_and_updated_by_its_change(
    session: Session, workspace: ProvisionedWorkspace
) -> None:
    profile = as_loaded(Profile, _values(workspace))
    profile.display_name = "Ada L."  # changed before its row is written: part of the row
    ProfileRepository.from_session(session).insert_many([profile])
    hold(session, [profile])
    assert profile in session
    assert not session.dirty
    assert not session.new

    statements: list[str] = []

    def note(_conn: object, _cursor: object, sql: str, *_rest: object) -> None:
        statements.append(sql)

    bind = session.get_bind()
    event.listen(bind, "before_cursor_execute", note)
    try:
        profile.phone = "+15550100"
        session.flush()
    finally:
        event.remove(bind, "before_cursor_execute", note)
    written = [s for s in statements if s.lstrip().upper().startswith(("INSERT", "UPDATE"))]
    assert len(written) == 1
    assert written[0].lstrip().upper().startswith("UPDATE")
    assert "phone" in written[0]
    assert "display_name" not in written[0]

    session.expire_all()
    stored = session.scalars(select(Profile).where(Profile.id == profile.id)).one()
    assert (stored.display_name, stored.phone, stored.traits) == (
        "Ada L.",
        "+15550100",
        {"firstName": "Ada"},
    )
