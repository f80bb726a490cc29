"""The chat so far, by email. A transcript leaves through the business's relay from its
support address, so it goes only to an address the visitor is known by: the email the
site's server vouched for, an identity vouched for on the conversation's chat, or an
address the conversation holds an email from. A visitor nobody vouched for gets none
(whatever they type is a claim, see :mod:`accord.chat.identity`), and a conversation
sends at most one transcript every few minutes."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from accord.chat import visible
from accord.chat.identity import vouched
from accord.chat.models import ChatVisitor
from accord.chat.repository import ChatMessageRepository
from accord.chat.service import ChatContext, chat_of
from accord.govern.consent.policy import may_contact
from accord.inbox.messages import add_message
from accord.inbox.models import Conversation, Message
from accord.inbox.repository import ConversationRepository
from accord.inbox.service import person_of
from accord.kit.errors import AccordError, forbidden
from accord.kit.time import utcnow

EVERY = timedelta(minutes=10)
SENT = "transcript_sent"


def known_addresses(
    session: Session, visitor: ChatVisitor, conversation: Conversation
) -> list[str]:
    """The email addresses a transcript of ``conversation`` may go to for ``visitor``,
    the one vouched for by the site first; none for a visitor nobody vouched for."""
    if not vouched(visitor):
        return []
    out: list[str] = []
    if visitor.verified_email:
        out.append(visitor.verified_email.lower())
    for channel, address, meta in ChatMessageRepository.from_session(session).inbound(
        conversation.id
    ):
        if channel == "email" and address and "@" in address:
            out.append(address.lower())
        for identity in meta.get("vouched") or []:
            if isinstance(identity, str) and identity.startswith("email:"):
                out.append(identity.removeprefix("email:").lower())
    return list(dict.fromkeys(out))


def send(session: Session, ctx: ChatContext, visitor: ChatVisitor, email: str = "") -> Message:
    """Email the visitor's chat so far, through the outbox, to ``email`` (or, when none is
    given, to the first address they are known by). Refused with 403 for a visitor nobody
    vouched for or an address they are not known by, and with 429 within minutes of the
    conversation's last transcript."""
    conversation = chat_of(session, ctx, visitor)
    if not vouched(visitor):
        raise forbidden(
            "A transcript can be emailed only to an address the site has confirmed is "
            "yours; sign in on the site first",
            code="transcript_unverified",
        )
    known = known_addresses(session, visitor, conversation)
    wanted = (email or "").strip().lower()
    if wanted and wanted not in known:
        raise AccordError(
            "A transcript can be emailed only to the address you are signed in with",
            code="transcript_address_unknown",
            status=403,
            field="email",
        )
    if not known:
        raise forbidden(
            "We have no confirmed email address for you to send the transcript to",
            code="transcript_no_address",
        )
    address = wanted or known[0]
    person = person_of(session, conversation)
    may_contact(session, ctx.inbox.workspace, person, "email", "service", address=address).permit()
    ConversationRepository.from_session(session).lock(conversation)
    now = utcnow()
    last = ChatMessageRepository.from_session(session).last_logged(conversation.id, SENT)
    if last is not None and now - last < EVERY:
        wait = int((last + EVERY - now).total_seconds()) + 1
        raise AccordError(
            f"A transcript of this chat was sent a moment ago; try again in "
            f"{max(wait // 60, 1)} minutes",
            code="transcript_too_soon",
            status=429,
            headers={"Retry-After": str(wait)},
        )
    lines = [f"Your chat with {ctx.inbox.settings.support_name}", ""]
    for m in visible.visible_messages(session, visitor):
        who = (m.author_name or "Support") if m.direction == "out" else "You"
        lines.append(f"[{m.created_at.strftime('%Y-%m-%d %H:%M')} UTC] {who}: {m.body}")
    message = add_message(
        session,
        ctx.inbox,
        conversation,
        direction="out",
        channel="email",
        body="\n".join(lines),
        at=now,
        author_name=ctx.inbox.settings.support_name,
        address=address,
        subject=f"Your chat transcript (conversation #{conversation.number})",
        delivery="queued",
        meta={"kind": "chat_transcript", "visitor": str(visitor.id)},
        automated=True,
        event=SENT,
        event_data={"to": address},
    )
    session.flush()
    return message
