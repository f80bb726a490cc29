"""What a chat visitor may see of their conversation: the chat from when they joined it
(agents' chat messages and their own; never notes, other channels or other visitors'
messages), its files, and its state, shaped as the widget receives them."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.chat.models import ChatVisitor
from accord.chat.repository import ChatMessageRepository
from accord.inbox.models import Attachment, Message
from accord.inbox.repository import ConversationRepository
from accord.kit.errors import not_found


def file_url(visitor: ChatVisitor, attachment: Attachment, token: str) -> str:
    return f"/v1/chat/files/{attachment.id}?visitor={visitor.id}&token={token}"


def message_payload(
    m: Message, files: list[Attachment], visitor: ChatVisitor, token: str
) -> dict[str, Any]:
    meta = m.meta or {}
    return {
        # A proactive message keeps the id the widget first showed it under.
        "id": str(meta.get("show") or m.id),
        "direction": m.direction,
        "author": m.author_name if m.direction == "out" else None,
        "body": m.body,
        "at": m.created_at.isoformat(),
        "proactive": bool(meta.get("proactive")),
        "files": [
            {
                "id": str(a.id),
                "name": a.filename,
                "size": a.size,
                "type": a.content_type,
                "url": file_url(visitor, a, token),
            }
            for a in files
        ],
    }


def visible_messages(session: Session, visitor: ChatVisitor) -> list[Message]:
    """The chat of the visitor's conversation from when they joined it: what agents
    wrote on chat and what this visitor wrote. Notes, other channels and other
    visitors' messages never show."""
    if visitor.conversation_id is None:
        return []
    rows = ChatMessageRepository.from_session(session).visible(
        visitor.conversation_id, visitor.conversation_since
    )
    me = str(visitor.id)
    return [m for m in rows if m.direction == "out" or (m.meta or {}).get("visitor") == me]


def history(session: Session, visitor: ChatVisitor, token: str) -> list[dict[str, Any]]:
    rows = visible_messages(session, visitor)
    files: dict[uuid.UUID, list[Attachment]] = {}
    for a in ChatMessageRepository.from_session(session).attachments([m.id for m in rows]):
        files.setdefault(a.message_id, []).append(a)
    return [message_payload(m, files.get(m.id, []), visitor, token) for m in rows]


def conversation_state(session: Session, visitor: ChatVisitor) -> dict[str, Any] | None:
    if visitor.conversation_id is None:
        return None
    c = ConversationRepository.from_session(session).get(
        visitor.workspace_id, visitor.conversation_id
    )
    if c is None:
        return None
    return {
        "status": c.status,
        "rated": c.csat_score is not None,
        "agent_read_at": visitor.agent_read_at.isoformat() if visitor.agent_read_at else None,
    }


def file_for_visitor(
    session: Session, visitor: ChatVisitor, attachment_id: uuid.UUID
) -> Attachment:
    """A file of a message the visitor can see; anything else is not found."""
    row = ChatMessageRepository.from_session(session).attachment(
        visitor.workspace_id, attachment_id
    )
    if row is None:
        raise not_found("File", field="attachment_id")
    if row.message_id not in {m.id for m in visible_messages(session, visitor)}:
        raise not_found("File", field="attachment_id")
    return row
