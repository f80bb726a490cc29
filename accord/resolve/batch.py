"""What one resolver batch keeps in memory so the common case costs no queries per event:
every identifier the batch's events carry (looked up, and the new ones inserted, in one
go), the links already known between them, and identifier counts per person."""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.collect.messages import ALIAS_PREVIOUS
from accord.collect.models import Event
from accord.kit.dialect import insert_ignore
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository
from accord.resolve import identifiers as ids
from accord.resolve.models import Identifier, IdentityLink
from accord.resolve.repository import IdentifierRepository, chunks

if TYPE_CHECKING:
    from accord.resolve.service import WorkspaceContext


@dataclass
class BatchCache:
    idents: dict[tuple[str, str], Identifier] = field(default_factory=dict)
    links: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    pending_links: list[dict[str, Any]] = field(default_factory=list)
    counts: dict[uuid.UUID, Counter[str]] = field(default_factory=dict)
    # People created in this batch and not yet flushed (the identity map does not hold
    # pending objects, so Session.get would miss them).
    new_profiles: dict[uuid.UUID, Profile] = field(default_factory=dict)
    # Strong references: the session's identity map is weak and would drop them.
    profiles: dict[uuid.UUID, Profile] = field(default_factory=dict)

    def profile(self, session: Session, profile_id: uuid.UUID) -> Profile | None:
        found = self.new_profiles.get(profile_id) or self.profiles.get(profile_id)
        if found is None:
            found = session.get(Profile, profile_id)
            if found is not None:
                self.profiles[profile_id] = found
        return found

    @classmethod
    def prepare(cls, session: Session, ctx: WorkspaceContext, events: list[Event]) -> BatchCache:
        cache = cls()
        first: dict[tuple[str, str], Event] = {}
        for event in events:
            for type_name, value in event.identifiers:
                if type_name == ALIAS_PREVIOUS:
                    for t in (ids.USER_ID, ids.ANONYMOUS_ID):
                        first.setdefault((t, value), event)
                else:
                    first.setdefault((type_name, value), event)
        repo = IdentifierRepository.from_session(session)
        pairs = list(first)
        for i in range(0, len(pairs), 400):
            cache.idents.update(repo.find(ctx.workspace_id, pairs[i : i + 400]))
        now = utcnow()
        # Alias candidates are only created when resolved (we do not know the type yet).
        missing = [
            p for p, e in first.items() if p not in cache.idents and [p[0], p[1]] in e.identifiers
        ]
        if missing:
            rows = [
                {
                    "id": new_id(),
                    "workspace_id": ctx.workspace_id,
                    "type": t,
                    "value": v,
                    "profile_id": None,
                    "blocked": ctx.rules.is_blocked(t, v),
                    "source": first[(t, v)].source,
                    "first_event_id": first[(t, v)].id,
                    "last_seen_at": first[(t, v)].timestamp,
                    "created_at": now,
                }
                for t, v in missing
            ]
            insert_ignore(session, Identifier.__table__, rows, ["workspace_id", "type", "value"])
            for i in range(0, len(missing), 400):
                cache.idents.update(repo.find(ctx.workspace_id, missing[i : i + 400]))
        held = list({i.profile_id for i in cache.idents.values() if i.profile_id})
        cache.profiles = ProfileRepository.from_session(session).by_ids(held)
        known = [i.id for i in cache.idents.values()]
        for chunk in chunks(known):
            stmt = select(IdentityLink.a_id, IdentityLink.b_id).where(
                IdentityLink.workspace_id == ctx.workspace_id,
                IdentityLink.a_id.in_(chunk),
                IdentityLink.b_id.in_(known),
            )
            cache.links.update((a, b) for a, b in session.execute(stmt))
        return cache

    def identifier(
        self, session: Session, ctx: WorkspaceContext, event: Event, pair: tuple[str, str]
    ) -> Identifier:
        found = self.idents.get(pair)
        if found is None:  # an alias's previous id, typed only now
            repo = IdentifierRepository.from_session(session)
            repo.insert_missing(
                ctx.workspace_id,
                [pair],
                source=event.source,
                event_id=event.id,
                seen_at=event.timestamp,
            )
            found = repo.find(ctx.workspace_id, [pair])[pair]
            found.blocked = found.blocked or ctx.rules.is_blocked(*pair)
            self.idents[pair] = found
        return found

    def add_link(self, ctx: WorkspaceContext, a: uuid.UUID, b: uuid.UUID, event: Event) -> bool:
        key = (a, b) if a < b else (b, a)
        if key in self.links:
            return False
        self.links.add(key)
        self.pending_links.append(
            {
                "id": new_id(),
                "workspace_id": ctx.workspace_id,
                "a_id": key[0],
                "b_id": key[1],
                "event_id": event.id,
                "message_id": event.message_id,
                "created_at": utcnow(),
            }
        )
        return True

    def flush_links(self, session: Session) -> None:
        if self.pending_links:
            insert_ignore(
                session,
                IdentityLink.__table__,
                self.pending_links,
                ["workspace_id", "a_id", "b_id"],
            )
            self.pending_links = []

    def type_counts(self, session: Session, profile_id: uuid.UUID) -> Counter[str]:
        if profile_id not in self.counts:
            self.counts[profile_id] = Counter(
                IdentifierRepository.from_session(session).type_counts(profile_id)
            )
        return self.counts[profile_id]

    def forget(self, profile_ids: set[uuid.UUID]) -> None:
        for p in profile_ids:
            self.counts.pop(p, None)
