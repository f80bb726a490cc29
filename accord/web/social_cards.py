"""How a mention reads on the console: the card of one post (network, author, reach,
sentiment, intents with the words that showed them, the triage decision and its reason,
the deadline, overdue or not) shared by the Social pages, the post card of a mention's
inbox conversation and the Customer 360's Social mentions card."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from accord.govern.access.scopes import Scope
from accord.inbox.models import Conversation, Message
from accord.kit.time import utcnow
from accord.social import queries
from accord.social.models import Mention
from accord.web.auth import Console

NETWORKS = {
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "reddit": "Reddit",
    "rss": "RSS",
    "twitter": "X",
    "x": "X",
    "webhook": "Webhook",
    "import": "Import",
}
INTENTS = {
    "complaint": "complaint",
    "question": "question",
    "praise": "praise",
    "purchase_intent": "purchase intent",
    "churn_threat": "threat to leave",
    "urgent": "urgent",
    "spam": "spam",
}
STATES = {
    "new": "new",
    "open": "to respond",
    "waiting": "waiting",
    "answered": "answered",
    "dismissed": "dismissed",
}
DECISIONS = ("respond", "wait", "dismiss")
DASH = "\u2013"


def network_label(network: str) -> str:
    return NETWORKS.get(network, network.replace("_", " ").capitalize())


def compact(n: int | float | None) -> str:
    """12400 -> "12.4k", 1250000 -> "1.3M", 950 -> "950"; a dash for nothing."""
    if n is None:
        return DASH
    value = float(n)
    for size, letter in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= size:
            scaled = value / size
            text = f"{scaled:.1f}" if scaled < 100 else f"{scaled:.0f}"
            return text.removesuffix(".0") + letter
    return f"{value:,.0f}"


def minutes_words(minutes: float | None) -> str:
    """A span of minutes as read at a glance: "45 s", "12 min", "2 h 5 min", "3 d 4 h"."""
    if minutes is None:
        return DASH
    if minutes < 1:
        return f"{max(round(minutes * 60), 0)} s"
    whole = round(minutes)
    if whole < 60:
        return f"{whole} min"
    hours, rest = divmod(whole, 60)
    if hours < 24:
        return f"{hours} h {rest} min" if rest else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"


def ago(at: datetime, now: datetime) -> str:
    seconds = (now - at).total_seconds()
    if seconds < 60:
        return "just now"
    return f"{minutes_words(seconds / 60)} ago"


def stamp(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at is not None else DASH


@dataclass(frozen=True)
class Cue:
    """One intent the post shows and the words that showed it."""

    kind: str
    label: str
    cue: str
    confidence: float


@dataclass
class MentionView:
    """A mention and what its card says (``m`` is the stored row)."""

    m: Mention
    network: str
    posted: str
    posted_ago: str
    followers: str
    cues: list[Cue]
    state: str
    deadline: str | None = None
    overdue: bool = False
    notice: str | None = None  # what an action just did (shown once, in the card)
    error: str | None = None
    links: dict[str, str] = field(default_factory=dict)

    @property
    def id(self) -> uuid.UUID:
        return self.m.id

    @property
    def author(self) -> str:
        return self.m.author_name or self.m.author_handle

    @property
    def handle(self) -> str:
        handle = self.m.author_handle
        return handle if handle.startswith("@") or self.m.network == "rss" else f"@{handle}"


def _cues(mention: Mention) -> list[Cue]:
    out: list[Cue] = []
    for item in mention.intents or []:
        kind = str(item.get("kind") or "")
        if not kind:
            continue
        subtype = item.get("subtype")
        label = INTENTS.get(kind, kind.replace("_", " "))
        if subtype:
            label = f"{label}: {subtype}"
        out.append(
            Cue(kind, label, str(item.get("cue") or ""), float(item.get("confidence") or 0.0))
        )
    return out


def deadline_words(respond_by: datetime, now: datetime) -> tuple[str, bool]:
    """The SLA deadline of a mention to respond to, and whether it has passed."""
    left = (respond_by - now).total_seconds() / 60
    at = respond_by.strftime("%H:%M UTC")
    if respond_by.date() != now.date():
        at = respond_by.strftime("%b %d %H:%M UTC")
    if left < 0:
        return f"Overdue by {minutes_words(-left)} (due {at})", True
    return f"Respond by {at}, in {minutes_words(left)}", False


def view(mention: Mention, now: datetime | None = None) -> MentionView:
    """The card of one mention as of ``now``."""
    now = now or utcnow()
    out = MentionView(
        m=mention,
        network=network_label(mention.network),
        posted=stamp(mention.posted_at),
        posted_ago=ago(mention.posted_at, now),
        followers=compact(mention.followers),
        cues=_cues(mention),
        state=STATES.get(mention.state, mention.state),
    )
    if mention.state == "open" and mention.respond_by is not None:
        out.deadline, out.overdue = deadline_words(mention.respond_by, now)
    if mention.conversation_id is not None:
        out.links["conversation"] = f"/social/mentions/{mention.id}/conversation"
    if mention.profile_id is not None:
        out.links["customer"] = f"/customers/{mention.profile_id}"
    return out


def views(mentions: list[Mention], now: datetime | None = None) -> list[MentionView]:
    now = now or utcnow()
    return [view(m, now) for m in mentions]


# --- the inbox conversation's post card -------------------------------------------------------


@dataclass
class SocialPost:
    """What the conversation page shows of a social conversation: the latest post's card
    (from the mention when it is stored, else from what its message kept), the earlier
    posts, and how a reply goes back (``replyable``, ``max_reply``)."""

    network: str
    url: str | None
    handle: str
    name: str | None
    followers: str
    influence: float | None
    sentiment: str | None
    score: float | None
    decision: str | None
    reason: str | None
    replyable: bool
    max_reply: int | None
    mention: MentionView | None = None
    earlier: list[MentionView] = field(default_factory=list)


def conversation_post(
    session: Session, conversation: Conversation, thread: list[Message]
) -> SocialPost | None:
    """The post card of a conversation whose messages include channel ``social`` (None
    for any other conversation)."""
    posts = [m for m in thread if m.channel == "social" and m.direction == "in"]
    if not posts:
        return None
    meta: dict[str, Any] = dict(posts[-1].meta or {})
    mentions = queries.of_conversation(session, conversation.id)
    now = utcnow()
    cards = [view(m, now) for m in mentions if m.workspace_id == conversation.workspace_id]
    latest = next((c for c in cards if str(c.id) == str(meta.get("mention"))), None)
    if latest is None and cards:
        latest = cards[-1]
    followers = meta.get("followers")
    influence = meta.get("influence")
    max_reply = meta.get("max_reply")
    return SocialPost(
        network=network_label(str(meta.get("network") or conversation.channel)),
        url=meta.get("url") or (latest.m.url if latest else None),
        handle=str(meta.get("handle") or posts[-1].address or ""),
        name=latest.m.author_name if latest else None,
        followers=compact(followers if isinstance(followers, int | float) else None),
        influence=float(influence) if isinstance(influence, int | float) else None,
        sentiment=(latest.m.sentiment if latest else meta.get("sentiment")),
        score=latest.m.sentiment_score if latest else None,
        decision=(latest.m.decision if latest else meta.get("decision")),
        reason=(latest.m.reason if latest else meta.get("reason")),
        replyable=bool(meta.get("replyable")),
        max_reply=int(max_reply) if isinstance(max_reply, int) and max_reply > 0 else None,
        mention=latest,
        earlier=[c for c in reversed(cards) if c is not latest][:5],
    )


# --- the Customer 360 ----------------------------------------------------------------------


def person_mentions(
    session: Session, console: Console, profile_id: uuid.UUID
) -> list[MentionView] | None:
    """The 360's Social mentions card: the person's latest mentions, newest first (None
    for a role that reads no conversations, or a person never heard on social)."""
    if not console.principal.has(Scope.CONVERSATIONS_READ):
        return None
    rows = queries.of_person(session, console.principal.workspace_id, profile_id)
    return views(rows[:10]) if rows else None
