"""The demo workspace's social listening: the brand's listening rules, a signed webhook
source (a brand-monitoring tool pushing posts) and an import source, and thirty days of
mentions heard through the real pipeline: complaints, questions, praise, purchase
questions, a threat to leave, an urgent post, a spam ring, chatter about a competitor,
and an outdoor influencer's complaint. A dozen of the retailer's best customers have
linked their Bluesky or Mastodon handles, so their posts land on their profiles with
their value in the triage reason. Older mentions were answered (on the network's own
app: the demo listens through a tool that cannot reply), the latest wait in the triage
queue. Idempotent: nothing is made twice. No address outside this machine is contacted
(the sources are pushed to, never fetched)."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.inbox import service as inbox_service
from accord.inbox.context import SYSTEM, InboxContext
from accord.inbox.models import Conversation
from accord.inbox.people import accept_now
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.social import connections, queries
from accord.social.schemas import SourceIn
from accord.social.service import SocialContext, hear, mark_answered, open_pending
from accord.social.settings import LISTENING, Competitor, ListeningSettings
from accord.social.sources.base import Post

SOURCE = "Brand monitoring tool"
AGENT = "Maya Lopez"
RULES = ListeningSettings(
    brands=["Demo Outfitters", "DemoOutfitters"],
    products=["TrailMaster tent", "Summit pack", "Ridge boots"],
    handles=["@demooutfitters", "demooutfitters.bsky.social"],
    hashtags=["#demooutfitters"],
    competitors=[
        Competitor(name="Summit Supply", terms=["#summitsupply", "Summit Supply Co"]),
        Competitor(name="Peak Gear", terms=["#peakgear"]),
    ],
    exclusions=["demo outfitters game"],
    languages=["en", "es"],
)
BRAND = ["Demo Outfitters", "@demooutfitters", "#demooutfitters", "DemoOutfitters"]
# (kind, text); {b} the brand, {p} a product.
STRANGERS: list[tuple[str, str]] = [
    ("complaint", "{b} my order has been 'processing' for 9 days. Nobody answers the chat."),
    ("complaint", "The zip on my {p} broke on day two. Expected better from {b}."),
    ("complaint", "Charged twice by {b} for one order and still waiting for the refund 😤"),
    ("complaint", "{b} sent the wrong size of {p}, third time this year"),
    ("question", "Does {b} ship to Canada? Looking at the {p}"),
    ("question", "How do I waterproof my {p}? Any tips {b}?"),
    ("question", "Is the {b} store in Portland open on Sundays?"),
    ("praise", "Shoutout to {b} support, swapped my {p} in a day. Legends 🙌"),
    ("praise", "Third season with my {p} and it still looks new. Thanks {b}!"),
    ("praise", "{b} staff in Boulder gave the best fitting advice I've ever had ❤️"),
    ("purchase", "Thinking of buying the {p} from {b}, anyone tried it in snow?"),
    ("purchase", "Any discount codes for {b}? Need a {p} before my trip"),
    ("neutral", "Saw the {b} van at the trailhead this morning"),
    ("negative", "ugh, rain all week. even my {b} jacket gave up"),
    ("churn", "Done with {b}. Switching to Summit Supply for my next tent."),
    ("spanish", "Mi {p} de {b} llegó roto, ¿cómo pido el cambio?"),
]
COMPETITOR = [
    "Summit Supply has the lighter tent this year, not even close #summitsupply",
    "Ordered from #peakgear, arrived in two days",
    "Summit Supply Co customer service was rude to me today",
]
CUSTOMER_POSTS = [
    "{b} my {p} arrived with a torn seam. Second one this month, really disappointed.",
    "Loving the {p} I got from {b} last week, comfy from day one",
    "How do I register my {p} warranty with {b}?",
    "{b} still no refund for the boots I returned 3 weeks ago",
]
SPAM = (
    "🔥 FREE {b} gift cards for the first 100 people, claim yours now at "
    "https://gift-cards.example/claim #giveaway #free #outdoors"
)
INFLUENCER = (
    "trailtalesjess.bsky.social",
    "Jess | Trail Tales",
    184_000,
    "Pole of my {b} TrailMaster tent snapped at 3,000 m last night. Not what you want in a "
    "storm. @demooutfitters what happened to quality?",
)
URGENT = (
    "The stove I bought from {b} leaked gas and caught fire in my garage. Nobody hurt but "
    "{b} this is dangerous"
)


def _actor(workspace_id: uuid.UUID) -> Principal:
    return Principal.cli(workspace_id)


def _link_customers(
    session: Session, workspace: Workspace, rng: random.Random
) -> list[tuple[str, str, str]]:
    """A dozen of the best customers link a handle: (network, handle, name)."""
    people = session.execute(
        select(Profile.id, Profile.display_name, Profile.email)
        .where(
            Profile.workspace_id == workspace.id,
            Profile.merged_into_id.is_(None),
            Profile.display_name.is_not(None),
            Profile.email.is_not(None),
        )
        .order_by(Profile.revenue.desc(), Profile.id)
        .limit(12)
    ).all()
    linked: list[tuple[str, str, str]] = []
    at = utcnow() - timedelta(days=45)
    messages: list[dict[str, Any]] = []
    for i, (_, name, email) in enumerate(people):
        slug = "".join(c for c in str(name).lower() if c.isalnum())[:20] or f"fan{i}"
        network, handle = (
            ("bluesky", f"{slug}.bsky.social") if i % 3 else ("mastodon", f"{slug}@mastodon.social")
        )
        messages.append(
            {
                "type": "identify",
                "messageId": f"demo-social-{i}",
                "traits": {"email": email, network: handle},
                "timestamp": at.isoformat(),
                "context": {"channel": "web"},
            }
        )
        linked.append((network, handle, str(name)))
    accept_now(session, workspace, messages, source="demo", at=at)
    return linked


def _post(
    n: int, network: str, handle: str, text: str, at: datetime, rng: random.Random, **kw: Any
) -> Post:
    values: dict[str, Any] = {
        "network": network,
        "external_id": f"demo-{network}-{n}",
        "text": text,
        "posted_at": at,
        "author_handle": handle,
        "followers": int(min(50_000, rng.lognormvariate(5.0, 1.4))),
        "likes": rng.randrange(0, 30),
        "reposts": rng.randrange(0, 6),
        "replies": rng.randrange(0, 4),
        "lang": "es" if "¿" in text else "en",
        "url": (
            f"https://bsky.app/profile/{handle}/post/demo{n}"
            if network == "bluesky"
            else f"https://{handle.split('@')[-1]}/@{handle.split('@')[0]}/{n}"
            if network == "mastodon"
            else f"https://www.reddit.com/r/CampingGear/comments/demo{n}/"
        ),
    }
    values.update(kw)
    return Post(**values)


def _stream(linked: list[tuple[str, str, str]], rng: random.Random) -> list[Post]:
    now = utcnow()
    posts: list[Post] = []
    products = ["TrailMaster tent", "Summit pack", "Ridge boots"]
    for n in range(150):
        at = now - timedelta(days=29 * (1 - n / 150) + 0.02, minutes=rng.randrange(0, 600))
        network = rng.choice(["bluesky", "bluesky", "mastodon", "reddit"])
        fill = {"b": rng.choice(BRAND), "p": rng.choice(products)}
        roll = rng.random()
        if roll < 0.2 and linked:
            net, handle, name = linked[rng.randrange(len(linked))]
            text = rng.choice(CUSTOMER_POSTS).format(**fill)
            posts.append(_post(n, net, handle, text, at, rng, author_name=name))
            continue
        text = rng.choice(COMPETITOR) if roll < 0.3 else rng.choice(STRANGERS)[1].format(**fill)
        handle = (
            f"hiker{rng.randrange(900)}.bsky.social"
            if network == "bluesky"
            else f"camper{rng.randrange(900)}@fosstodon.org"
            if network == "mastodon"
            else f"u_trail{rng.randrange(900)}"
        )
        posts.append(_post(n, network, handle, text, at, rng))
    # A spam ring, an influencer's complaint yesterday and an urgent post this morning.
    for i in range(3):
        at = now - timedelta(days=3, minutes=i * 7)
        posts.append(
            _post(
                500 + i,
                "bluesky",
                f"deals{i}bot.bsky.social",
                SPAM.format(b="Demo Outfitters"),
                at,
                rng,
            )
        )
    handle, name, followers, text = INFLUENCER
    posts.append(
        _post(
            600,
            "bluesky",
            handle,
            text.format(b="Demo Outfitters"),
            now - timedelta(hours=20),
            rng,
            author_name=name,
            followers=followers,
            likes=842,
            reposts=120,
            replies=96,
        )
    )
    posts.append(
        _post(
            601,
            "reddit",
            "u_garage_cook",
            URGENT.format(b="Demo Outfitters"),
            now - timedelta(hours=3),
            rng,
        )
    )
    posts.sort(key=lambda p: p.posted_at)
    return posts


def ensure_social(
    session: Session, workspace_id: uuid.UUID, *, secret_key: str, base_url: str
) -> str | None:
    """Listening for the demo retailer, with a month of mentions (once)."""
    workspace = session.get(Workspace, workspace_id)
    assert workspace is not None
    if queries.sources(session, workspace_id):
        return None
    actor = _actor(workspace_id)
    rng = random.Random(24)
    LISTENING.write(session, workspace, RULES, actor=actor)
    source = connections.create(
        session,
        workspace,
        SourceIn(kind="webhook", name=SOURCE),
        actor=actor,
        secret_key=secret_key,
    )
    connections.create(
        session,
        workspace,
        SourceIn(kind="import", name="Review site export", settings={"network": "reviews"}),
        actor=actor,
        secret_key=secret_key,
    )
    linked = _link_customers(session, workspace, rng)
    inbox = InboxContext.load(session, workspace_id, secret_key=secret_key, base_url=base_url)
    ctx = SocialContext.of(inbox)
    posts = _stream(linked, rng)
    stored = 0
    by_day: dict[str, list[Post]] = {}
    for post in posts:
        by_day.setdefault(post.posted_at.date().isoformat(), []).append(post)
    for day in sorted(by_day):
        batch = by_day[day]
        heard_at = max(p.posted_at for p in batch) + timedelta(minutes=2)
        stored += hear(session, ctx, batch, source=source, now=min(heard_at, utcnow())).stored
    while open_pending(session, ctx, 50):
        pass
    # Mentions to respond to older than two days were answered on the network's own app,
    # most within the hour; the last two days' wait in the queue.
    recent = utcnow() - timedelta(days=2)
    answered = 0
    for mention in queries.mentions(session, workspace_id, decision="respond", limit=500):
        if mention.received_at < recent:
            delay = timedelta(minutes=rng.choice([12, 25, 40, 55, 75, 130, 260]))
            at = mention.received_at + delay
            mark_answered(session, mention, at=at, who=AGENT)
            answered += 1
            conversation = (
                session.get(Conversation, mention.conversation_id)
                if mention.conversation_id
                else None
            )
            if conversation is not None and conversation.status != "resolved":
                inbox_service.note(
                    session,
                    inbox,
                    conversation,
                    SYSTEM,
                    f"Answered on {mention.network} by {AGENT}",
                    at=at,
                )
                inbox_service.set_status(session, inbox, conversation, "resolved", SYSTEM, at=at)
    return (
        f"Demo social listening: {stored} mentions over 30 days, {answered} answered "
        "(Social in the console)"
    )
