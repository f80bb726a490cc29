"""Building an inbox context and an actor from a request (API token or console user)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from accord.govern.access.models import User
from accord.govern.access.principal import Principal
from accord.govern.access.repository import MembershipRepository
from accord.inbox.context import Actor, InboxContext
from accord.kit.deps import publisher
from accord.kit.errors import invalid


def inbox_context(conn: HTTPConnection, session: Session, workspace_id: uuid.UUID) -> InboxContext:
    """The workspace's inbox, wired to this process's live broker and outbox (a request or
    a WebSocket alike)."""
    state = conn.app.state
    settings = state.settings
    outbox = getattr(state, "outbox", None)
    return InboxContext.load(
        session,
        workspace_id,
        secret_key=settings.resolved_secret_key,
        base_url=settings.base_url,
        publish=publisher(conn),
        kick_outbox=outbox.kick if outbox is not None else None,
    )


def actor_of(session: Session, principal: Principal, agent_id: uuid.UUID | None = None) -> Actor:
    """The console user, or the agent an API token says it acts for (a member of the
    workspace), or the token itself."""
    user_id = principal.user_id if principal.kind == "user" else agent_id
    if user_id is None:
        return Actor(None, principal.label)
    if MembershipRepository.from_session(session).get(principal.workspace_id, user_id) is None:
        raise invalid("That agent is not a member of this workspace", field="agent_id")
    user = session.get(User, user_id)
    return Actor(user_id, (user.name or user.email) if user else principal.label)
