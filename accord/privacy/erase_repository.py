"""The SQL of erasing: set-based deletes (and the anonymizing updates of kept orders), each
by a column an index leads with, in chunks; and the walk of the schema's foreign keys that
finds every table naming a person, a conversation or a visitor, so that a table added
later is erased without anyone remembering to."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, select, update

from accord.chat.models import ChatTriggerShow, ChatVisitor
from accord.collect.models import Event
from accord.govern.audit.models import AccessLogEntry, AuditEvent
from accord.govern.consent.models import ConsentRecord, ConsentState
from accord.inbox.models import Attachment, Conversation, ConversationEvent, Message
from accord.kit.db import Base
from accord.kit.repository import Repository, chunks
from accord.match.models import MatchCandidate, MatchRun
from accord.privacy.models import PrivacyRequest
from accord.privacy.repository import any_of
from accord.profile.models import Order, Profile
from accord.resolve.models import Identifier, IdentityLink, Merge, Separation, SeparationMember
from accord.social.models import Mention
from accord.social.service import handles_by_network

# The tables whose rows are a person's, by what names them; erase deletes the rows of
# each set it is given, and any table with a foreign key to one of them.
PERSON_TABLES = (
    "profiles",
    "identifiers",
    "events",
    "conversations",
    "messages",
    "chat_visitors",
    "merges",
    "separations",
)
# Foreign keys the erase handles itself (in its own order, or by keeping the row).
HANDLED = frozenset(
    {
        ("profiles", "merged_into_id"),
        ("identifiers", "profile_id"),
        ("orders", "profile_id"),
        ("orders", "event_id"),
        ("merges", "survivor_id"),
        ("merges", "absorbed_id"),
        ("match_candidates", "profile_a_id"),
        ("match_candidates", "profile_b_id"),
        ("match_candidates", "merge_id"),
        ("separations", "merge_id"),
        ("separation_members", "separation_id"),
        ("separation_members", "identifier_id"),
        ("identity_links", "a_id"),
        ("identity_links", "b_id"),
        ("conversations", "profile_id"),
        ("messages", "conversation_id"),
        ("attachments", "message_id"),
        ("conversation_events", "conversation_id"),
        ("chat_visitors", "conversation_id"),
        ("chat_trigger_shows", "visitor_id"),
        ("chat_trigger_shows", "conversation_id"),
        ("consent_records", "profile_id"),
        ("consent_states", "profile_id"),
        ("access_log", "profile_id"),
    }
)
ITEM_KEYS = ("product_id", "sku", "price", "quantity")
ORDER_PROPERTIES = ("order_id", "total", "revenue", "currency")


def references() -> list[tuple[Table, str, str]]:
    """(table, column, person table) of every foreign key to a person table, and of
    every column that names one without a key (``info={"names": "<table>"}``: a key
    checked on every row of a hot write, dropped for its cost)."""
    out = []
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            target = fk.column.table.name
            if target in PERSON_TABLES:
                out.append((table, fk.parent.name, target))
        for column in table.columns:
            named = column.info.get("names")
            if named in PERSON_TABLES:
                out.append((table, column.name, named))
    return out


def scrub_items(items: Iterable[Any]) -> list[dict[str, Any]]:
    return [
        {k: item[k] for k in ITEM_KEYS if k in item} for item in items if isinstance(item, dict)
    ]


class EraseRepository(Repository):
    def _in(self, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
        return any_of(self.session, column, values)

    def delete_in(
        self, table: Any, column: Any, values: Collection[Any], *where: ColumnElement[bool]
    ) -> int:
        """Delete the rows of ``table`` whose ``column`` is one of ``values``, a chunk at a
        time; returns how many."""
        removed = 0
        for chunk in chunks(sorted(values, key=str)):
            result = self.session.execute(
                delete(table).where(*where, self._in(column, chunk)),
                execution_options={"synchronize_session": False},
            )
            removed += max(int(getattr(result, "rowcount", 0) or 0), 0)
        return removed

    # --- orders kept as legally required records ---------------------------------------

    def keep_orders(self, orders: Sequence[Order]) -> int:
        """The orders stay, anonymized: no person, items without their details; their
        events stay as bare order records (total, currency, time) for them to point at."""
        for order in orders:
            self.session.execute(
                update(Order)
                .where(Order.id == order.id)
                .values(profile_id=None, items=scrub_items(order.items or [])),
                execution_options={"synchronize_session": False},
            )
        event_ids = sorted({o.event_id for o in orders})
        for chunk in chunks(event_ids):
            stmt = select(Event.id, Event.properties).where(self._in(Event.id, chunk))
            props: dict[uuid.UUID, dict[str, Any] | None] = {
                row[0]: row[1] for row in self.session.execute(stmt)
            }
            for event_id in chunk:
                kept = {
                    k: v for k, v in (props.get(event_id) or {}).items() if k in ORDER_PROPERTIES
                }
                self.session.execute(
                    update(Event)
                    .where(Event.id == event_id)
                    .values(
                        message_id=f"erased:{event_id}",
                        user_id=None,
                        anonymous_id=None,
                        identifiers=[],
                        traits=None,
                        context=None,
                        properties=kept,
                        status="erased",
                        error=None,
                        profile_id=None,
                        primary_identifier_id=None,
                    ),
                    execution_options={"synchronize_session": False},
                )
        return len(orders)

    # --- the person's rows -------------------------------------------------------------

    def conversations(
        self,
        conversation_ids: Collection[uuid.UUID],
        message_ids: Collection[uuid.UUID],
        visitor_ids: Collection[uuid.UUID],
    ) -> dict[str, int]:
        counts = {
            "chat_trigger_shows": self.delete_in(
                ChatTriggerShow, ChatTriggerShow.visitor_id, visitor_ids
            ),
            "chat_visitors": self.delete_in(ChatVisitor, ChatVisitor.id, visitor_ids),
            "attachments": self.delete_in(Attachment, Attachment.message_id, message_ids),
            "messages": self.delete_in(Message, Message.conversation_id, conversation_ids),
            "conversation_events": self.delete_in(
                ConversationEvent, ConversationEvent.conversation_id, conversation_ids
            ),
            "conversations": self.delete_in(Conversation, Conversation.id, conversation_ids),
        }
        return counts

    def still_stored(self, digests: Collection[str]) -> set[str]:
        """Which of these files some attachment (of any workspace) still names."""
        out: set[str] = set()
        for chunk in chunks(sorted(digests)):
            stmt = select(Attachment.sha256).where(self._in(Attachment.sha256, chunk)).distinct()
            out.update(self.session.scalars(stmt))
        return out

    def profile_rows(
        self, workspace_id: uuid.UUID, profile_ids: Collection[uuid.UUID]
    ) -> dict[str, int]:
        """What names the people directly: consent, the access log, match candidates."""
        mc = MatchCandidate
        return {
            "consent_states": self.delete_in(ConsentState, ConsentState.profile_id, profile_ids),
            "consent_records": self.delete_in(ConsentRecord, ConsentRecord.profile_id, profile_ids),
            "access_log": self.delete_in(AccessLogEntry, AccessLogEntry.profile_id, profile_ids),
            "match_candidates": self.delete_in(mc, mc.profile_b_id, profile_ids)
            + self.delete_in(
                mc,
                mc.profile_a_id,
                profile_ids,
                mc.workspace_id == workspace_id,
                mc.kind.in_(("duplicate", "household")),
            ),
        }

    def graph(
        self,
        workspace_id: uuid.UUID,
        profile_ids: Collection[uuid.UUID],
        identifier_ids: Collection[uuid.UUID],
    ) -> dict[str, int]:
        """Separations and merges that involve them, and the links of their identifiers."""
        sm, il = SeparationMember, IdentityLink
        separations: set[uuid.UUID] = set()
        for chunk in chunks(sorted(identifier_ids)):
            stmt = select(sm.separation_id).where(self._in(sm.identifier_id, chunk))
            separations.update(self.session.scalars(stmt))
        return {
            "separation_members": self.delete_in(sm, sm.separation_id, separations),
            "separations": self.delete_in(Separation, Separation.id, separations),
            "merges": self.delete_in(Merge, Merge.absorbed_id, profile_ids)
            + self.delete_in(
                Merge, Merge.survivor_id, profile_ids, Merge.workspace_id == workspace_id
            ),
            "identity_links": self.delete_in(
                il, il.a_id, identifier_ids, il.workspace_id == workspace_id
            )
            + self.delete_in(il, il.b_id, identifier_ids, il.workspace_id == workspace_id),
        }

    def audit_events(self, workspace_id: uuid.UUID, targets: Collection[str]) -> int:
        return self.delete_in(
            AuditEvent, AuditEvent.target, targets, AuditEvent.workspace_id == workspace_id
        )

    def match_runs(self, workspace_id: uuid.UUID) -> list[MatchRun]:
        stmt = select(MatchRun).where(MatchRun.workspace_id == workspace_id)
        return list(self.session.scalars(stmt))

    def requests_by(
        self, workspace_id: uuid.UUID, digests: Collection[str], except_id: uuid.UUID | None
    ) -> int:
        """Other requests made by the person's identifiers keep only their hash and mask."""
        t = PrivacyRequest
        changed = 0
        for chunk in chunks(sorted(digests)):
            stmt = (
                update(t)
                .where(t.workspace_id == workspace_id, self._in(t.identifier_digest, chunk))
                .values(identifier_value=None, note=None)
            )
            if except_id is not None:
                stmt = stmt.where(t.id != except_id)
            result = self.session.execute(stmt, execution_options={"synchronize_session": False})
            changed += max(int(getattr(result, "rowcount", 0) or 0), 0)
        return changed

    def social_mentions(self, workspace_id: uuid.UUID, handles: Collection[str]) -> int:
        """The posts a person made under their social handles (``platform:handle``
        identifiers), also those heard before the handle was theirs in the graph."""
        removed = 0
        for network, names in sorted(handles_by_network(handles).items()):
            removed += self.delete_in(
                Mention,
                Mention.author_handle,
                names,
                Mention.workspace_id == workspace_id,
                Mention.network == network,
            )
        return removed

    def profiles(self, profile_ids: Collection[uuid.UUID]) -> int:
        return self.delete_in(Profile, Profile.id, profile_ids)

    def identifiers(self, identifier_ids: Collection[uuid.UUID]) -> int:
        return self.delete_in(Identifier, Identifier.id, identifier_ids)

    def events(self, event_ids: Collection[uuid.UUID]) -> int:
        return self.delete_in(Event, Event.id, event_ids)

    def orders(self, order_ids: Collection[uuid.UUID]) -> int:
        return self.delete_in(Order, Order.id, order_ids)

    def referencing(self, rows: dict[str, Collection[uuid.UUID]]) -> dict[str, int]:
        """Rows of every other table with a foreign key to one of the person tables
        (``rows`` holds the ids erased of each)."""
        counts: dict[str, int] = {}
        for table, column, target in references():
            if (table.name, column) in HANDLED or table.name == target:
                continue
            ids = rows.get(target) or ()
            if ids:
                removed = self.delete_in(table, table.c[column], ids)
                counts[table.name] = counts.get(table.name, 0) + removed
        return counts
