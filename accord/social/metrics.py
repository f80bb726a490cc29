"""Listening metrics over a window of days: mention volume and sentiment by day, share of
voice, networks, response time and rate for the mentions to respond to, top authors and
topics; and the alert of a brewing crisis (``alert``): a spike of volume or of negative
sentiment in the last window against the usual rate."""

from __future__ import annotations

import re
import statistics
import uuid
from collections import Counter
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.kit.time import utcnow
from accord.social.models import Mention
from accord.social.settings import LISTENING

HASHTAG = re.compile(r"(?<![\w#])#(\w{2,50})")


class Day(BaseModel):
    day: str
    mentions: int
    positive: int
    neutral: int
    negative: int
    score: float  # the day's average sentiment score


class Share(BaseModel):
    name: str
    mentions: int
    share: float


class Author(BaseModel):
    network: str
    handle: str
    name: str | None
    mentions: int
    followers: int | None
    influence: float
    negative: int
    profile_id: uuid.UUID | None


class Response(BaseModel):
    to_respond: int
    answered: int
    rate: float | None  # answered / to respond
    median_minutes: float | None
    p90_minutes: float | None
    within_sla: float | None  # share of the answered that met their deadline
    overdue: int  # still open past their deadline


class Alert(BaseModel):
    kind: str  # volume or negative
    message: str
    mentions: int
    usual: float
    negative_share: float


class Metrics(BaseModel):
    days: int
    since: datetime
    mentions: int
    by_day: list[Day]
    sentiment: dict[str, int]
    share_of_voice: list[Share]
    networks: dict[str, int]
    decisions: dict[str, int]
    intents: dict[str, int]
    response: Response
    top_authors: list[Author]
    topics: list[Share]
    alerts: list[Alert]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return round(ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo), 1)


def compute(
    session: Session, workspace: Workspace, *, days: int = 30, now: datetime | None = None
) -> Metrics:
    now = now or utcnow()
    since = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    rows = list(
        session.execute(
            select(
                Mention.posted_at,
                Mention.received_at,
                Mention.sentiment,
                Mention.sentiment_score,
                Mention.about,
                Mention.network,
                Mention.decision,
                Mention.state,
                Mention.respond_by,
                Mention.first_response_at,
                Mention.author_handle,
                Mention.author_name,
                Mention.followers,
                Mention.influence,
                Mention.profile_id,
                Mention.matched,
                Mention.intent,
                Mention.text,
            ).where(Mention.workspace_id == workspace.id, Mention.posted_at >= since)
        )
    )
    by_day: dict[str, list[Any]] = {}
    for i in range(days):
        by_day[(since + timedelta(days=i)).date().isoformat()] = []
    sentiment: Counter[str] = Counter()
    about: Counter[str] = Counter()
    networks: Counter[str] = Counter()
    decisions: Counter[str] = Counter()
    intents: Counter[str] = Counter()
    topics: Counter[str] = Counter()
    authors: dict[tuple[str, str], dict[str, Any]] = {}
    waits: list[float] = []
    met = answered = to_respond = overdue = 0
    for r in rows:
        by_day.setdefault(r.posted_at.date().isoformat(), []).append(r)
        sentiment[r.sentiment] += 1
        about[r.about] += 1
        networks[r.network] += 1
        decisions[r.decision] += 1
        if r.intent:
            intents[r.intent] += 1
        for term in r.matched or []:
            topics[str(term)] += 1
        for tag in HASHTAG.findall(r.text or ""):
            topics["#" + tag.lower()] += 1
        key = (r.network, r.author_handle.lower())
        a = authors.setdefault(
            key,
            {
                "network": r.network,
                "handle": r.author_handle,
                "name": r.author_name,
                "mentions": 0,
                "followers": r.followers,
                "influence": r.influence,
                "negative": 0,
                "profile_id": r.profile_id,
            },
        )
        a["mentions"] += 1
        a["negative"] += r.sentiment == "negative"
        a["influence"] = max(a["influence"], r.influence)
        a["followers"] = max(a["followers"] or 0, r.followers or 0) or a["followers"]
        a["profile_id"] = a["profile_id"] or r.profile_id
        if r.decision == "respond":
            to_respond += 1
            if r.first_response_at is not None:
                answered += 1
                waits.append((r.first_response_at - r.received_at).total_seconds() / 60)
                met += r.respond_by is None or r.first_response_at <= r.respond_by
            elif r.respond_by is not None and r.respond_by < now and r.state == "open":
                overdue += 1
    total = len(rows)
    days_out = [
        Day(
            day=day,
            mentions=len(items),
            positive=sum(1 for r in items if r.sentiment == "positive"),
            neutral=sum(1 for r in items if r.sentiment == "neutral"),
            negative=sum(1 for r in items if r.sentiment == "negative"),
            score=round(statistics.fmean(r.sentiment_score for r in items), 3) if items else 0.0,
        )
        for day, items in sorted(by_day.items())
    ]
    top = sorted(authors.values(), key=lambda a: (-a["mentions"], -a["influence"], a["handle"]))
    return Metrics(
        days=days,
        since=since,
        mentions=total,
        by_day=days_out,
        sentiment={k: sentiment.get(k, 0) for k in ("positive", "neutral", "negative")},
        share_of_voice=[
            Share(name=name, mentions=n, share=round(n / total, 4) if total else 0.0)
            for name, n in about.most_common()
        ],
        networks=dict(networks.most_common()),
        decisions={k: decisions.get(k, 0) for k in ("respond", "wait", "dismiss")},
        intents=dict(intents.most_common()),
        response=Response(
            to_respond=to_respond,
            answered=answered,
            rate=round(answered / to_respond, 4) if to_respond else None,
            median_minutes=_percentile(waits, 0.5),
            p90_minutes=_percentile(waits, 0.9),
            within_sla=round(met / answered, 4) if answered else None,
            overdue=overdue,
        ),
        top_authors=[Author(**a) for a in top[:10]],
        topics=[
            Share(name=t, mentions=n, share=round(n / total, 4) if total else 0.0)
            for t, n in topics.most_common(12)
        ],
        alerts=alert(session, workspace, now=now),
    )


def alert(session: Session, workspace: Workspace, *, now: datetime | None = None) -> list[Alert]:
    """What is brewing now: the last window's mentions against the same window's average
    over the previous seven days, and its share of negative mentions."""
    settings = LISTENING.read(workspace).alerts
    if not settings.enabled:
        return []
    now = now or utcnow()
    window = timedelta(minutes=settings.window_minutes)
    start = now - window
    baseline_start = start - timedelta(days=7)
    rows = session.execute(
        select(Mention.sentiment, func.count())
        .where(
            Mention.workspace_id == workspace.id,
            Mention.posted_at >= start,
            Mention.posted_at <= now,
            Mention.about == "brand",
        )
        .group_by(Mention.sentiment)
    )
    counts = {r[0]: int(r[1]) for r in rows}
    recent = sum(counts.values())
    before = session.scalar(
        select(func.count()).where(
            Mention.workspace_id == workspace.id,
            Mention.posted_at >= baseline_start,
            Mention.posted_at < start,
            Mention.about == "brand",
        )
    )
    windows = timedelta(days=7) / window
    usual = float(before or 0) / windows
    negative = counts.get("negative", 0)
    share = negative / recent if recent else 0.0
    out: list[Alert] = []
    minutes = settings.window_minutes
    if recent >= settings.min_mentions and recent >= settings.spike_factor * max(usual, 1.0):
        out.append(
            Alert(
                kind="volume",
                message=(
                    f"{recent} mentions in the last {minutes} minutes, "
                    + (
                        f"{recent / usual:.0f} times the usual {usual:.1f}"
                        if usual >= 0.1
                        else "where there are usually none"
                    )
                ),
                mentions=recent,
                usual=round(usual, 2),
                negative_share=round(share, 3),
            )
        )
    if recent >= settings.min_mentions and share >= settings.negative_share:
        out.append(
            Alert(
                kind="negative",
                message=(
                    f"{share:.0%} of the last {minutes} minutes' {recent} mentions are negative"
                ),
                mentions=recent,
                usual=round(usual, 2),
                negative_share=round(share, 3),
            )
        )
    return out
