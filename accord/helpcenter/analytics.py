"""What the help center's readers did, over a period: views and unique readers, time
reading, votes, searches and the ones that found nothing or led to a contact (content
gaps, grouped by query), articles read before a contact anyway, deflection (visits that
ended without a conversation), the least helpful articles, and each day's figures."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session

from accord.helpcenter.models import (
    HelpArticle,
    HelpRead,
    HelpReplyLink,
    HelpSearch,
    HelpTranslation,
    HelpVisit,
    HelpVote,
)
from accord.helpcenter.tracking import VISIT_GAP
from accord.kit.time import utcnow

TOP = 20
MIN_VOTES = 3  # an article is ranked by helpfulness once it has this many votes


@dataclass
class Report:
    since: datetime
    until: datetime
    views: int = 0
    readers: int = 0
    average_seconds: float | None = None
    helpful: int = 0
    unhelpful: int = 0
    searches: int = 0
    searches_without_results: int = 0
    visits: int = 0
    visits_contacted: int = 0
    visits_answered: int = 0
    deflection_rate: float | None = None
    content_gaps: list[dict[str, Any]] = field(default_factory=list)
    searches_then_contact: list[dict[str, Any]] = field(default_factory=list)
    read_then_contact: list[dict[str, Any]] = field(default_factory=list)
    top_articles: list[dict[str, Any]] = field(default_factory=list)
    least_helpful: list[dict[str, Any]] = field(default_factory=list)
    replies_with_articles: int = 0
    linked: list[dict[str, Any]] = field(default_factory=list)
    days: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _titles(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple[str, str]]:
    """Each article's slug and a title (the first live translation's, else a draft's)."""
    if not ids:
        return {}
    rows = session.execute(
        select(
            HelpArticle.id,
            HelpArticle.slug,
            HelpTranslation.published_title,
            HelpTranslation.title,
        )
        .join(HelpTranslation, HelpTranslation.article_id == HelpArticle.id)
        .where(HelpArticle.id.in_(ids))
        .order_by(HelpArticle.id, HelpTranslation.published_version.is_(None))
    )
    out: dict[uuid.UUID, tuple[str, str]] = {}
    for article_id, slug, published, draft in rows:
        out.setdefault(article_id, (slug, published or draft))
    return out


def _day(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def report(
    session: Session, workspace_id: uuid.UUID, since: datetime, until: datetime | None = None
) -> Report:
    until = until or utcnow()
    out = Report(since=since, until=until)
    reads = and_(HelpRead.workspace_id == workspace_id, HelpRead.at >= since, HelpRead.at < until)
    views, seconds = session.execute(
        select(
            func.count(),
            func.avg(case((HelpRead.seconds > 0, HelpRead.seconds))),
        ).where(reads)
    ).one()
    out.views = int(views or 0)
    out.average_seconds = round(float(seconds), 1) if seconds is not None else None
    out.readers = int(
        session.scalar(
            select(func.count(func.distinct(HelpVisit.reader)))
            .select_from(HelpRead)
            .join(HelpVisit, HelpVisit.id == HelpRead.visit_id)
            .where(reads)
        )
        or 0
    )
    votes = and_(HelpVote.workspace_id == workspace_id, HelpVote.at >= since, HelpVote.at < until)
    for helpful, count in session.execute(
        select(HelpVote.helpful, func.count()).where(votes).group_by(HelpVote.helpful)
    ):
        if helpful:
            out.helpful = int(count)
        else:
            out.unhelpful = int(count)

    searches = and_(
        HelpSearch.workspace_id == workspace_id, HelpSearch.at >= since, HelpSearch.at < until
    )
    total, empty = session.execute(
        select(func.count(), func.sum(case((HelpSearch.results == 0, 1), else_=0))).where(searches)
    ).one()
    out.searches, out.searches_without_results = int(total or 0), int(empty or 0)
    out.content_gaps = _grouped(session, and_(searches, HelpSearch.results == 0))
    out.searches_then_contact = _grouped(session, and_(searches, HelpSearch.contacted.is_(True)))

    # Visits that have ended (no page for half an hour) count for deflection.
    ended = and_(
        HelpVisit.workspace_id == workspace_id,
        HelpVisit.started_at >= since,
        HelpVisit.started_at < until,
        HelpVisit.last_at < utcnow() - VISIT_GAP,
    )
    visits, contacted, answered = session.execute(
        select(
            func.count(),
            func.sum(case((HelpVisit.contacted.is_(True), 1), else_=0)),
            func.sum(case((HelpVisit.answered.is_(True), 1), else_=0)),
        ).where(ended)
    ).one()
    out.visits, out.visits_contacted = int(visits or 0), int(contacted or 0)
    out.visits_answered = int(answered or 0)
    if out.visits:
        out.deflection_rate = round(1 - out.visits_contacted / out.visits, 4)

    contact_reads = list(
        session.execute(
            select(HelpRead.article_id, func.count())
            .join(HelpVisit, HelpVisit.id == HelpRead.visit_id)
            .where(reads, HelpVisit.contacted.is_(True))
            .group_by(HelpRead.article_id)
            .order_by(func.count().desc())
            .limit(TOP)
        )
    )
    top_reads = list(
        session.execute(
            select(HelpRead.article_id, func.count())
            .where(reads)
            .group_by(HelpRead.article_id)
            .order_by(func.count().desc())
            .limit(TOP)
        )
    )
    vote_rows = list(
        session.execute(
            select(
                HelpVote.article_id,
                func.sum(case((HelpVote.helpful.is_(True), 1), else_=0)),
                func.count(),
            )
            .where(votes)
            .group_by(HelpVote.article_id)
            .having(func.count() >= MIN_VOTES)
        )
    )
    links = and_(
        HelpReplyLink.workspace_id == workspace_id,
        HelpReplyLink.at >= since,
        HelpReplyLink.at < until,
    )
    linked_rows = list(
        session.execute(
            select(
                HelpReplyLink.article_id,
                func.count(),
                func.count(func.distinct(HelpReplyLink.conversation_id)),
            )
            .where(links)
            .group_by(HelpReplyLink.article_id)
            .order_by(func.count().desc())
            .limit(TOP)
        )
    )
    out.replies_with_articles = int(
        session.scalar(select(func.count(func.distinct(HelpReplyLink.message_id))).where(links))
        or 0
    )
    ids = list(
        {r[0] for r in contact_reads + top_reads + linked_rows + [(v[0],) for v in vote_rows]}
    )
    titles = _titles(session, ids)

    def named(article_id: uuid.UUID, **extra: Any) -> dict[str, Any]:
        slug, title = titles.get(article_id, ("", ""))
        return {"article_id": str(article_id), "slug": slug, "title": title, **extra}

    out.read_then_contact = [named(a, reads=int(n)) for a, n in contact_reads]
    out.top_articles = [named(a, views=int(n)) for a, n in top_reads]
    ranked = sorted(vote_rows, key=lambda v: (int(v[1]) / int(v[2]), -int(v[2])))
    least = ranked[:TOP]
    comments = _comments(session, votes, [a for a, _, _ in least])
    out.least_helpful = [
        named(
            a,
            helpful=int(h),
            votes=int(n),
            helpful_rate=round(int(h) / int(n), 3),
            comments=comments.get(a, []),
        )
        for a, h, n in least
    ]
    out.linked = [named(a, links=int(n), conversations=int(c)) for a, n, c in linked_rows]
    out.days = _days(session, reads, searches)
    return out


def _comments(
    session: Session, votes: Any, article_ids: list[uuid.UUID], per_article: int = 5
) -> dict[uuid.UUID, list[str]]:
    """What the readers who found an article unhelpful wrote, the latest first."""
    if not article_ids:
        return {}
    rows = session.execute(
        select(HelpVote.article_id, HelpVote.comment)
        .where(
            votes,
            HelpVote.article_id.in_(article_ids),
            HelpVote.helpful.is_(False),
            HelpVote.comment.is_not(None),
            HelpVote.comment != "",
        )
        .order_by(HelpVote.at.desc())
        .limit(per_article * len(article_ids) * 4)
    )
    out: dict[uuid.UUID, list[str]] = {}
    for article_id, comment in rows:
        kept = out.setdefault(article_id, [])
        if len(kept) < per_article:
            kept.append(str(comment))
    return out


def _grouped(session: Session, where: Any) -> list[dict[str, Any]]:
    rows = session.execute(
        select(
            HelpSearch.normalized,
            func.count(),
            func.count(func.distinct(HelpSearch.visit_id)),
            func.max(HelpSearch.at),
        )
        .where(where)
        .group_by(HelpSearch.normalized)
        .order_by(func.count().desc(), HelpSearch.normalized)
        .limit(TOP)
    )
    return [
        {"query": q, "searches": int(n), "visits": int(v), "last_at": last}
        for q, n, v, last in rows
    ]


def _days(session: Session, reads: Any, searches: Any) -> list[dict[str, Any]]:
    days: dict[date, dict[str, Any]] = {}

    def slot(value: Any) -> dict[str, Any]:
        day = _day(value)
        return days.setdefault(
            day, {"day": day.isoformat(), "views": 0, "searches": 0, "failed": 0, "contacts": 0}
        )

    day = func.date(HelpRead.at)
    for value, n in session.execute(select(day, func.count()).where(reads).group_by(day)):
        slot(value)["views"] = int(n)
    sday = func.date(HelpSearch.at)
    for value, n, failed, contacts in session.execute(
        select(
            sday,
            func.count(),
            func.sum(case((HelpSearch.results == 0, 1), else_=0)),
            func.sum(case((HelpSearch.contacted.is_(True), 1), else_=0)),
        )
        .where(searches)
        .group_by(sday)
    ):
        row = slot(value)
        row["searches"], row["failed"], row["contacts"] = (
            int(n),
            int(failed or 0),
            int(contacts or 0),
        )
    return [days[d] for d in sorted(days)]
