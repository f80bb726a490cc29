"""The privacy benchmark's seeding base (ids, times, the loader) and its service rows:
conversations for one person in twenty, and what the heaviest people also have (a
merged profile, conversations, an attachment, a chat visitor, access-log entries)."""

from __future__ import annotations

import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from hashlib import sha256
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.privacy_people import (
    AGENT,
    CONVERSATION,
    IDENT,
    MESSAGE,
    PROFILE,
    SPAN,
    TOMBSTONE,
    Loader,
    People,
    Person,
    Progress,
    _uid,
    person,
)
from accord.chat.models import ChatVisitor
from accord.govern.audit.models import AccessLogEntry
from accord.inbox.intake import attachment_path
from accord.inbox.models import Attachment, Conversation, ConversationEvent, Message
from accord.kit.db import transaction
from accord.profile.models import Profile
from accord.resolve.models import Identifier, Merge


class SeederBase:
    def __init__(
        self,
        factory: sessionmaker[Session],
        workspace_id: uuid.UUID,
        salt: str,
        data_dir: Path,
        progress: Progress | None,
    ) -> None:
        self.factory = factory
        self.ws = workspace_id
        self.salt = salt
        self.data_dir = data_dir
        self.progress = progress or (lambda n: None)
        self.loader = Loader(factory)
        self.base = time.time_ns() // 1_000_000
        self.prefixes: dict[int, str] = {}
        self.now = datetime.now(UTC).replace(microsecond=0)
        self.t0 = self.now - SPAN

    def id(self, space: int, n: int) -> str:
        """``_uid`` for this run, with its prefix made once per space (numbers < 2**48)."""
        prefix = self.prefixes.get(space)
        if prefix is None:
            prefix = self.prefixes[space] = _uid(self.base, space, 0)[:-12]
        return f"{prefix}{n:012x}"

    def uid(self, space: int, n: int) -> uuid.UUID:
        return uuid.UUID(self.id(space, n))

    def at(self, j: int, events: int) -> datetime:
        return self.t0 + SPAN * (j / max(events, 1))

    # --- events ------------------------------------------------------------------------

    def _seen(self, k: int, events: int, people: People) -> tuple[datetime, datetime]:
        if people.first[k] < 0:  # imported, never seen since
            at = self.t0 + timedelta(minutes=k % 100_000)
            return at, at
        return self.at(people.first[k], events), self.at(people.last[k], events)


class ServiceRows(SeederBase):
    # --- conversations ------------------------------------------------------------------

    def conversations(
        self, profiles: int, events: int, people: People, rng: random.Random, subjects: int
    ) -> tuple[int, int]:
        """One person in twenty wrote in once (four messages); each subject three times
        (twenty messages each, by email, chat and SMS)."""
        threads: list[tuple[int, str, int]] = [
            (k, channel, 20) for k in range(subjects) for channel in ("email", "chat", "sms")
        ]
        threads += [(rng.randrange(profiles), "email", 4) for _ in range(profiles // 20)]
        conv_columns = (
            "id workspace_id number profile_id subject status priority tags assignee_id team_id "
            "channel last_channel contact_name preview message_count last_message_at "
            "waiting_since first_response_at resolved_at snoozed_until sla_policy_id "
            "first_response_due_at next_response_due_at resolution_due_at reopen_count "
            "csat_score csat_comment csat_at created_at updated_at"
        )
        msg_columns = (
            "id workspace_id conversation_id direction channel author_id author_name address "
            "subject body body_html quoted external_id in_reply_to delivery delivery_error "
            "event_id meta created_at"
        )
        convs: list[tuple[Any, ...]] = []
        msgs: list[tuple[Any, ...]] = []
        for number, (k, channel, count) in enumerate(threads, start=1):
            p = person(k)
            first, last = self._seen(k, events, people)
            start = first + (last - first) * rng.random()
            end = start + timedelta(minutes=9 * count)
            cid = self.id(CONVERSATION, number)
            address = p.email if channel == "email" else p.phone if channel == "sms" else None
            convs.append(
                (
                    cid,
                    self.ws,
                    number,
                    self.id(PROFILE, k),
                    f"Question about order o{number:06d}",
                    "resolved",
                    "normal",
                    "[]",
                    None,
                    None,
                    channel,
                    channel,
                    f"{p.first} {p.last}",
                    "Thanks, that solved it.",
                    count,
                    end,
                    None,
                    start + timedelta(minutes=9),
                    end,
                    None,
                    None,
                    start + timedelta(hours=4),
                    None,
                    start + timedelta(days=2),
                    0,
                    None,
                    None,
                    None,
                    start,
                    end,
                )
            )
            for i in range(count):
                inbound = i % 2 == 0
                msgs.append(
                    (
                        self.id(MESSAGE, len(msgs)),
                        self.ws,
                        cid,
                        "in" if inbound else "out",
                        channel,
                        None,
                        f"{p.first} {p.last}" if inbound else "Support",
                        address,
                        None,
                        f"Hi, this is {p.first}. My order o{number:06d} has not arrived; "
                        f"can you check where it is? I live in {p.city}."
                        if inbound
                        else "Thanks for writing in. It left the warehouse today.",
                        None,
                        None,
                        None,
                        None,
                        None if inbound else "sent",
                        None,
                        None,
                        "{}",
                        start + timedelta(minutes=9 * i),
                    )
                )
        self.loader.load(Conversation, conv_columns, convs)
        self.loader.load(Message, msg_columns, msgs)
        return len(convs), len(msgs)

    def subject_extras(self, subjects: list[Person], events: int, people: People) -> None:
        """What else the heaviest people have: a profile merged into them (with its old
        email address), a chat visitor for their chat, an attachment with its file, the
        conversations' logs and their access log."""
        with transaction(self.factory) as session:
            for p in subjects:
                survivor = self.uid(PROFILE, p.k)
                first, _ = self._seen(p.k, events, people)
                old = self.uid(TOMBSTONE, p.k)
                session.add(
                    Profile(
                        id=old,
                        workspace_id=self.ws,
                        merged_into_id=survivor,
                        traits={},
                        stats={},
                        display_name=f"{p.first} {p.last}",
                        search_name=f"{p.first} {p.last}".lower(),
                        created_at=first - timedelta(days=30),
                    )
                )
                session.add(
                    Merge(
                        workspace_id=self.ws,
                        survivor_id=survivor,
                        absorbed_id=old,
                        rule="shared_identifier",
                        evidence={"identifier": "email"},
                        created_at=first,
                    )
                )
                session.add(
                    Identifier(
                        id=self.uid(IDENT["old_email"], p.k),
                        workspace_id=self.ws,
                        type="email",
                        value=f"old.{p.email}",
                        profile_id=survivor,
                        blocked=False,
                        source="import",
                        last_seen_at=first,
                        created_at=first - timedelta(days=30),
                    )
                )
                for action in ("view", "timeline"):
                    session.add(
                        AccessLogEntry(
                            workspace_id=self.ws,
                            profile_id=survivor,
                            actor="agent@bench.example",
                            actor_kind="user",
                            action=action,
                            via="console",
                            at=self.now - timedelta(days=3),
                        )
                    )
            session.flush()
            numbers = {
                (conv.profile_id, conv.channel): conv
                for conv in session.scalars(
                    select(Conversation).where(
                        Conversation.workspace_id == self.ws,
                        Conversation.number <= 3 * len(subjects),
                    )
                )
            }
            for p in subjects:
                survivor = self.uid(PROFILE, p.k)
                for channel in ("email", "chat", "sms"):
                    conv = numbers[(survivor, channel)]
                    for kind, at in (("created", conv.created_at), ("resolved", conv.resolved_at)):
                        session.add(
                            ConversationEvent(
                                workspace_id=self.ws,
                                conversation_id=conv.id,
                                kind=kind,
                                channel=channel,
                                data={},
                                at=at,
                            )
                        )
                chat = numbers[(survivor, "chat")]
                session.add(
                    ChatVisitor(
                        workspace_id=self.ws,
                        anonymous_id=p.anonymous_id,
                        user_id=p.user_id,
                        name=f"{p.first} {p.last}",
                        email=p.email,
                        traits={"plan": "pro"},
                        pages=[{"url": "https://shop.example/cart", "title": "Cart"}],
                        utm={},
                        country=p.country,
                        user_agent=AGENT,
                        conversation_id=chat.id,
                        cart_value=Decimal("0"),
                    )
                )
                email = numbers[(survivor, "email")]
                message = session.scalars(
                    select(Message)
                    .where(Message.conversation_id == email.id)
                    .order_by(Message.created_at)
                    .limit(1)
                ).one()
                content = (f"Invoice for {p.first} {p.last}, order o000001\n" * 800).encode()
                digest = sha256(content).hexdigest()
                path = attachment_path(self.data_dir, digest)
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(content)
                session.add(
                    Attachment(
                        workspace_id=self.ws,
                        message_id=message.id,
                        filename="invoice.txt",
                        content_type="text/plain",
                        size=len(content),
                        sha256=digest,
                    )
                )
