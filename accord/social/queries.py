"""What the API and the console read of listening: sources, mentions, the triage queue."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy.orm import Session

from accord.kit.errors import not_found
from accord.social.models import Mention, SocialSource
from accord.social.repository import MentionRepository, SourceRepository


def sources(session: Session, workspace_id: uuid.UUID) -> list[SocialSource]:
    return SourceRepository.from_session(session).of_workspace(workspace_id)


def source_for_push(
    session: Session, workspace_id: uuid.UUID, source_id: uuid.UUID
) -> SocialSource | None:
    """The source a webhook names (None rather than an error: the caller answers 401)."""
    return SourceRepository.from_session(session).get(workspace_id, source_id)


def mention(session: Session, workspace_id: uuid.UUID, mention_id: uuid.UUID) -> Mention:
    row = MentionRepository.from_session(session).get(workspace_id, mention_id)
    if row is None:
        raise not_found("Mention", field="mention_id")
    return row


def mentions(
    session: Session,
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
    return MentionRepository.from_session(session).listing(
        workspace_id,
        decision=decision,
        state=state,
        network=network,
        sentiment=sentiment,
        about=about,
        limit=limit,
        before=before,
    )


def queue(session: Session, workspace_id: uuid.UUID, limit: int = 50) -> list[Mention]:
    """Mentions to respond to that nobody has answered, the most pressing first."""
    return MentionRepository.from_session(session).queue(workspace_id, limit)


def of_person(session: Session, workspace_id: uuid.UUID, profile_id: uuid.UUID) -> list[Mention]:
    return MentionRepository.from_session(session).of_person(workspace_id, profile_id)


def of_conversation(session: Session, conversation_id: uuid.UUID) -> list[Mention]:
    return MentionRepository.from_session(session).of_conversation(conversation_id)
