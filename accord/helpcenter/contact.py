"""A reader who did not find the answer writes to the team from the help center: the
message opens (or continues) a conversation in the inbox like any web form, naming the
article the reader came from and what they searched for, and the visit and its searches
count as contacts in the analytics."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from accord.helpcenter import tracking
from accord.helpcenter.models import HelpVisit
from accord.inbox import intake
from accord.inbox.context import InboxContext
from accord.inbox.intake import Inbound
from accord.inbox.people import Contact
from accord.kit.errors import invalid

MAX_MESSAGE = 20_000


@dataclass(frozen=True)
class Written:
    number: int
    created: bool


def write(
    session: Session,
    ctx: InboxContext,
    visit: HelpVisit | None,
    *,
    name: str | None,
    email: str,
    message: str,
    article_title: str | None,
    article_url: str | None,
    query: str | None,
    data_dir: Path | None = None,
) -> Written:
    email = email.strip()
    message = message.strip()
    if "@" not in email or len(email) > 320:
        raise invalid("Leave an email address we can answer", field="email")
    if not message:
        raise invalid("Write your question", field="message")
    if len(message) > MAX_MESSAGE:
        raise invalid(f"A message has {MAX_MESSAGE:,} characters at most", field="message")
    context = []
    if article_title:
        context.append(f"Read before writing: {article_title}")
    if query:
        context.append(f"Searched for: {query}")
    subject = f"Help center: {article_title or query or 'a question'}"[:300]
    meta = {
        k: v
        for k, v in {"help_article": article_url, "help_query": query, "page": article_url}.items()
        if v
    }
    got = intake.receive(
        session,
        ctx,
        Inbound(
            channel="web",
            contact=Contact(email=email, name=(name or "").strip() or None),
            body=message + ("\n\n— " + "\n— ".join(context) if context else ""),
            subject=subject,
            properties={
                "source": "help center",
                **({"article": article_title} if article_title else {}),
            },
            meta=meta,
        ),
        data_dir,
    )
    if visit is not None:
        tracking.contacted(session, visit, got.conversation.id)
    session.flush()
    return Written(number=got.conversation.number, created=got.created)
