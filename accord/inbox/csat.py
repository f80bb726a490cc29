"""Customer satisfaction: after a conversation is resolved the customer gets a 1-5
survey (an email with one link per score); the answer, with an optional comment, is
stored on the conversation and logged."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.govern.consent.policy import may_contact
from accord.inbox.context import SYSTEM, InboxContext
from accord.inbox.messages import add_message
from accord.inbox.models import Conversation
from accord.inbox.repository import ConversationRepository, MessageRepository
from accord.kit.errors import forbidden, invalid, not_found
from accord.kit.security import constant_time_equals, sign
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.profile.queries import live_profile

SCORES = {
    1: "Very dissatisfied",
    2: "Dissatisfied",
    3: "Neutral",
    4: "Satisfied",
    5: "Very satisfied",
}


def token(secret_key: str, conversation_id: uuid.UUID) -> str:
    return sign(secret_key, f"csat:{conversation_id}")[:32]


def check_token(secret_key: str, conversation_id: uuid.UUID, given: str) -> None:
    if not constant_time_equals(token(secret_key, conversation_id), given or ""):
        raise forbidden("This survey link is not valid", code="bad_survey_token")


def surveyed(
    session: Session, secret_key: str, conversation_id: uuid.UUID, given: str
) -> Conversation:
    """The conversation a survey link names, once its signature is checked."""
    check_token(secret_key, conversation_id, given)
    conversation = ConversationRepository.from_session(session).by_id(conversation_id)
    if conversation is None:
        raise not_found("Conversation", field="conversation_id")
    return conversation


def survey_url(ctx: InboxContext, conversation: Conversation, score: int | None = None) -> str:
    url = f"{ctx.base_url}/csat/{conversation.id}?t={token(ctx.secret_key, conversation.id)}"
    return f"{url}&score={score}" if score else url


def _email_of(session: Session, conversation: Conversation) -> tuple[Profile | None, str | None]:
    person = (
        live_profile(session, conversation.workspace_id, conversation.profile_id)
        if conversation.profile_id is not None
        else None
    )
    last = MessageRepository.from_session(session).last_inbound(conversation.id, "email")
    if last is not None and last.address:
        return person, last.address
    return person, person.email if person is not None else None


def request_survey(session: Session, ctx: InboxContext, conversation: Conversation) -> None:
    """Queue the survey email once per resolution; nothing when the workspace turned
    surveys off, the customer has no email address or already answered. A survey is
    sent only where the consent policy allows surveys by email; when it does not, the
    conversation's log says why."""
    if not ctx.settings.csat or conversation.csat_score is not None:
        return
    person, address = _email_of(session, conversation)
    if address is None:
        return
    decision = may_contact(session, ctx.workspace, person, "email", "surveys", address=address)
    if not decision.allowed:
        ctx.log(
            session,
            conversation,
            "csat_not_sent",
            SYSTEM,
            channel="email",
            data={"reason": decision.reason, "code": decision.code},
        )
        return
    lines = [
        f"Your conversation #{conversation.number} with {ctx.settings.support_name} was resolved.",
        "How did we do? Choose one:",
        "",
        *(f"  {n} - {label}: {survey_url(ctx, conversation, n)}" for n, label in SCORES.items()),
        "",
        "Thank you for telling us.",
    ]
    add_message(
        session,
        ctx,
        conversation,
        direction="out",
        channel="email",
        body="\n".join(lines),
        author=SYSTEM,
        author_name=ctx.settings.support_name,
        address=address,
        subject=f"How did we do? (conversation #{conversation.number})",
        delivery="queued",
        meta={"kind": "csat_survey"},
        automated=True,
        event="csat_requested",
        event_data={},
    )


def record(
    session: Session,
    ctx: InboxContext,
    conversation: Conversation,
    score: int,
    comment: str | None,
) -> None:
    if score not in SCORES:
        raise invalid("The score must be 1 to 5", field="score")
    conversation.csat_score = score
    conversation.csat_comment = (comment or "").strip()[:2000] or None
    conversation.csat_at = utcnow()
    ctx.log(
        session,
        conversation,
        "csat",
        None,
        data={"score": score, "comment": conversation.csat_comment},
    )
    ctx.changed(session, conversation, "csat")
