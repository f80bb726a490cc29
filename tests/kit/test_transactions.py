"""One transaction per request: committed before the response is sent, and rolled back
entirely when the request fails."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.app import create_app
from accord.govern.access.models import User
from accord.govern.access.principal import Principal
from accord.kit.deps import DbSession
from accord.kit.errors import invalid
from tests.helpers import Committed


def test_commit_before_response_and_rollback_on_error(committed: Committed) -> None:
    factory = committed.factory
    provisioned = committed.workspace("Acme")
    app = create_app(committed.settings())

    def write_then_fail(session: DbSession) -> None:
        from accord.govern.access import service as access

        access.add_member(
            session,
            workspace_id=provisioned.workspace.id,
            email="half@example.com",
            role="agent",
            actor=Principal.cli(provisioned.workspace.id),
        )
        raise invalid("refused after writing", field="x")

    app.add_api_route("/api/v1/test-fail", write_then_fail, methods=["POST"])

    def users(s: Session, email: str) -> int:
        return int(s.scalar(select(func.count()).select_from(User).where(User.email == email)) or 0)

    with TestClient(app) as client:
        auth = {"Authorization": f"Bearer {provisioned.api_token}"}
        created = client.post(
            "/api/v1/users", json={"email": "kept@example.com", "role": "agent"}, headers=auth
        )
        assert created.status_code == 201
        # Visible at once to another connection: committed before the 201 went out.
        with factory() as other:
            assert users(other, "kept@example.com") == 1
        failed = client.post("/api/v1/test-fail")
        assert failed.status_code == 422
        with factory() as other:
            assert users(other, "half@example.com") == 0


def test_after_commit_work_survives_a_rolled_back_savepoint(committed: Committed) -> None:
    """A savepoint rolled back (a refused form field, say) drops only what was queued
    inside it; a rollback of the whole transaction drops everything."""
    from accord.kit.signals import after_commit

    ran: list[str] = []
    with committed.factory() as session:
        session.connection()
        after_commit(session, lambda: ran.append("before"))
        try:
            with session.begin_nested():
                after_commit(session, lambda: ran.append("inside"))
                raise ValueError("refused")
        except ValueError:
            pass
        with session.begin_nested():
            after_commit(session, lambda: ran.append("kept savepoint"))
        after_commit(session, lambda: ran.append("after"))
        assert ran == []
        session.commit()
    assert ran == ["before", "kept savepoint", "after"]
    with committed.factory() as session:
        session.connection()
        after_commit(session, lambda: ran.append("never"))
        session.rollback()
        session.commit()
    assert "never" not in ran
