"""The listening pipeline: posts a connector heard become mentions, understood and triaged.

For one batch of posts (:func:`hear`), in a few set-based reads whatever its size:

1. the workspace's listening rules keep the mentions (terms, languages, exclusions);
2. a post stored already only has its engagement brought up to date (a wait whose post
   drew ``engagement_growth`` more people turns into respond);
3. each new one is understood: sentiment, intents, the author's influence, and who they
   are when the identity graph knows their handle (with their lifetime value);
4. triage decides respond, wait or dismiss with the reason (:mod:`accord.social.triage`);
   copies (the author's own, or one text from several accounts) are dismissed;
5. a new post from an author with a mention waiting turns that wait into respond; a
   known customer's mention is on their timeline; a mention to respond to is in the
   triage queue at once, and its inbox conversation (on the author's profile) is opened
   after the commit by :func:`open_pending` (the ``social.open`` job, or a push itself
   for its first few), so a burst of posts is triaged without waiting for the inbox.

Services flush and never commit: the caller stores the batch and the source's new cursor
in one transaction, so a restart repeats a batch (a post is stored once) and never
skips one."""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.govern.workspaces.models import Workspace
from accord.inbox.context import InboxContext
from accord.inbox.intake import Inbound, receive
from accord.inbox.people import Contact, record_later, touchpoint_messages
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.social.intent import intents as intents_of
from accord.social.listen import Listener, fingerprint
from accord.social.models import Mention, SocialSource
from accord.social.repository import AuthorRepository, MentionRepository
from accord.social.sentiment import analyse
from accord.social.settings import LISTENING, ListeningSettings
from accord.social.sources.base import Post
from accord.social.triage import Facts, Signal, Triage, Verdict

# The identity graph's platform for each network's handles (``social`` identifiers are
# ``platform:handle``). A feed's author is a site, not a person.
PLATFORMS = {"bluesky": "bluesky", "mastodon": "mastodon", "reddit": "reddit", "x": "twitter"}
# A ``social`` identifier's platform and the network its posts are heard on, where they differ.
NETWORK_OF = {platform: network for network, platform in PLATFORMS.items() if platform != network}
NO_PERSON = frozenset({"rss"})
# The networks a reply goes back through, and the longest reply each takes.
REPLY_LIMITS = {"bluesky": 300, "mastodon": 500, "reddit": 10000}
DUPLICATE_DAYS = 7  # the author's same text within this many days is a copy
COPIES_ACCOUNTS = 3  # one long or linked text from this many accounts in a week: a campaign
COPIES_WORDS = 12  # a copied text this long (or with a link) is a campaign
MENTION_EVENT = "Social Mention"
PRIORITY = {"urgent": "urgent", "high": "high", "normal": "normal", "low": "low"}


@dataclass
class SocialContext:
    """What the pipeline needs of a workspace: its listening settings, and the inbox to
    open conversations in."""

    workspace: Workspace
    settings: ListeningSettings
    inbox: InboxContext

    @classmethod
    def of(cls, inbox: InboxContext) -> SocialContext:
        return cls(inbox.workspace, LISTENING.read(inbox.workspace), inbox)


@dataclass
class Outcome:
    """What one batch did."""

    heard: int = 0  # posts that are mentions
    stored: int = 0
    updated: int = 0  # stored already: engagement brought up to date
    ignored: int = 0  # not a mention (no term, another language, an exclusion)
    decisions: dict[str, int] = field(default_factory=dict)
    escalated: int = 0
    to_open: int = 0  # mentions to respond to whose conversation is still to open
    mentions: list[Mention] = field(default_factory=list)


def identity(network: str, handle: str) -> str | None:
    """The ``social`` identifier value of a network's handle, or None (a feed's author)."""
    if network in NO_PERSON or not handle:
        return None
    platform = PLATFORMS.get(network, network)
    try:
        return ids.normalize(ids.SOCIAL, f"{platform}:{handle.lstrip('@')}")
    except ids.InvalidIdentifier:
        return None


def handles_by_network(values: Iterable[str]) -> dict[str, set[str]]:
    """``social`` identifier values (``platform:handle``) grouped by the network whose
    posts carry them: where a person's mentions are found by their handles."""
    out: dict[str, set[str]] = {}
    for value in values:
        platform, _, handle = value.partition(":")
        if handle:
            out.setdefault(NETWORK_OF.get(platform, platform), set()).add(handle)
    return out


def influence(followers: int | None, likes: int, reposts: int, replies: int) -> float:
    """0 to 100: reach on a log scale (a million followers is 100) weighted three to one
    against the post's engagement (ten thousand interactions is 100)."""
    reach = min(1.0, math.log10(1 + max(0, followers or 0)) / 6.0)
    engaged = min(1.0, math.log10(1 + max(0, likes + 2 * reposts + replies)) / 4.0)
    return round(100 * (0.75 * reach + 0.25 * engaged), 1)


def _engagement(m: Mention) -> int:
    return m.likes + m.reposts + m.replies


def signals_of(mention: Mention) -> tuple[Signal, ...]:
    return tuple(
        Signal(
            str(i["kind"]), float(i.get("confidence", 0)), str(i.get("cue") or ""), i.get("subtype")
        )
        for i in mention.intents
    )


def facts_of(mention: Mention) -> Facts:
    return Facts(
        network=mention.network,
        about=mention.about,
        sentiment=mention.sentiment,
        score=mention.sentiment_score,
        signals=signals_of(mention),
        followers=mention.followers,
        customer=mention.profile_id is not None,
        customer_value=mention.customer_value,
        text=mention.text,
    )


def hear(
    session: Session,
    ctx: SocialContext,
    posts: Sequence[Post],
    *,
    source: SocialSource | None = None,
    now: datetime | None = None,
) -> Outcome:
    """Store, understand and triage one batch of posts (see the module's docstring)."""
    now = now or utcnow()
    out = Outcome()
    listener = Listener(ctx.settings)
    triage = Triage(ctx.settings)
    wid = ctx.workspace.id
    kept: list[tuple[Post, str, tuple[str, ...]]] = []
    seen: set[tuple[str, str]] = set()
    for post in posts:
        heard = (
            None
            if listener.is_own(post.author_handle)
            else listener.hear(f"{post.title or ''}\n{post.text}", post.lang)
        )
        key = (post.network, post.external_id)
        if heard is None or key in seen:
            out.ignored += heard is None
            continue
        seen.add(key)
        kept.append((post, heard.about, heard.terms))
    out.heard = len(kept)
    mentions = MentionRepository.from_session(session)
    stored = mentions.existing(wid, seen)
    fresh = [(p, a, t) for p, a, t in kept if (p.network, p.external_id) not in stored]
    for post, _, _ in kept:
        row = stored.get((post.network, post.external_id))
        if row is not None:
            out.updated += 1
            _refresh(session, ctx, triage, row, post, out)
    if not fresh:
        # Only posts heard again: a wait their engagement turned into respond is to open.
        out.to_open = sum(1 for m in out.mentions if m.state == "open")
        session.flush()
        return out
    # Who wrote, in one read.
    handles = {p.external_id: identity(p.network, p.author_handle) for p, _, _ in fresh}
    people = AuthorRepository.from_session(session).people(wid, {h for h in handles.values() if h})
    # Copies: the author's own within a week, or one text from several accounts.
    prints = {p.external_id: fingerprint(p.text) for p, _, _ in fresh}
    earlier = mentions.copies(wid, set(prints.values()), now - timedelta(days=DUPLICATE_DAYS))
    authors_of: dict[str, set[tuple[str, str]]] = {}
    for fp, network, handle in earlier:
        authors_of.setdefault(fp, set()).add((network, handle.lower()))
    waiting = {
        (m.network, m.author_handle.lower()): m
        for m in mentions.waiting_of(
            wid, {(p.network, p.author_handle.lstrip("@").lower()) for p, _, _ in fresh}
        )
    }
    for post, about, terms in fresh:
        fp = prints[post.external_id]
        author = (post.network, post.author_handle.lstrip("@").lower())
        copies = authors_of.setdefault(fp, set())
        duplicate = author in copies
        copies.add(author)
        mention = _mention(ctx, source, post, about, terms, fp, now)
        signals = list(signals_of(mention))
        if len(copies) >= COPIES_ACCOUNTS and not duplicate and _campaign_like(post.text, signals):
            cue = f"the same text from {len(copies)} accounts"
            signals.append(Signal("spam", 0.9, cue))
            mention.intents = [*mention.intents, {"kind": "spam", "confidence": 0.9, "cue": cue}]
        person = people.get(handles[post.external_id] or "")
        if person is not None:
            mention.profile_id = person[0]
            mention.customer_value = person[2]
        facts = Facts(
            network=post.network,
            about=about,
            sentiment=mention.sentiment,
            score=mention.sentiment_score,
            signals=tuple(signals),
            followers=post.followers,
            customer=person is not None,
            customer_value=mention.customer_value,
            duplicate=duplicate,
            text=post.text,
        )
        verdict = triage.decide(facts)
        _apply(mention, verdict, now)
        session.add(mention)
        out.stored += 1
        out.decisions[verdict.decision] = out.decisions.get(verdict.decision, 0) + 1
        out.mentions.append(mention)
        earlier_wait = waiting.pop(author, None)
        # The author coming back to the brand (other than by spam or a copy) is what the
        # wait was for.
        if earlier_wait is not None and verdict.rule not in ("spam", "duplicate"):
            _escalate(triage, earlier_wait, "the author posted again", now)
            out.escalated += 1
            out.mentions.append(earlier_wait)
    session.flush()
    out.to_open = sum(1 for m in out.mentions if m.state == "open" and m.conversation_id is None)
    # A known customer's mention that opens no conversation is on their timeline (the
    # resolver attributes it in the background, as any tracked event).
    record_later(
        session,
        ctx.workspace,
        [
            message
            for m in out.mentions
            if m.profile_id is not None and m.state != "open" and m.conversation_id is None
            for message in _timeline_messages(m)
        ],
        source="social",
        at=now,
    )
    if source is not None:
        source.heard += out.stored
    return out


def open_pending(session: Session, ctx: SocialContext, limit: int = 25) -> list[uuid.UUID]:
    """Conversations for up to ``limit`` mentions to respond to that have none yet (what
    :func:`hear` left for after its commit); returns the conversations."""
    rows = MentionRepository.from_session(session).to_open(ctx.workspace.id, limit)
    return [open_conversation(session, ctx, m) for m in rows]


def _campaign_like(text: str, signals: list[Signal]) -> bool:
    """Whether one text from several accounts reads as a campaign rather than people
    saying the same short thing (an outage: "the app is down"): it carries a link or is
    long, and is not urgent."""
    if any(s.kind == "urgent" for s in signals):
        return False
    return "http://" in text or "https://" in text or len(text.split()) >= COPIES_WORDS


def _mention(
    ctx: SocialContext,
    source: SocialSource | None,
    post: Post,
    about: str,
    terms: tuple[str, ...],
    fp: str,
    now: datetime,
) -> Mention:
    feeling = analyse(f"{post.title}. {post.text}" if post.title else post.text)
    found = sorted(
        intents_of(post.text if not post.title else f"{post.title}. {post.text}", feeling),
        key=lambda i: -i.confidence,
    )
    return Mention(
        id=new_id(),
        workspace_id=ctx.workspace.id,
        source_id=source.id if source is not None else None,
        network=post.network[:32],
        external_id=post.external_id[:400],
        url=(post.url or None) and post.url[:1000],
        text=post.text,
        fingerprint=fp,
        title=(post.title or None) and post.title[:500],
        lang=(post.lang or None) and post.lang[:16],
        posted_at=min(post.posted_at, now),
        received_at=now,
        author_handle=post.author_handle.lstrip("@").lower()[:255],
        author_name=(post.author_name or None) and post.author_name[:255],
        author_id=(post.author_id or None) and post.author_id[:255],
        author_url=(post.author_url or None) and post.author_url[:1000],
        followers=post.followers,
        likes=post.likes,
        reposts=post.reposts,
        replies=post.replies,
        reply_to=(post.reply_to or None) and post.reply_to[:400],
        thread_root=(post.thread_root or None) and post.thread_root[:400],
        reply_ref=dict(post.reply_ref),
        about=about[:120],
        matched=list(terms),
        sentiment=feeling.label,
        sentiment_score=round(feeling.score, 4),
        intents=[
            {
                "kind": i.kind,
                "confidence": round(i.confidence, 3),
                "cue": i.cue,
                **({"subtype": i.subtype} if i.subtype else {}),
            }
            for i in found
        ],
        intent=found[0].kind if found else None,
        influence=influence(post.followers, post.likes, post.reposts, post.replies),
        decided_at=now,
    )


STATE_OF = {"respond": "open", "wait": "waiting", "dismiss": "dismissed"}


def _apply(mention: Mention, verdict: Verdict, now: datetime) -> None:
    mention.decision = verdict.decision
    mention.reason = verdict.reason[:500]
    mention.rule = verdict.rule[:80]
    mention.decided_at = now
    mention.state = STATE_OF[verdict.decision]
    mention.respond_by = (
        now + timedelta(minutes=verdict.within_minutes)
        if verdict.decision == "respond" and verdict.within_minutes
        else None
    )
    mention.priority = verdict.priority


def _escalate(triage: Triage, mention: Mention, why: str, now: datetime) -> None:
    _apply(mention, triage.escalate(facts_of(mention), why), now)


def _refresh(
    session: Session, ctx: SocialContext, triage: Triage, row: Mention, post: Post, out: Outcome
) -> None:
    """A post heard again: its engagement and the author's followers as they are now."""
    before = _engagement(row)
    row.likes, row.reposts, row.replies = post.likes, post.reposts, post.replies
    if post.followers is not None:
        row.followers = post.followers
    row.influence = influence(row.followers, row.likes, row.reposts, row.replies)
    grown = _engagement(row) - before
    if row.state == "waiting" and grown >= ctx.settings.engagement_growth:
        _escalate(triage, row, f"{grown} more people engaged with the post", utcnow())
        out.escalated += 1
        out.mentions.append(row)


def open_conversation(session: Session, ctx: SocialContext, mention: Mention) -> uuid.UUID:
    """The inbox conversation of a mention to respond to: the post is its first message
    (or joins the author's open conversation), on the author's profile when known."""
    platform = PLATFORMS.get(mention.network, mention.network)
    contact = Contact(
        name=mention.author_name or mention.author_handle,
        social=(
            {platform: mention.author_handle.lstrip("@")}
            if identity(mention.network, mention.author_handle)
            else {}
        ),
    )
    preview = _shortened(mention.title or mention.text, 60)
    received = receive(
        session,
        ctx.inbox,
        Inbound(
            channel="social",
            contact=contact,
            body=mention.text if not mention.title else f"{mention.title}\n\n{mention.text}",
            subject=f"{mention.network.capitalize()} mention: {preview}",
            external_id=touchpoint_key(mention),
            at=mention.posted_at,
            meta=mention_meta(mention),
            properties=_event_properties(mention),
            priority=PRIORITY.get(mention.priority, "normal"),
            tags=["social", mention.network, *([mention.intent] if mention.intent else [])],
            event_name=MENTION_EVENT,
        ),
    )
    mention.conversation_id = received.conversation.id
    if received.conversation.profile_id is not None and mention.profile_id is None:
        mention.profile_id = received.conversation.profile_id
    return received.conversation.id


def _shortened(text: str, limit: int) -> str:
    """The text on one line, cut at a word before ``limit`` characters with an ellipsis."""
    line = " ".join(text.split())
    if len(line) <= limit:
        return line
    cut = line[: limit - 1].rsplit(" ", 1)[0] or line[: limit - 1]
    return cut.rstrip(",.;:!?-") + "…"


def mention_meta(mention: Mention) -> dict[str, Any]:
    """What the inbox keeps of a mention on its message: enough to show the post and to
    send a reply back through the network it came from."""
    return {
        "mention": str(mention.id),
        "network": mention.network,
        "url": mention.url,
        "handle": mention.author_handle,
        "followers": mention.followers,
        "influence": mention.influence,
        "sentiment": mention.sentiment,
        "decision": mention.decision,
        "reason": mention.reason,
        "replyable": mention.network in REPLY_LIMITS and mention.source_id is not None,
        "max_reply": REPLY_LIMITS.get(mention.network),
    }


def _event_properties(mention: Mention) -> dict[str, Any]:
    return {
        "network": mention.network,
        "url": mention.url,
        "sentiment": mention.sentiment,
        "intent": mention.intent,
        "decision": mention.decision,
        "about": mention.about,
    }


def _timeline_messages(mention: Mention) -> list[dict[str, Any]]:
    platform = PLATFORMS.get(mention.network, mention.network)
    return touchpoint_messages(
        channel="social",
        contact=Contact(social={platform: mention.author_handle.lstrip("@")}),
        event_name=MENTION_EVENT,
        properties={**_event_properties(mention), "text": mention.text[:500]},
        at=mention.posted_at,
        key=touchpoint_key(mention),
    )


def touchpoint_key(mention: Mention) -> str:
    """One post is one event on the author's timeline, whoever records it first."""
    return f"social:{mention.network}:{mention.external_id}"


def decide_by_hand(
    session: Session,
    ctx: SocialContext,
    mention: Mention,
    decision: str,
    *,
    who: str,
    why: str = "",
) -> None:
    """A person's decision over triage: respond opens the mention's conversation (with
    the SLA of its priority), wait watches it, dismiss closes it. The reason says who."""
    now = utcnow()
    if decision == "respond":
        priority = mention.priority if mention.priority != "low" else "normal"
        verdict = Verdict(
            "respond",
            f"respond, decided by {who}" + (f": {why}" if why else ""),
            "by hand",
            priority,
            ctx.settings.sla.minutes(priority),
        )
    else:
        verdict = Verdict(
            decision,
            f"{decision}, decided by {who}" + (f": {why}" if why else ""),
            "by hand",
            "low",
        )
    answered = mention.state == "answered"
    _apply(mention, verdict, now)
    if answered and decision == "respond":
        mention.state = "answered"
    if mention.state == "open" and mention.conversation_id is None:
        open_conversation(session, ctx, mention)
    session.flush()


def mark_answered(
    session: Session, mention: Mention, *, at: datetime | None = None, who: str = ""
) -> None:
    """A mention answered outside Accord (on the network's own app, or on the review
    site for a feed's entry): answered, with the time of the first answer kept."""
    at = at or utcnow()
    if mention.first_response_at is None:
        mention.first_response_at = max(at, mention.received_at)
    if mention.decision != "respond":
        mention.decision = "respond"
        mention.rule = "by hand"
        mention.reason = f"answered outside Accord{f' by {who}' if who else ''}"
    mention.state = "answered"
    session.flush()
