"""An agent's answer to a mention, delivered through the network it was posted on: a
public reply under the post, or a direct message to its author (``private``).

The inbox queues the reply (channel ``social``); the outbox hands it here after the
commit. Consent is asked again at the moment of sending (an author who asked not to be
contacted on social networks, or whose handle is suppressed, is not answered:
``refused`` with why); a network that is down or limits the rate puts the reply back in
the queue with a growing delay; the connector makes a retried reply land once."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from accord.channels.email import claim, claimed, not_sent
from accord.govern.consent.policy import Permit, may_contact
from accord.inbox.context import SYSTEM, InboxContext
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.profile.queries import live_profile
from accord.social import connections
from accord.social.models import Mention, SocialSource
from accord.social.repository import MentionRepository
from accord.social.service import identity
from accord.social.sources.base import Delivered, Post, Replier, SourceConfig, SourceError


def post_of(mention: Mention) -> Post:
    """The mention as the connector described it (what a reply needs)."""
    return Post(
        network=mention.network,
        external_id=mention.external_id,
        text=mention.text,
        posted_at=mention.posted_at,
        author_handle=mention.author_handle,
        url=mention.url,
        author_name=mention.author_name,
        author_id=mention.author_id,
        title=mention.title,
        reply_to=mention.reply_to,
        thread_root=mention.thread_root,
        reply_ref=dict(mention.reply_ref or {}),
    )


def hand_over(
    permit: Permit,
    replier: Replier,
    source: SourceConfig,
    post: Post,
    text: str,
    *,
    private: bool = False,
) -> Delivered:
    """Put the reply on the network. Only with a permit for social networks to the
    author's handle."""
    handle = identity(post.network, post.author_handle)
    if not isinstance(permit, Permit) or not permit.covers("social", handle):
        raise PermissionError(f"no permit to answer {post.author_handle} on {post.network}")
    return replier.reply(source, post, text, private=private)


def deliver_reply(
    factory: sessionmaker[Session],
    message_id: uuid.UUID,
    secret_key: str,
    publish: Callable[[uuid.UUID, dict[str, Any]], None],
    base_url: str = "http://127.0.0.1:8000",
    *,
    repliers: Mapping[str, Replier],
) -> str:
    """Claim, ask the consent policy, send and mark one queued social reply; returns its
    delivery state (see the module's docstring)."""
    if not claim(factory, message_id):
        return "taken"
    with transaction(factory) as session:
        message, conversation, workspace = claimed(session, message_id)
        attempts = int((message.meta or {}).get("attempts", 0)) + 1
        ctx = InboxContext.load(session, workspace.id, secret_key=secret_key, base_url=base_url)
        mention = _mention(session, workspace.id, message.meta or {})
        person = (
            live_profile(session, workspace.id, conversation.profile_id)
            if conversation.profile_id is not None
            else None
        )
        handle = identity(mention.network, mention.author_handle) if mention else None
        decision = may_contact(
            session,
            workspace,
            person,
            "social",
            "service",
            address=handle,
            address_type="social" if handle else None,
        )
        source = (
            session.get(SocialSource, mention.source_id) if mention and mention.source_id else None
        )
        replier = repliers.get(source.kind) if source is not None else None
        if not decision.allowed:
            message.delivery = "refused"
            message.delivery_error = decision.reason[:500]
            ctx.log(
                session,
                conversation,
                "refused",
                SYSTEM,
                channel="social",
                data={"reason": decision.reason, "code": decision.code, "purpose": "service"},
            )
        elif mention is None or source is None or replier is None:
            not_sent(
                message,
                attempts,
                SourceError("the network this mention came from cannot be answered from Accord"),
                permanent=True,
            )
        else:
            private = bool((message.meta or {}).get("private"))
            try:
                done = hand_over(
                    decision.permit(),
                    replier,
                    connections.config_of(source, secret_key),
                    post_of(mention),
                    message.body,
                    private=private,
                )
            except SourceError as exc:
                not_sent(message, attempts, exc, permanent=exc.permanent)
            else:
                now = utcnow()
                message.external_id = f"social:{mention.network}:{done.external_id}"[:400]
                message.delivery = "sent"
                message.delivery_error = None
                message.meta = {
                    **(message.meta or {}),
                    "attempts": attempts,
                    "sent_at": now.isoformat(),
                    "reply_url": done.url,
                }
                MentionRepository.from_session(session).answered(
                    [
                        m.id
                        for m in MentionRepository.from_session(session).of_conversation(
                            conversation.id
                        )
                        if m.state in ("open", "waiting", "new")
                    ]
                    or [mention.id],
                    now,
                    done.external_id,
                )
        state = message.delivery or "queued"
        workspace_id = message.workspace_id
        payload = {"type": "conversation", "what": "delivery", "id": str(conversation.id)}
    publish(workspace_id, payload)
    return state


def _mention(session: Session, workspace_id: uuid.UUID, meta: dict[str, Any]) -> Mention | None:
    raw = meta.get("mention")
    if not raw:
        return None
    try:
        return MentionRepository.from_session(session).get(workspace_id, uuid.UUID(str(raw)))
    except ValueError:
        return None
