"""What readers do in the help center, kept for its analytics: visits (a reader's pages
within half an hour of each other), articles read (and for how long), "was this
helpful?" votes with comments, which search result was opened, and whether a visit ended
in a contact or in an answer. A reader the tracker knows (the site's first-party
``accord_aid`` cookie) also gets each article read as an ``Article Viewed`` event, which
lands on their timeline once resolved."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from accord.collect import service as collect
from accord.govern.workspaces.models import Workspace
from accord.helpcenter.models import HelpArticle, HelpRead, HelpSearch, HelpVisit, HelpVote
from accord.kit.errors import invalid, not_found
from accord.kit.ids import new_id
from accord.kit.repository import Repository
from accord.kit.time import utcnow

VISIT_GAP = timedelta(minutes=30)
ARTICLE_VIEWED = "Article Viewed"
SOURCE = "accord-helpcenter"
MAX_READ_SECONDS = 3600


class TrackingRepository(Repository):
    def open_visit(
        self, workspace_id: uuid.UUID, reader: str, source: str, since: datetime
    ) -> HelpVisit | None:
        stmt = (
            select(HelpVisit)
            .where(
                HelpVisit.workspace_id == workspace_id,
                HelpVisit.reader == reader,
                HelpVisit.last_at >= since,
                HelpVisit.source == source,
            )
            .order_by(HelpVisit.last_at.desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    def count_view(self, article_id: uuid.UUID) -> None:
        self.session.execute(
            update(HelpArticle)
            .where(HelpArticle.id == article_id)
            .values(views=HelpArticle.views + 1)
        )

    def count_vote(self, article_id: uuid.UUID, helpful: bool) -> None:
        column = HelpArticle.helpful if helpful else HelpArticle.unhelpful
        self.session.execute(
            update(HelpArticle).where(HelpArticle.id == article_id).values({column.key: column + 1})
        )

    def searches_of(self, visit_id: uuid.UUID) -> list[HelpSearch]:
        return list(self.session.scalars(select(HelpSearch).where(HelpSearch.visit_id == visit_id)))


def visit(
    session: Session, workspace_id: uuid.UUID, reader: str, source: str = "center"
) -> HelpVisit:
    """The reader's visit now (of the help center, the widget's or the form's
    suggestions, ``source``): the one they are in, or a new one."""
    now = utcnow()
    repo = TrackingRepository.from_session(session)
    found = repo.open_visit(workspace_id, reader[:64], source, now - VISIT_GAP)
    if found is not None:
        found.last_at = now
        return found
    found = HelpVisit(
        id=new_id(),
        workspace_id=workspace_id,
        reader=reader[:64],
        source=source,
        started_at=now,
        last_at=now,
        articles=0,
        searches=0,
        answered=False,
        contacted=False,
    )
    session.add(found)
    session.flush()
    return found


def searched(session: Session, visit_: HelpVisit) -> None:
    visit_.searches += 1


def read(
    session: Session,
    workspace: Workspace,
    visit_: HelpVisit,
    article: HelpArticle,
    locale: str,
    *,
    title: str,
    url: str,
    from_search: uuid.UUID | None = None,
    anonymous_id: str | None = None,
    ip: str | None = None,
) -> HelpRead:
    """An article opened: counted, its read kept (its seconds come later from the
    page), the search it was found by marked, and for a reader the tracker knows, an
    ``Article Viewed`` event."""
    now = utcnow()
    row = HelpRead(
        id=new_id(),
        workspace_id=workspace.id,
        article_id=article.id,
        visit_id=visit_.id,
        locale=locale,
        seconds=0,
        at=now,
    )
    session.add(row)
    visit_.articles += 1
    repo = TrackingRepository.from_session(session)
    repo.count_view(article.id)
    if from_search is not None:
        search = session.get(HelpSearch, from_search)
        if search is not None and search.workspace_id == workspace.id:
            search.clicked_article_id = search.clicked_article_id or article.id
    if anonymous_id:
        message: dict[str, Any] = {
            "type": "track",
            "event": ARTICLE_VIEWED,
            "messageId": f"help-read-{row.id}",
            "anonymousId": anonymous_id,
            "timestamp": now.isoformat(),
            "properties": {
                "article_id": str(article.id),
                "slug": article.slug,
                "title": title,
                "locale": locale,
                "url": url,
            },
            "context": {"channel": "web", "page": {"url": url, "title": title}},
        }
        collect.accept(
            session,
            workspace_id=workspace.id,
            source=SOURCE,
            region=workspace.default_region,
            messages=[message],
            received_at=now,
            field_prefix="",
            ip=ip,
        )
    session.flush()
    return row


def reading_time(
    session: Session, workspace_id: uuid.UUID, read_id: uuid.UUID, seconds: int
) -> None:
    """How long the page was read (sent by the page as it is left; the longest report
    counts, capped at an hour)."""
    row = session.get(HelpRead, read_id)
    if row is None or row.workspace_id != workspace_id:
        raise not_found("Read", field="read_id")
    row.seconds = max(row.seconds, min(max(int(seconds), 0), MAX_READ_SECONDS))


def vote(
    session: Session,
    workspace_id: uuid.UUID,
    visit_: HelpVisit | None,
    article: HelpArticle,
    locale: str,
    helpful: bool,
    comment: str | None,
) -> HelpVote:
    comment = (comment or "").strip() or None
    if comment is not None and len(comment) > 2000:
        raise invalid("A comment has 2,000 characters at most", field="comment")
    row = HelpVote(
        id=new_id(),
        workspace_id=workspace_id,
        article_id=article.id,
        visit_id=visit_.id if visit_ is not None else None,
        locale=locale,
        helpful=helpful,
        comment=comment,
        at=utcnow(),
    )
    session.add(row)
    TrackingRepository.from_session(session).count_vote(article.id, helpful)
    if helpful and visit_ is not None:
        visit_.answered = True
    session.flush()
    return row


def answered(session: Session, visit_: HelpVisit) -> None:
    """The reader said an answer solved it (the widget's and the form's "this answered
    my question"): the visit is deflected."""
    visit_.answered = True


def contacted(session: Session, visit_: HelpVisit, conversation_id: uuid.UUID | None) -> None:
    """The visit led to a conversation (``None``: the widget's or the form's question
    sent on after the suggestions): it and its searches count as contacts."""
    visit_.contacted = True
    visit_.conversation_id = conversation_id or visit_.conversation_id
    for search in TrackingRepository.from_session(session).searches_of(visit_.id):
        search.contacted = True
