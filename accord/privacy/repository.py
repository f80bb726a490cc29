"""The SQL of data-subject requests and retention runs, and the reads that find a person
everywhere (their profiles, identifiers, events, conversations, chat visitors) and that
an export streams. Every look-up goes through an index: by person, by identifier, by
conversation, or by one of the partial indexes of events still pending, failed or left
unattributed."""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable, Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, String, cast, false, func, or_, select
from sqlalchemy.orm import Session

from accord.chat.models import ChatVisitor
from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.govern.consent.models import ConsentRecord, ConsentState
from accord.inbox.models import Attachment, Conversation, ConversationEvent, Message
from accord.kit.dialect import naive_utc, one_of
from accord.kit.repository import Repository, chunks
from accord.match.models import MatchCandidate
from accord.privacy.models import OPEN, PrivacyRequest, RetentionRun
from accord.profile.models import Order, Profile
from accord.resolve.models import Identifier, IdentityLink, Merge
from accord.social.models import Mention
from accord.social.service import handles_by_network

# An event that may carry a person's identifier: id, identifiers, user id, anonymous id,
# the person it is attributed to.
Candidate = tuple[uuid.UUID, list[list[str]], str | None, str | None, uuid.UUID | None]
MAX_HOPS = 32


def any_of(session: Session, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
    """``column IN values`` (an array on PostgreSQL); false for no values."""
    if not values:
        return false()
    return one_of(session, column, values)


def like_pattern(value: str) -> str | None:
    """A LIKE pattern finding ``value`` in a JSON text, or None when the value could be
    written another way in JSON (escaped characters): then every row is checked."""
    if not value.isascii() or any(c in value for c in '"\\') or not value.isprintable():
        return None
    escaped = value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return f"%{escaped}%"


class PrivacyRequestRepository(Repository):
    def add(self, request: PrivacyRequest) -> PrivacyRequest:
        self.session.add(request)
        self.session.flush()
        return request

    def get(self, workspace_id: uuid.UUID, request_id: uuid.UUID) -> PrivacyRequest | None:
        stmt = select(PrivacyRequest).where(
            PrivacyRequest.workspace_id == workspace_id, PrivacyRequest.id == request_id
        )
        return self.session.scalar(stmt)

    def lock(self, request: PrivacyRequest) -> PrivacyRequest:
        """The request read afresh, its row locked (two erasures of one request wait)."""
        stmt = (
            select(PrivacyRequest)
            .where(PrivacyRequest.id == request.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalars(stmt).one()

    def listing(
        self,
        workspace_id: uuid.UUID,
        *,
        status: str | None,
        kind: str | None,
        overdue_at: datetime | None,
        limit: int,
        offset: int,
    ) -> list[PrivacyRequest]:
        stmt = select(PrivacyRequest).where(PrivacyRequest.workspace_id == workspace_id)
        if status is not None:
            stmt = stmt.where(PrivacyRequest.status == status)
        if kind is not None:
            stmt = stmt.where(PrivacyRequest.kind == kind)
        if overdue_at is not None:
            stmt = stmt.where(PrivacyRequest.status.in_(OPEN), PrivacyRequest.due_at < overdue_at)
        stmt = (
            stmt.order_by(PrivacyRequest.created_at.desc(), PrivacyRequest.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return list(self.session.scalars(stmt))

    def count_open(self, workspace_id: uuid.UUID, overdue_at: datetime | None = None) -> int:
        stmt = select(func.count()).where(
            PrivacyRequest.workspace_id == workspace_id, PrivacyRequest.status.in_(OPEN)
        )
        if overdue_at is not None:
            stmt = stmt.where(PrivacyRequest.due_at < overdue_at)
        return int(self.session.scalar(stmt) or 0)

    def by_digests(self, workspace_id: uuid.UUID, digests: Collection[str]) -> list[PrivacyRequest]:
        """Requests made by any of these identifiers (their salted hashes)."""
        stmt = select(PrivacyRequest).where(
            PrivacyRequest.workspace_id == workspace_id,
            any_of(self.session, PrivacyRequest.identifier_digest, digests),
        )
        return list(self.session.scalars(stmt))


class RetentionRunRepository(Repository):
    def add(self, run: RetentionRun) -> RetentionRun:
        self.session.add(run)
        self.session.flush()
        return run

    def latest(
        self, workspace_id: uuid.UUID, *, dry_run: bool | None = None
    ) -> RetentionRun | None:
        stmt = select(RetentionRun).where(RetentionRun.workspace_id == workspace_id)
        if dry_run is not None:
            stmt = stmt.where(RetentionRun.dry_run == dry_run)
        stmt = stmt.order_by(RetentionRun.created_at.desc(), RetentionRun.id.desc()).limit(1)
        return self.session.scalar(stmt)


class SubjectRepository(Repository):
    """Finding a person and everything that names them."""

    def in_(self, column: Any, values: Collection[Any]) -> ColumnElement[bool]:
        return any_of(self.session, column, values)

    def identifier(self, workspace_id: uuid.UUID, type_name: str, value: str) -> Identifier | None:
        stmt = select(Identifier).where(
            Identifier.workspace_id == workspace_id,
            Identifier.type == type_name,
            Identifier.value == value,
        )
        return self.session.scalar(stmt)

    def profile(self, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> Profile | None:
        stmt = select(Profile).where(Profile.workspace_id == workspace_id, Profile.id == profile_id)
        return self.session.scalar(stmt)

    def live_of(self, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> uuid.UUID | None:
        """The live person behind a profile, following tombstones to their survivor."""
        current = self.profile(workspace_id, profile_id)
        hops = 0
        while current is not None and current.merged_into_id is not None and hops < MAX_HOPS:
            current = self.profile(workspace_id, current.merged_into_id)
            hops += 1
        return current.id if current is not None else None

    def merged_into(self, workspace_id: uuid.UUID, live_id: uuid.UUID) -> list[uuid.UUID]:
        """The person and every profile merged into them, however long the chain."""
        found = [live_id]
        frontier = [live_id]
        while frontier:
            stmt = select(Profile.id).where(
                Profile.workspace_id == workspace_id,
                Profile.merged_into_id.is_not(None),
                self.in_(Profile.merged_into_id, frontier),
            )
            frontier = [p for p in self.session.scalars(stmt) if p not in found]
            found.extend(frontier)
        return found

    def profiles(self, profile_ids: Sequence[uuid.UUID]) -> list[Profile]:
        out: list[Profile] = []
        for chunk in chunks(profile_ids):
            out.extend(self.session.scalars(select(Profile).where(self.in_(Profile.id, chunk))))
        order = {p: i for i, p in enumerate(profile_ids)}
        return sorted(out, key=lambda p: order.get(p.id, 0))

    def identifiers_of(self, profile_ids: Sequence[uuid.UUID]) -> list[Identifier]:
        stmt = (
            select(Identifier)
            .where(self.in_(Identifier.profile_id, profile_ids))
            .order_by(Identifier.type, Identifier.value)
        )
        return list(self.session.scalars(stmt))

    # --- events ------------------------------------------------------------------------

    def event_ids_of_people(self, profile_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        stmt = select(Event.id).where(
            Event.profile_id.is_not(None), self.in_(Event.profile_id, profile_ids)
        )
        return set(self.session.scalars(stmt))

    def event_ids_by_primary(
        self, identifier_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, uuid.UUID | None]:
        """The events whose primary identifier is one of these, with their person."""
        out: dict[uuid.UUID, uuid.UUID | None] = {}
        for chunk in chunks(identifier_ids):
            stmt = select(Event.id, Event.profile_id).where(self._of_primaries(chunk))
            out.update((e, p) for e, p in self.session.execute(stmt))
        return out

    def _of_primaries(self, identifier_ids: Sequence[uuid.UUID]) -> ColumnElement[bool]:
        """Events whose primary identifier is one of these, among the events of the
        people who hold them (``EventRepository.of_primaries``)."""
        held = select(Identifier.profile_id).where(self.in_(Identifier.id, identifier_ids))
        holders = sorted({p for p in self.session.scalars(held) if p is not None}, key=str)
        return EventRepository.from_session(self.session).of_primaries(identifier_ids, holders)

    def links_touching(
        self, workspace_id: uuid.UUID, identifier_ids: Sequence[uuid.UUID]
    ) -> list[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]]:
        """(a, b, event) of every identity link with an end among these identifiers."""
        out: list[tuple[uuid.UUID, uuid.UUID, uuid.UUID | None]] = []
        for chunk in chunks(identifier_ids):
            for column in (IdentityLink.a_id, IdentityLink.b_id):
                stmt = select(IdentityLink.a_id, IdentityLink.b_id, IdentityLink.event_id).where(
                    IdentityLink.workspace_id == workspace_id, self.in_(column, chunk)
                )
                out.extend((a, b, e) for a, b, e in self.session.execute(stmt))
        return out

    def _carrying(self, stmt: Select[Any], patterns: Iterable[str | None]) -> Select[Any]:
        """Narrow a scan of events to those whose identifiers' text holds one of the
        values (checked exactly afterwards); unchanged when a value has no safe pattern."""
        wanted = list(patterns)
        if not wanted or any(p is None for p in wanted):
            return stmt
        text = cast(Event.identifiers, String)
        return stmt.where(or_(*(text.like(p, escape="!") for p in wanted if p is not None)))

    def candidate_events(
        self,
        workspace_id: uuid.UUID,
        *,
        by_primary: Sequence[uuid.UUID],
        by_id: Sequence[uuid.UUID],
        statuses: Sequence[str],
        values: Sequence[str],
    ) -> list[Candidate]:
        """(id, identifiers, user id, anonymous id, person) of the events that may carry one of
        ``values``: those whose primary identifier is one of ``by_primary``, those named
        ``by_id``, and the workspace's events of the ``statuses`` (pending, failed,
        unattributed: each a partial index), narrowed to rows whose identifiers hold one
        of the values."""
        columns: tuple[Any, ...] = (
            Event.id,
            Event.identifiers,
            Event.user_id,
            Event.anonymous_id,
            Event.profile_id,
        )
        patterns = [like_pattern(v) for v in values]
        out: dict[uuid.UUID, Candidate] = {}
        for chunk in chunks(by_primary):
            stmt = select(*columns).where(self._of_primaries(chunk))
            for row in self.session.execute(self._carrying(stmt, patterns)):
                out[row[0]] = (row[0], row[1] or [], row[2], row[3], row[4])
        for chunk in chunks(by_id):
            stmt = select(*columns).where(self.in_(Event.id, chunk))
            for row in self.session.execute(stmt):
                out[row[0]] = (row[0], row[1] or [], row[2], row[3], row[4])
        for status in statuses:
            # Written as the partial indexes' own condition, so each is used.
            stmt = select(*columns).where(
                Event.workspace_id == workspace_id, Event.status == status
            )
            for row in self.session.execute(self._carrying(stmt, patterns)):
                out[row[0]] = (row[0], row[1] or [], row[2], row[3], row[4])
        return list(out.values())

    def events(self, event_ids: Sequence[uuid.UUID]) -> Iterator[Any]:
        """The events in the order they were received (their ids are in time order), as
        plain rows, read a chunk at a time."""
        table = Event.__table__
        for chunk in chunks(sorted(event_ids)):
            stmt = select(table).where(self.in_(table.c.id, chunk)).order_by(table.c.id)
            yield from self.session.execute(stmt)

    # --- what else names them ----------------------------------------------------------

    def orders_of(
        self, profile_ids: Sequence[uuid.UUID], event_ids: Sequence[uuid.UUID]
    ) -> list[Order]:
        found: dict[uuid.UUID, Order] = {}
        stmt = select(Order).where(
            Order.profile_id.is_not(None), self.in_(Order.profile_id, profile_ids)
        )
        found.update((o.id, o) for o in self.session.scalars(stmt))
        for chunk in chunks(sorted(event_ids)):
            found.update(
                (o.id, o)
                for o in self.session.scalars(select(Order).where(self.in_(Order.event_id, chunk)))
            )
        return sorted(found.values(), key=lambda o: (o.placed_at, o.id))

    def conversation_ids(
        self, workspace_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]
    ) -> set[uuid.UUID]:
        stmt = select(Conversation.id).where(
            Conversation.workspace_id == workspace_id,
            self.in_(Conversation.profile_id, profile_ids),
        )
        return set(self.session.scalars(stmt))

    def social_mentions(
        self, workspace_id: uuid.UUID, profile_ids: Sequence[uuid.UUID], handles: Sequence[str]
    ) -> list[Mention]:
        """The person's posts heard by social listening: linked to them, or made under one
        of their social handles (``platform:handle``) before the handle was theirs."""
        found: dict[uuid.UUID, Mention] = {}
        if profile_ids:
            stmt = select(Mention).where(
                Mention.workspace_id == workspace_id, self.in_(Mention.profile_id, profile_ids)
            )
            found.update((m.id, m) for m in self.session.scalars(stmt))
        for network, names in sorted(handles_by_network(handles).items()):
            stmt = select(Mention).where(
                Mention.workspace_id == workspace_id,
                Mention.network == network,
                self.in_(Mention.author_handle, sorted(names)),
            )
            found.update((m.id, m) for m in self.session.scalars(stmt))
        return sorted(found.values(), key=lambda m: (m.posted_at, m.id))

    def visitors(
        self,
        workspace_id: uuid.UUID,
        anonymous_ids: Sequence[str],
        conversation_ids: Sequence[uuid.UUID],
    ) -> list[ChatVisitor]:
        found: dict[uuid.UUID, ChatVisitor] = {}
        if anonymous_ids:
            stmt = select(ChatVisitor).where(
                ChatVisitor.workspace_id == workspace_id,
                self.in_(ChatVisitor.anonymous_id, anonymous_ids),
            )
            found.update((v.id, v) for v in self.session.scalars(stmt))
        for chunk in chunks(sorted(conversation_ids)):
            stmt = select(ChatVisitor).where(self.in_(ChatVisitor.conversation_id, chunk))
            found.update((v.id, v) for v in self.session.scalars(stmt))
        return sorted(found.values(), key=lambda v: (v.created_at, v.id))

    def conversations(self, conversation_ids: Sequence[uuid.UUID]) -> list[Conversation]:
        out: list[Conversation] = []
        for chunk in chunks(sorted(conversation_ids)):
            out.extend(
                self.session.scalars(select(Conversation).where(self.in_(Conversation.id, chunk)))
            )
        return sorted(out, key=lambda c: (c.created_at, c.id))

    def messages(self, conversation_id: uuid.UUID) -> list[Message]:
        stmt = (
            select(Message)
            .where(Message.conversation_id == conversation_id)
            .order_by(Message.created_at, Message.id)
        )
        return list(self.session.scalars(stmt))

    def message_ids(self, conversation_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
        out: list[uuid.UUID] = []
        for chunk in chunks(sorted(conversation_ids)):
            out.extend(
                self.session.scalars(
                    select(Message.id).where(self.in_(Message.conversation_id, chunk))
                )
            )
        return out

    def conversation_log(self, conversation_id: uuid.UUID) -> list[ConversationEvent]:
        stmt = (
            select(ConversationEvent)
            .where(ConversationEvent.conversation_id == conversation_id)
            .order_by(ConversationEvent.at, ConversationEvent.id)
        )
        return list(self.session.scalars(stmt))

    def attachments(self, message_ids: Sequence[uuid.UUID]) -> list[Attachment]:
        out: list[Attachment] = []
        for chunk in chunks(list(message_ids)):
            out.extend(
                self.session.scalars(
                    select(Attachment).where(self.in_(Attachment.message_id, chunk))
                )
            )
        return sorted(out, key=lambda a: (a.created_at, a.id))

    def consent(
        self, profile_ids: Sequence[uuid.UUID]
    ) -> tuple[list[ConsentRecord], list[ConsentState]]:
        records = select(ConsentRecord).where(self.in_(ConsentRecord.profile_id, profile_ids))
        states = select(ConsentState).where(self.in_(ConsentState.profile_id, profile_ids))
        return (
            sorted(
                self.session.scalars(records), key=lambda r: (r.recorded_at, r.created_at, r.id)
            ),
            list(self.session.scalars(states)),
        )

    def merges(self, workspace_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]) -> list[Merge]:
        found: dict[uuid.UUID, Merge] = {}
        stmt = select(Merge).where(self.in_(Merge.absorbed_id, profile_ids))
        found.update((m.id, m) for m in self.session.scalars(stmt))
        stmt = select(Merge).where(
            Merge.workspace_id == workspace_id, self.in_(Merge.survivor_id, profile_ids)
        )
        found.update((m.id, m) for m in self.session.scalars(stmt))
        return sorted(found.values(), key=lambda m: (m.created_at, m.id))

    def candidates(
        self, workspace_id: uuid.UUID, profile_ids: Sequence[uuid.UUID]
    ) -> list[MatchCandidate]:
        found: dict[uuid.UUID, MatchCandidate] = {}
        stmt = select(MatchCandidate).where(self.in_(MatchCandidate.profile_b_id, profile_ids))
        found.update((c.id, c) for c in self.session.scalars(stmt))
        stmt = select(MatchCandidate).where(
            MatchCandidate.workspace_id == workspace_id,
            MatchCandidate.kind.in_(("duplicate", "household")),
            self.in_(MatchCandidate.profile_a_id, profile_ids),
        )
        found.update((c.id, c) for c in self.session.scalars(stmt))
        return sorted(found.values(), key=lambda c: (c.created_at, c.id))


class RetentionRepository(Repository):
    """What each retention policy would take, a batch at a time, in index order."""

    def raw_events(
        self, workspace_id: uuid.UUID, before: uuid.UUID, after: uuid.UUID | None, limit: int
    ) -> list[uuid.UUID]:
        """Events received before the id ``before`` (ids are in time order), after the
        cursor, that carry no traits (the golden record's sources) and are no order's."""
        stmt = select(Event.id).where(
            Event.id < before,
            Event.workspace_id == workspace_id,
            # Stored as SQL NULL or as JSON null, depending on the path that wrote it.
            or_(Event.traits.is_(None), cast(Event.traits, String) == "null"),
            Event.status != "pending",
            ~select(Order.id).where(Order.event_id == Event.id).exists(),
        )
        if after is not None:
            stmt = stmt.where(Event.id > after)
        return list(self.session.scalars(stmt.order_by(Event.id).limit(limit)))

    def closed_conversations(
        self, workspace_id: uuid.UUID, cutoff: datetime, limit: int
    ) -> list[Conversation]:
        """Conversations resolved, with no message either, before ``cutoff``, oldest first
        (the inbox's own index by status and last message)."""
        stmt = (
            select(Conversation)
            .where(
                Conversation.workspace_id == workspace_id,
                Conversation.status == "resolved",
                Conversation.last_message_at < cutoff,
                or_(Conversation.resolved_at.is_(None), Conversation.resolved_at < cutoff),
            )
            .order_by(Conversation.last_message_at, Conversation.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def idle_people(
        self,
        workspace_id: uuid.UUID,
        cutoff: datetime,
        after: tuple[datetime, uuid.UUID] | None,
        limit: int,
    ) -> list[tuple[uuid.UUID, datetime]]:
        """Live people last seen before ``cutoff``, after the cursor, oldest first: read
        along the index of the minute they were last seen (``seen_minute``, bounded a
        minute wide of the moments so that both backends' forms of it compare), then
        to the moment."""
        stmt = select(Profile.id, Profile.last_seen_at).where(
            Profile.workspace_id == workspace_id,
            Profile.seen_minute <= naive_utc(cutoff),
            Profile.last_seen_at < cutoff,
            Profile.merged_into_id.is_(None),
        )
        if after is not None:
            seen, last_id = after
            stmt = stmt.where(
                Profile.seen_minute >= naive_utc(seen - timedelta(minutes=1)),
                or_(
                    Profile.last_seen_at > seen,
                    (Profile.last_seen_at == seen) & (Profile.id > last_id),
                ),
            )
        stmt = stmt.order_by(Profile.seen_minute, Profile.last_seen_at, Profile.id).limit(limit)
        return [(p, seen) for p, seen in self.session.execute(stmt) if seen is not None]

    def named_among(
        self, profile_ids: Sequence[uuid.UUID], weak: Collection[str]
    ) -> set[uuid.UUID]:
        """Which of these people hold an identifier of a type not in ``weak``."""
        if not profile_ids:
            return set()
        stmt = (
            select(Identifier.profile_id)
            .where(
                any_of(self.session, Identifier.profile_id, profile_ids),
                Identifier.type.not_in(list(weak)),
            )
            .distinct()
        )
        return {p for p in self.session.scalars(stmt) if p is not None}

    def idle_visitors(
        self, workspace_id: uuid.UUID, cutoff: datetime, limit: int
    ) -> list[ChatVisitor]:
        stmt = (
            select(ChatVisitor)
            .where(ChatVisitor.workspace_id == workspace_id, ChatVisitor.last_seen_at < cutoff)
            .order_by(ChatVisitor.last_seen_at, ChatVisitor.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))
