"""The SQL of social listening: sources, mentions, and the reads triage needs per batch."""

from __future__ import annotations

import uuid
from collections.abc import Collection
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from accord.inbox.models import Conversation
from accord.kit.planning import in_index_order
from accord.kit.repository import Repository
from accord.profile.models import Profile
from accord.resolve.models import Identifier
from accord.social.models import Mention, SocialAlert, SocialSource


class SourceRepository(Repository):
    def get(self, workspace_id: uuid.UUID, source_id: uuid.UUID) -> SocialSource | None:
        row = self.session.get(SocialSource, source_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def by_name(self, workspace_id: uuid.UUID, name: str) -> SocialSource | None:
        return self.session.scalar(
            select(SocialSource).where(
                SocialSource.workspace_id == workspace_id, SocialSource.name == name
            )
        )

    def of_workspace(self, workspace_id: uuid.UUID) -> list[SocialSource]:
        return list(
            self.session.scalars(
                select(SocialSource)
                .where(SocialSource.workspace_id == workspace_id)
                .order_by(SocialSource.created_at, SocialSource.id)
            )
        )

    def due(self, now: datetime, kinds: Collection[str]) -> list[tuple[uuid.UUID, uuid.UUID]]:
        """(workspace, source) of every enabled source whose next fetch has come."""
        rows = self.session.execute(
            select(SocialSource.workspace_id, SocialSource.id).where(
                SocialSource.enabled.is_(True),
                SocialSource.kind.in_(list(kinds)),
                SocialSource.status != "failing",
                or_(SocialSource.next_fetch_at.is_(None), SocialSource.next_fetch_at <= now),
                # A source a live process streams is left to it.
                or_(
                    SocialSource.stream_lease_until.is_(None),
                    SocialSource.stream_lease_until < now,
                ),
            )
        )
        return [(r[0], r[1]) for r in rows]

    def streaming(self, kinds: Collection[str]) -> list[SocialSource]:
        """Enabled sources of these kinds that are not failing (the caller keeps those
        that stream)."""
        return list(
            self.session.scalars(
                select(SocialSource).where(
                    SocialSource.enabled.is_(True),
                    SocialSource.kind.in_(list(kinds)),
                    SocialSource.status != "failing",
                )
            )
        )

    def lease(self, source_id: uuid.UUID, holder: str, now: datetime, span: timedelta) -> bool:
        """Take or renew the source's streaming lease: only when free, run out, or
        already ``holder``'s."""
        result = self.session.execute(
            update(SocialSource)
            .where(
                SocialSource.id == source_id,
                or_(
                    SocialSource.streamed_by.is_(None),
                    SocialSource.streamed_by == holder,
                    SocialSource.stream_lease_until.is_(None),
                    SocialSource.stream_lease_until < now,
                ),
            )
            .values(streamed_by=holder, stream_lease_until=now + span)
        )
        return bool(getattr(result, "rowcount", 0))

    def release_streams(self, holder: str) -> None:
        self.session.execute(
            update(SocialSource)
            .where(SocialSource.streamed_by == holder)
            .values(streamed_by=None, stream_lease_until=None)
        )

    def lock(self, source_id: uuid.UUID) -> SocialSource | None:
        """The source, locked for this transaction (one fetch of a source at a time)."""
        return self.session.scalar(
            select(SocialSource)
            .where(SocialSource.id == source_id)
            .with_for_update(skip_locked=True)
        )


class MentionRepository(Repository):
    def get(self, workspace_id: uuid.UUID, mention_id: uuid.UUID) -> Mention | None:
        row = self.session.get(Mention, mention_id)
        return row if row is not None and row.workspace_id == workspace_id else None

    def existing(
        self, workspace_id: uuid.UUID, keys: Collection[tuple[str, str]]
    ) -> dict[tuple[str, str], Mention]:
        """The stored mentions among (network, external id) pairs."""
        if not keys:
            return {}
        by_network: dict[str, list[str]] = {}
        for network, external_id in keys:
            by_network.setdefault(network, []).append(external_id)
        found: dict[tuple[str, str], Mention] = {}
        for network, external_ids in by_network.items():
            for row in self.session.scalars(
                select(Mention).where(
                    Mention.workspace_id == workspace_id,
                    Mention.network == network,
                    Mention.external_id.in_(sorted(set(external_ids))),
                )
            ):
                found[(row.network, row.external_id)] = row
        return found

    def copies(
        self, workspace_id: uuid.UUID, fingerprints: Collection[str], since: datetime
    ) -> list[tuple[str, str, str]]:
        """(fingerprint, network, author) of mentions since ``since`` with these texts."""
        if not fingerprints:
            return []
        rows = self.session.execute(
            select(Mention.fingerprint, Mention.network, Mention.author_handle).where(
                Mention.workspace_id == workspace_id,
                Mention.fingerprint.in_(sorted(set(fingerprints))),
                Mention.received_at >= since,
            )
        )
        return [(r[0], r[1], r[2]) for r in rows]

    def waiting_of(
        self, workspace_id: uuid.UUID, authors: Collection[tuple[str, str]]
    ) -> list[Mention]:
        """The mentions waiting on these (network, author) pairs."""
        if not authors:
            return []
        by_network: dict[str, set[str]] = {}
        for network, handle in authors:
            by_network.setdefault(network, set()).add(handle)
        clauses = [
            and_(Mention.network == n, Mention.author_handle.in_(sorted(hs)))
            for n, hs in by_network.items()
        ]
        return list(
            self.session.scalars(
                select(Mention).where(
                    Mention.workspace_id == workspace_id,
                    Mention.state == "waiting",
                    or_(*clauses),
                )
            )
        )

    def worst_since(self, workspace_id: uuid.UUID, since: datetime, limit: int) -> list[Mention]:
        """The brand's most negative mentions since ``since``, the widest heard first
        among equals."""
        return list(
            self.session.scalars(
                select(Mention)
                .where(
                    Mention.workspace_id == workspace_id,
                    Mention.posted_at >= since,
                    Mention.about == "brand",
                    Mention.sentiment == "negative",
                )
                .order_by(Mention.sentiment_score, Mention.influence.desc(), Mention.id)
                .limit(limit)
            )
        )

    def to_open(self, workspace_id: uuid.UUID, limit: int) -> list[Mention]:
        """Mentions to respond to without their conversation yet, the most pressing first."""
        return list(
            self.session.scalars(
                select(Mention)
                .where(
                    Mention.workspace_id == workspace_id,
                    Mention.state == "open",
                    Mention.conversation_id.is_(None),
                )
                .order_by(Mention.respond_by, Mention.id)
                .limit(limit)
            )
        )

    def workspaces_to_open(self) -> list[uuid.UUID]:
        return list(
            self.session.scalars(
                select(Mention.workspace_id)
                .where(Mention.state == "open", Mention.conversation_id.is_(None))
                .distinct()
            )
        )

    def of_conversation(self, conversation_id: uuid.UUID) -> list[Mention]:
        return list(
            self.session.scalars(
                select(Mention)
                .where(Mention.conversation_id == conversation_id)
                .order_by(Mention.posted_at)
            )
        )

    def of_person(
        self, workspace_id: uuid.UUID, profile_id: uuid.UUID, limit: int = 20
    ) -> list[Mention]:
        return list(
            self.session.scalars(
                select(Mention)
                .where(Mention.workspace_id == workspace_id, Mention.profile_id == profile_id)
                .order_by(Mention.posted_at.desc())
                .limit(limit)
            )
        )

    def listing(
        self,
        workspace_id: uuid.UUID,
        *,
        decision: str | None = None,
        state: str | None = None,
        network: str | None = None,
        sentiment: str | None = None,
        about: str | None = None,
        limit: int = 50,
        before: tuple[datetime, uuid.UUID] | None = None,
    ) -> list[Mention]:
        stmt = select(Mention).where(Mention.workspace_id == workspace_id)
        for column, value in (
            (Mention.decision, decision),
            (Mention.state, state),
            (Mention.network, network),
            (Mention.sentiment, sentiment),
            (Mention.about, about),
        ):
            if value:
                stmt = stmt.where(column == value)
        if before is not None:
            at, mid = before
            stmt = stmt.where(
                or_(Mention.posted_at < at, and_(Mention.posted_at == at, Mention.id < mid))
            )
        stmt = stmt.order_by(Mention.posted_at.desc(), Mention.id.desc()).limit(limit)
        # Along the index of this order (time, then id), never every mention sorted,
        # whatever the table's statistics.
        with in_index_order(self.session):
            return list(self.session.scalars(stmt))

    def queue(self, workspace_id: uuid.UUID, limit: int = 50) -> list[Mention]:
        """Mentions to respond to that nobody has answered, the most pressing first."""
        return list(
            self.session.scalars(
                select(Mention)
                .where(
                    Mention.workspace_id == workspace_id,
                    Mention.state == "open",
                    Mention.respond_by.is_not(None),
                )
                .order_by(Mention.respond_by, Mention.id)
                .limit(limit)
            )
        )

    def answered(
        self, mention_ids: Collection[uuid.UUID], at: datetime, reply_id: str | None
    ) -> None:
        """Mark mentions answered: the first response's time is kept once set."""
        if not mention_ids:
            return
        self.session.execute(
            update(Mention)
            .where(Mention.id.in_(list(mention_ids)), Mention.first_response_at.is_(None))
            .values(first_response_at=at)
        )
        values: dict[str, Any] = {"state": "answered"}
        if reply_id:
            values["reply_external_id"] = reply_id
        self.session.execute(
            update(Mention).where(Mention.id.in_(list(mention_ids))).values(**values)
        )


class AlertRepository(Repository):
    def going(self, workspace_id: uuid.UUID) -> dict[str, SocialAlert]:
        """The workspace's alerts that have not ended, by kind."""
        rows = self.session.scalars(
            select(SocialAlert).where(
                SocialAlert.workspace_id == workspace_id, SocialAlert.ended_at.is_(None)
            )
        )
        return {r.kind: r for r in rows}

    def recent(self, workspace_id: uuid.UUID, limit: int = 10) -> list[SocialAlert]:
        return list(
            self.session.scalars(
                select(SocialAlert)
                .where(SocialAlert.workspace_id == workspace_id)
                .order_by(SocialAlert.started_at.desc())
                .limit(limit)
            )
        )

    def watched_workspaces(self, since: datetime) -> list[uuid.UUID]:
        """Workspaces with mentions since ``since`` or an alert still going."""
        heard = select(Mention.workspace_id).where(Mention.posted_at >= since).distinct()
        going = select(SocialAlert.workspace_id).where(SocialAlert.ended_at.is_(None)).distinct()
        return sorted(set(self.session.scalars(heard)) | set(self.session.scalars(going)))


class AuthorRepository(Repository):
    """Who wrote: social handles in the identity graph and what the profile says."""

    def people(
        self, workspace_id: uuid.UUID, handles: Collection[str]
    ) -> dict[str, tuple[uuid.UUID, str | None, float]]:
        """``platform:handle`` -> (person, name, lifetime revenue) for handles known."""
        if not handles:
            return {}
        rows = self.session.execute(
            select(Identifier.value, Profile.id, Profile.display_name, Profile.revenue)
            .join(Profile, Profile.id == Identifier.profile_id)
            .where(
                Identifier.workspace_id == workspace_id,
                Identifier.type == "social",
                Identifier.value.in_(sorted(set(handles))),
                Profile.merged_into_id.is_(None),
            )
        )
        return {r[0]: (r[1], r[2], float(r[3] or 0)) for r in rows}

    def open_conversations(self, profile_ids: Collection[uuid.UUID]) -> dict[uuid.UUID, int]:
        if not profile_ids:
            return {}
        rows = self.session.execute(
            select(Conversation.profile_id, func.count())
            .where(
                Conversation.profile_id.in_(list(profile_ids)),
                Conversation.status.in_(("open", "pending", "snoozed")),
            )
            .group_by(Conversation.profile_id)
        )
        return {r[0]: int(r[1]) for r in rows if r[0] is not None}
