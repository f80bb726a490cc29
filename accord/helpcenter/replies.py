"""The knowledge base in the agents' replies: finding an article while answering (the
agents' own articles too), its link or its text for the reply, the articles a sent reply
linked to (for the analytics), and a good reply turned into a draft article in one step,
without the customer's name, address or the greeting and sign-off of a letter."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.helpcenter import reading, service
from accord.helpcenter.models import HelpArticle, HelpReplyLink
from accord.helpcenter.reading import Found
from accord.helpcenter.schemas import ArticleIn
from accord.kit.errors import not_found
from accord.kit.ids import new_id
from accord.kit.repository import Repository
from accord.kit.time import utcnow

TITLE_CHARS = 120
GREETING = re.compile(r"^(hi|hello|hey|dear|good (morning|afternoon|evening)|hallo|hej)\b.*$", re.I)
SIGN_OFF = re.compile(
    r"^(best|kind regards|regards|best regards|thanks|thank you|cheers|sincerely|"
    r"many thanks|all the best|viele grüße|mit freundlichen grüßen)\b[\s,.!]*$",
    re.I,
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d ()/-]{7,}\d")
ORDER = re.compile(
    r"(?i)\b(order|invoice|ticket)\s*(?:no\.?|number|#)\s*:?\s*#?[a-z0-9-]*\d[a-z0-9-]*"
    r"|#\d{3,}"
)


@dataclass(frozen=True)
class Insert:
    """What a reply can take from an article: its public link (none for an agents-only
    article) and its text, in the workspace's language when there is one."""

    article_id: uuid.UUID
    title: str
    text: str
    url: str | None


class ReplyLinkRepository(Repository):
    def articles_by_slug(self, workspace_id: uuid.UUID, slugs: list[str]) -> list[HelpArticle]:
        return list(
            self.session.scalars(
                select(HelpArticle).where(
                    HelpArticle.workspace_id == workspace_id, HelpArticle.slug.in_(slugs)
                )
            )
        )

    def linked(self, message_id: uuid.UUID) -> set[uuid.UUID]:
        rows = self.session.scalars(
            select(HelpReplyLink.article_id).where(HelpReplyLink.message_id == message_id)
        )
        return set(rows)


def public_url(base_url: str, workspace: Workspace, slug: str) -> str:
    return f"{base_url.rstrip('/')}/help/{workspace.slug}/articles/{slug}"


def find(session: Session, workspace: Workspace, text: str, *, limit: int = 8) -> list[Found]:
    """Articles for an agent's words as they type (the agents-only ones too); not kept
    among the readers' searches."""
    if not text.strip():
        return []
    return reading.search(
        session, workspace, text, None, internal=True, typing=True, limit=limit, record=False
    ).found


def insert(session: Session, workspace: Workspace, article_id: uuid.UUID, base_url: str) -> Insert:
    """The live text of an article (the default language first) and its public link."""
    view = service.get_article(session, workspace.id, article_id)
    settings = service.settings_of(workspace)
    live = [t for t in view.translations if t.published_version is not None]
    if not live:
        raise not_found("Published article", field="article_id")
    chosen = next((t for t in live if t.locale == settings.default_locale), live[0])
    url = None
    if view.article.visibility == "public":
        url = public_url(base_url, workspace, view.article.slug)
    # The text readers see: the version published last (the one being edited may differ).
    published = next(
        (
            r
            for r in service.revisions(session, workspace.id, article_id, chosen.locale)
            if r.number == chosen.published_version
        ),
        None,
    )
    text = published.body if published is not None else chosen.body
    return Insert(article_id, chosen.published_title or chosen.title, text.strip(), url)


def linked_in_reply(
    session: Session,
    workspace: Workspace,
    *,
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
    body: str,
) -> int:
    """Note the workspace's articles a sent reply links to (its help center's article
    addresses in the text); returns how many."""
    pattern = re.compile(rf"/help/{re.escape(workspace.slug)}/articles/([a-z0-9-]+)")
    slugs = list(dict.fromkeys(pattern.findall(body)))
    if not slugs:
        return 0
    repo = ReplyLinkRepository.from_session(session)
    known = repo.linked(message_id)
    now = utcnow()
    added = 0
    for article in repo.articles_by_slug(workspace.id, slugs):
        if article.id in known:
            continue
        session.add(
            HelpReplyLink(
                id=new_id(),
                workspace_id=workspace.id,
                article_id=article.id,
                conversation_id=conversation_id,
                message_id=message_id,
                at=now,
            )
        )
        added += 1
    session.flush()
    return added


def impersonal(text: str, personal: list[str]) -> str:
    """A reply as an article: no greeting line, nothing from the sign-off on, and the
    customer's name, email addresses, phone numbers and order numbers left out."""
    lines = text.strip().splitlines()
    while lines and (not lines[0].strip() or GREETING.match(lines[0].strip())):
        lines.pop(0)
    for i, line in enumerate(lines):
        if SIGN_OFF.match(line.strip()):
            lines = lines[:i]
            break
    out = "\n".join(lines).strip()
    out = EMAIL.sub("[email address]", out)
    out = PHONE.sub("[phone number]", out)
    out = ORDER.sub(lambda m: (m.group(1) or "") + " [number]" if m.group(1) else "[number]", out)
    for word in sorted({p.strip() for p in personal if p and len(p.strip()) > 1}, key=len):
        out = re.sub(rf"\b{re.escape(word)}\b", "", out, flags=re.I)
    out = re.sub(r"[ \t]+([,.!?])", r"\1", out)
    out = re.sub(r"(?m)^[ \t]*[,.;:][ \t]*", "", out)
    out = re.sub(r"(?m)^([a-zäöü])", lambda m: m.group(1).upper(), out)
    out = re.sub(r"[ \t]{2,}", " ", out)
    return out.strip()


def draft_from_reply(
    session: Session,
    actor: Principal,
    *,
    subject: str,
    question: str,
    reply: str,
    personal: list[str],
) -> service.ArticleView:
    """A draft article from a reply that answered well: the conversation's subject (or
    the customer's question) as its title, the reply without what was personal as its
    text. A draft, for a writer to read over before it is published."""
    first_line = question.strip().splitlines()[0] if question.strip() else ""
    title_source = subject.strip() or first_line
    title = impersonal(title_source or "Answer from a reply", personal)[:TITLE_CHARS].strip()
    body = impersonal(reply, personal)
    return service.create_article(
        session,
        actor,
        ArticleIn(title=title or "Answer from a reply", body=body, status="draft"),
    )
