"""SQL of live chat: visitors, the messages a visitor may see, triggers and what they
showed."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update

from accord.chat.models import ChatTrigger, ChatTriggerShow, ChatVisitor
from accord.govern.access.models import Membership
from accord.inbox.models import AgentState, Attachment, ConversationEvent, Message
from accord.kit.repository import Repository
from accord.profile.models import Order
from accord.resolve.models import Identifier


class VisitorRepository(Repository):
    def get(self, workspace_id: uuid.UUID, visitor_id: uuid.UUID) -> ChatVisitor | None:
        row = self.session.get(ChatVisitor, visitor_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def unclaimed(
        self, workspace_id: uuid.UUID, anonymous_id: str, since: datetime
    ) -> ChatVisitor | None:
        """The newest visitor of this anonymous id made since ``since`` that holds
        nothing yet: no page told, no conversation, no identity."""
        stmt = (
            select(ChatVisitor)
            .where(
                ChatVisitor.workspace_id == workspace_id,
                ChatVisitor.anonymous_id == anonymous_id,
                ChatVisitor.created_at >= since,
                ChatVisitor.page_views == 0,
                ChatVisitor.conversation_id.is_(None),
                ChatVisitor.user_id.is_(None),
                ChatVisitor.email.is_(None),
            )
            .order_by(ChatVisitor.created_at.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def touch(self, workspace_id: uuid.UUID, visitor_id: uuid.UUID, now: datetime) -> None:
        self.session.execute(
            update(ChatVisitor)
            .where(ChatVisitor.workspace_id == workspace_id, ChatVisitor.id == visitor_id)
            .values(last_seen_at=now)
        )

    def online(
        self, workspace_id: uuid.UUID, since: datetime, limit: int = 200
    ) -> list[ChatVisitor]:
        stmt = (
            select(ChatVisitor)
            .where(ChatVisitor.workspace_id == workspace_id, ChatVisitor.last_seen_at >= since)
            .order_by(ChatVisitor.last_seen_at.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def count_online(self, workspace_id: uuid.UUID, since: datetime) -> int:
        stmt = select(func.count()).where(
            ChatVisitor.workspace_id == workspace_id, ChatVisitor.last_seen_at >= since
        )
        return int(self.session.scalar(stmt) or 0)

    def of_conversation(self, conversation_id: uuid.UUID) -> list[ChatVisitor]:
        stmt = select(ChatVisitor).where(ChatVisitor.conversation_id == conversation_id)
        return list(self.session.scalars(stmt.limit(20)))

    def profile_of(self, workspace_id: uuid.UUID, anonymous_id: str) -> uuid.UUID | None:
        stmt = select(Identifier.profile_id).where(
            Identifier.workspace_id == workspace_id,
            Identifier.type == "anonymous_id",
            Identifier.value == anonymous_id,
        )
        return self.session.scalars(stmt).first()

    def profiles_of(
        self, workspace_id: uuid.UUID, anonymous_ids: Collection[str]
    ) -> dict[str, uuid.UUID]:
        if not anonymous_ids:
            return {}
        stmt = select(Identifier.value, Identifier.profile_id).where(
            Identifier.workspace_id == workspace_id,
            Identifier.type == "anonymous_id",
            Identifier.value.in_(list(anonymous_ids)),
        )
        return {value: pid for value, pid in self.session.execute(stmt) if pid is not None}


class ChatMessageRepository(Repository):
    def visible(
        self, conversation_id: uuid.UUID, since: datetime | None, limit: int = 200
    ) -> list[Message]:
        """The conversation's chat messages in and out (never notes) from ``since`` on."""
        stmt = select(Message).where(
            Message.conversation_id == conversation_id,
            Message.channel == "chat",
            Message.direction.in_(("in", "out")),
        )
        if since is not None:
            stmt = stmt.where(Message.created_at >= since)
        stmt = stmt.order_by(Message.created_at.desc(), Message.id.desc()).limit(limit)
        return list(reversed(list(self.session.scalars(stmt))))

    def attachments(self, message_ids: Collection[uuid.UUID]) -> list[Attachment]:
        if not message_ids:
            return []
        stmt = select(Attachment).where(Attachment.message_id.in_(list(message_ids)))
        return list(self.session.scalars(stmt.order_by(Attachment.created_at)))

    def attachment(self, workspace_id: uuid.UUID, attachment_id: uuid.UUID) -> Attachment | None:
        row = self.session.get(Attachment, attachment_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def inbound(self, conversation_id: uuid.UUID) -> list[tuple[str, str | None, dict[str, Any]]]:
        """Who wrote in to the conversation: channel, address and meta of each message."""
        stmt = select(Message.channel, Message.address, Message.meta).where(
            Message.conversation_id == conversation_id, Message.direction == "in"
        )
        return [(r[0], r[1], r[2] or {}) for r in self.session.execute(stmt)]

    def last_logged(self, conversation_id: uuid.UUID, kind: str) -> datetime | None:
        """When the conversation's log last recorded ``kind``."""
        stmt = (
            select(ConversationEvent.at)
            .where(
                ConversationEvent.conversation_id == conversation_id,
                ConversationEvent.kind == kind,
            )
            .order_by(ConversationEvent.at.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()


class AgentRepository(Repository):
    def available_count(self, workspace_id: uuid.UUID) -> int:
        """Admins and agents who have not switched themselves away (no state yet counts
        as available, as routing does)."""
        stmt = (
            select(func.count())
            .select_from(Membership)
            .outerjoin(
                AgentState,
                (AgentState.workspace_id == Membership.workspace_id)
                & (AgentState.user_id == Membership.user_id),
            )
            .where(
                Membership.workspace_id == workspace_id,
                Membership.role.in_(("admin", "agent")),
                func.coalesce(AgentState.available, True).is_(True),
            )
        )
        return int(self.session.scalar(stmt) or 0)


class TriggerRepository(Repository):
    def all(self, workspace_id: uuid.UUID) -> list[ChatTrigger]:
        stmt = (
            select(ChatTrigger)
            .where(ChatTrigger.workspace_id == workspace_id)
            .order_by(ChatTrigger.position, ChatTrigger.created_at)
        )
        return list(self.session.scalars(stmt))

    def enabled(self, workspace_id: uuid.UUID) -> list[ChatTrigger]:
        return [t for t in self.all(workspace_id) if t.enabled]

    def get(self, workspace_id: uuid.UUID, trigger_id: uuid.UUID) -> ChatTrigger | None:
        row = self.session.get(ChatTrigger, trigger_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def shows_since(self, visitor_id: uuid.UUID, trigger_id: uuid.UUID, since: datetime) -> int:
        stmt = select(func.count()).where(
            ChatTriggerShow.visitor_id == visitor_id,
            ChatTriggerShow.trigger_id == trigger_id,
            ChatTriggerShow.at >= since,
        )
        return int(self.session.scalar(stmt) or 0)

    def open_shows(self, visitor_id: uuid.UUID, since: datetime) -> list[ChatTriggerShow]:
        """Shown (not held out) and not yet answered, most recent first."""
        stmt = (
            select(ChatTriggerShow)
            .where(
                ChatTriggerShow.visitor_id == visitor_id,
                ChatTriggerShow.holdout.is_(False),
                ChatTriggerShow.accepted_at.is_(None),
                ChatTriggerShow.at >= since,
            )
            .order_by(ChatTriggerShow.at.desc())
        )
        return list(self.session.scalars(stmt))

    def shows_of(self, workspace_id: uuid.UUID, trigger_id: uuid.UUID) -> list[ChatTriggerShow]:
        stmt = select(ChatTriggerShow).where(
            ChatTriggerShow.workspace_id == workspace_id, ChatTriggerShow.trigger_id == trigger_id
        )
        return list(self.session.scalars(stmt.order_by(ChatTriggerShow.at).limit(100_000)))

    def visitors(self, ids: Collection[uuid.UUID]) -> dict[uuid.UUID, ChatVisitor]:
        if not ids:
            return {}
        stmt = select(ChatVisitor).where(ChatVisitor.id.in_(list(ids)))
        return {v.id: v for v in self.session.scalars(stmt)}

    def orders_of(
        self, profile_ids: Collection[uuid.UUID], since: datetime
    ) -> list[tuple[uuid.UUID, datetime]]:
        if not profile_ids:
            return []
        stmt = select(Order.profile_id, Order.placed_at).where(
            Order.profile_id.in_(list(profile_ids)), Order.placed_at >= since
        )
        return [(pid, at) for pid, at in self.session.execute(stmt) if pid is not None]
