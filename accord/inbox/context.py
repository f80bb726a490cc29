"""What inbox services need besides the session: the workspace, its inbox settings, how
to sign links, and what to tell the outside world after commit (live updates, the
outbox)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.inbox.models import Conversation, ConversationEvent, Message
from accord.inbox.rules import InboxSettings
from accord.kit import changes
from accord.kit.errors import not_found
from accord.kit.signals import after_commit
from accord.kit.time import utcnow


def _nothing(*_: Any) -> None:
    return None


@dataclass
class Actor:
    """Who acts on a conversation: an agent (user), an API token or the system."""

    user_id: uuid.UUID | None
    name: str


SYSTEM = Actor(None, "Accord")
SERVICE = frozenset({"service"})


@dataclass
class InboxContext:
    workspace: Workspace
    settings: InboxSettings
    secret_key: str
    base_url: str
    publish: Callable[[uuid.UUID, dict[str, Any]], None] = field(default=_nothing)
    kick_outbox: Callable[[], None] = field(default=_nothing)

    @classmethod
    def load(
        cls,
        session: Session,
        workspace_id: uuid.UUID,
        *,
        secret_key: str,
        base_url: str,
        publish: Callable[[uuid.UUID, dict[str, Any]], None] | None = None,
        kick_outbox: Callable[[], None] | None = None,
    ) -> InboxContext:
        workspace = session.get(Workspace, workspace_id)
        if workspace is None:
            raise not_found("Workspace", field="workspace_id")
        return cls(
            workspace=workspace,
            settings=InboxSettings.of(workspace),
            secret_key=secret_key,
            base_url=base_url.rstrip("/"),
            publish=publish or _nothing,
            kick_outbox=kick_outbox or _nothing,
        )

    @property
    def workspace_id(self) -> uuid.UUID:
        return self.workspace.id

    def log(
        self,
        session: Session,
        conversation: Conversation,
        kind: str,
        actor: Actor | None = None,
        *,
        channel: str | None = None,
        data: dict[str, Any] | None = None,
        at: Any = None,
    ) -> ConversationEvent:
        row = ConversationEvent(
            workspace_id=conversation.workspace_id,
            conversation_id=conversation.id,
            kind=kind,
            actor_id=actor.user_id if actor else None,
            channel=channel,
            data={**(data or {}), **({"actor": actor.name} if actor else {})},
            at=at or utcnow(),
        )
        session.add(row)
        # Every change of a conversation is logged here: who listens (segments on
        # service facts) hears of it once committed.
        changes.note(session, conversation.workspace_id, [conversation.profile_id], SERVICE)
        return row

    def changed(
        self,
        session: Session,
        conversation: Conversation,
        what: str,
        message: Message | None = None,
        files: int = 0,
    ) -> None:
        """Tell open consoles (and chat sockets) about the change once it is committed. A
        chat message travels along, so sockets on any worker can deliver it at once."""
        payload: dict[str, Any] = {
            "type": "conversation",
            "what": what,
            "id": str(conversation.id),
            "number": conversation.number,
            "status": conversation.status,
            "assignee_id": str(conversation.assignee_id) if conversation.assignee_id else None,
        }
        if message is not None and message.channel == "chat" and message.direction != "note":
            meta = message.meta or {}
            payload["message"] = {
                "id": str(meta.get("show") or message.id),
                "direction": message.direction,
                "author": message.author_name if message.direction == "out" else None,
                "body": message.body,
                "at": message.created_at.isoformat(),
                "proactive": bool(meta.get("proactive")),
                "visitor": meta.get("visitor"),
                "files": files,
            }
        workspace_id = conversation.workspace_id
        publish = self.publish
        after_commit(session, lambda: publish(workspace_id, payload))

    def queue_outbound(self, session: Session) -> None:
        after_commit(session, self.kick_outbox)
