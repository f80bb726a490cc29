"""Social listening benchmark (``accord bench social``): a stream of posts about a brand
heard, scored and triaged end to end, as a source's fetch job does it.

A workspace listens for a brand and a competitor; a share of its customers have a
Bluesky handle in the identity graph (seeded directly: seeding is not what is measured).
A generated stream of posts (complaints, questions, praise, purchase questions, threats
to leave, urgent posts, spam, copies, chatter about the competitor, posts that are not
mentions), by customers and by strangers with followers from a handful to millions, is
handed to ``social.service.hear`` in batches, each in its own transaction with its
source's cursor, exactly as the fetch job stores a batch: matching, sentiment, intents,
influence, who wrote, copies, triage and timeline events for the customers'; then the
inbox conversations of the mentions to respond to are opened as the ``social.open`` job
opens them. Reported: mentions scored and triaged per
second (target at least 1,000 on this machine), the time from a batch's arrival to its
mentions being triaged and committed (p50, p99: the triage queue's delay), how long the
triage queue takes to read (p99), the understanding alone (no database) per second and
the conversations opened per second.
With ``--sentiment-data``, the sentiment figures beside VADER's on that labelled set."""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session, sessionmaker

from accord.bench import sentiment
from accord.govern.access.principal import Principal
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.models import Workspace
from accord.inbox.context import InboxContext
from accord.kit.db import transaction
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.profile.models import Profile
from accord.resolve.models import Identifier
from accord.social import queries
from accord.social.intent import intents
from accord.social.models import SocialSource
from accord.social.sentiment import analyse
from accord.social.service import SocialContext, hear, open_pending
from accord.social.settings import LISTENING, Competitor, ListeningSettings
from accord.social.sources.base import Post
from accord.social.triage import Facts, Signal, Triage

NAME = "bench-social"
TARGET_PER_S = 1000.0
RULES = ListeningSettings(
    brands=["Northwind"],
    products=["Northwind Trail 2", "Northwind app"],
    handles=["@northwind"],
    hashtags=["#northwind"],
    competitors=[Competitor(name="Contoso", terms=["#contoso"])],
    exclusions=["northwind traders sample database"],
)
# (kind, text) templates; {b} the brand's word, {p} a product, {o} an order number.
TEMPLATES: list[tuple[str, str]] = [
    ("complaint", "{b} charged me twice for order {o} and support still hasn't answered"),
    ("complaint", "My {p} broke after two weeks. Really disappointed with {b} 😡"),
    ("complaint", "Waited 40 minutes on hold with {b}, nobody picked up. Terrible service"),
    ("complaint", "{b} delivery is late AGAIN. Order {o}, where is it??"),
    ("question", "How do I reset the password on the {p}?"),
    ("question", "Does anyone know if {b} ships to Canada?"),
    ("question", "Is there a way to change my {b} order {o} after paying?"),
    ("praise", "Just got my {p} and it is fantastic, thank you {b}! ❤️"),
    ("praise", "Shoutout to {b} support, fixed my issue in five minutes 🙏"),
    ("praise", "the new {p} is fire 🔥 best purchase this year"),
    ("purchase", "Thinking of buying the {p}, any discount codes from {b}?"),
    ("purchase", "Where can I buy {b} gear in Berlin?"),
    ("churn", "Done with {b}. Switching to Contoso next month, cancel my subscription"),
    ("churn", "{b} if this isn't fixed I'm going to cancel and never buy again"),
    ("urgent", "My {p} battery caught fire last night, smoke everywhere. {b} this is dangerous"),
    ("urgent", "{b} app is down, can't log in, 500 error for an hour"),
    ("urgent", "Talking to my lawyer about {b} — class action incoming"),
    ("spam", "🚀🚀 Free {b} gift cards!!! DM me for the link https://spam.example #giveaway #free"),
    ("neutral", "Saw a {b} store open on Main Street today"),
    ("negative", "ugh, mondays. even {b} coffee couldn't save this one"),
    ("competitor", "Contoso has the better tent this year, not even close #contoso"),
    ("competitor", "Contoso support was rude to me today"),
    ("none", "Beautiful hike this morning, the lake was still frozen"),
    ("none", "northwind traders sample database is still the best SQL teaching tool"),
]


@dataclass
class SocialResult:
    mentions: int
    posts: int
    seconds: float
    batch: int
    latencies: list[float] = field(default_factory=list)
    queue_reads: list[float] = field(default_factory=list)
    decisions: dict[str, int] = field(default_factory=dict)
    conversations: int = 0
    open_seconds: float = 0.0
    understanding_per_s: float = 0.0
    sentiment_lines: list[str] = field(default_factory=list)
    backend: str = ""

    def lines(self) -> list[str]:
        rate = self.mentions / self.seconds if self.seconds else 0.0
        lat = sorted(self.latencies)
        reads = sorted(self.queue_reads)

        def pct(values: list[float], q: float) -> float:
            return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else 0.0

        met = rate >= TARGET_PER_S
        out = [
            f"database: {self.backend}; posts heard: {self.posts:,} in batches of {self.batch} "
            f"({self.mentions:,} mentions, the rest not about the brand or a competitor)",
            f"mentions scored and triaged end to end: {rate:,.0f}/s "
            f"(target at least {TARGET_PER_S:,.0f}/s: {'MET' if met else 'NOT MET'}) "
            f"in {self.seconds:.1f} s",
            "decisions: " + ", ".join(f"{k} {v:,}" for k, v in sorted(self.decisions.items())),
            f"inbox conversations then opened for the mentions to respond to (the social.open "
            f"job, one after the other): {self.conversations:,} in {self.open_seconds:.1f} s "
            f"({self.conversations / self.open_seconds if self.open_seconds else 0:,.0f}/s)",
            f"from a batch's arrival to its mentions triaged and committed: p50 "
            f"{pct(lat, 0.5):.0f} ms, p99 {pct(lat, 0.99):.0f} ms",
            f"reading the triage queue (the 50 most pressing): p50 {pct(reads, 0.5):.1f} ms, "
            f"p99 {pct(reads, 0.99):.1f} ms",
            f"understanding alone (sentiment, intents, triage; no database): "
            f"{self.understanding_per_s:,.0f} posts/s",
        ]
        return out + self.sentiment_lines


OPENERS = ["", "", "", "honestly ", "ok so ", "smh ", "hey ", "PSA: ", "lol ", "wow. "]
CLOSERS = ["", "", "", " 🙄", " !!", " today", " this week", " again", " 😂", " #monday"]


def _stream(n: int, handles: list[str], rng: random.Random) -> list[Post]:
    """``n`` posts: a third by customers, the rest by strangers; a few copies."""
    now = utcnow()
    posts: list[Post] = []
    products = ["Northwind Trail 2", "Northwind app"]
    for i in range(n):
        _kind, template = TEMPLATES[rng.randrange(len(TEMPLATES))]
        text = template.format(
            b=rng.choice(["Northwind", "@northwind", "#northwind"]),
            p=rng.choice(products),
            o=f"#{rng.randrange(10**5, 10**6)}",
        )
        text = rng.choice(OPENERS) + text + rng.choice(CLOSERS)
        if rng.random() < 0.33 and handles:
            handle = rng.choice(handles)
        else:
            handle = f"stranger{rng.randrange(n * 2)}.bsky.social"
        followers = int(min(5e6, rng.lognormvariate(5.5, 2.0)))
        if i and rng.random() < 0.03:  # a copy of an earlier post by its author
            earlier = posts[rng.randrange(len(posts))]
            handle, text = earlier.author_handle, earlier.text
        posts.append(
            Post(
                network="bluesky",
                external_id=f"at://bench/{i}",
                text=text,
                posted_at=now - timedelta(seconds=n - i),
                author_handle=handle,
                followers=followers,
                likes=rng.randrange(0, 50),
                reposts=rng.randrange(0, 10),
                replies=rng.randrange(0, 5),
                lang="en",
                url=f"https://bsky.app/profile/{handle}/post/{i}",
            )
        )
    return posts


def _seed(factory: sessionmaker[Session], customers: int) -> tuple[uuid.UUID, uuid.UUID, list[str]]:
    with transaction(factory) as session:
        old = session.scalar(select(Workspace).where(Workspace.slug == NAME))
        if old is not None:
            session.delete(old)
            session.flush()
        ws = workspaces.create_workspace(session, NAME).workspace
        LISTENING.write(session, ws, RULES, actor=Principal.cli(ws.id))
        now = utcnow()
        profiles: list[dict[str, Any]] = []
        idents: list[dict[str, Any]] = []
        handles: list[str] = []
        for i in range(customers):
            pid = new_id()
            handle = f"customer{i}.bsky.social"
            handles.append(handle)
            profiles.append(
                {
                    "id": pid,
                    "workspace_id": ws.id,
                    "contested": False,
                    "traits": {
                        "name": {
                            "value": f"Customer {i}",
                            "source": "bench",
                            "at": now.isoformat(),
                            "event": f"bench-{i}",
                        }
                    },
                    "stats": {},
                    "display_name": f"Customer {i}",
                    "order_count": i % 7,
                    "revenue": (i % 40) * 60,
                    "created_at": now,
                }
            )
            idents.append(
                {
                    "id": new_id(),
                    "workspace_id": ws.id,
                    "type": "social",
                    "value": f"bluesky:{handle}",
                    "profile_id": pid,
                    "blocked": False,
                    "source": "bench",
                    "last_seen_at": now,
                    "created_at": now,
                }
            )
        for table, rows in ((Profile.__table__, profiles), (Identifier.__table__, idents)):
            assert isinstance(table, Table)
            for start in range(0, len(rows), 5000):
                session.execute(insert(table), rows[start : start + 5000])
        source = SocialSource(
            id=new_id(),
            workspace_id=ws.id,
            kind="bluesky",
            name="Bluesky",
            options={},
            cursor={},
            created_at=now,
            updated_at=now,
        )
        session.add(source)
        return ws.id, source.id, handles


def _understanding(posts: list[Post]) -> float:
    triage = Triage(RULES)
    start = time.perf_counter()
    for post in posts:
        feeling = analyse(post.text)
        found = intents(post.text, feeling)
        triage.decide(
            Facts(
                network=post.network,
                about="brand",
                sentiment=feeling.label,
                score=feeling.score,
                signals=tuple(Signal(i.kind, i.confidence, i.cue, i.subtype) for i in found),
                followers=post.followers,
                text=post.text,
            )
        )
    return len(posts) / (time.perf_counter() - start)


def run(
    factory: sessionmaker[Session],
    url: str,
    *,
    posts: int,
    customers: int,
    batch: int,
    progress: Callable[[int], None],
    sentiment_data: Path | None = None,
    seed: int = 7,
) -> SocialResult:
    rng = random.Random(seed)
    workspace_id, source_id, handles = _seed(factory, customers)
    stream = _stream(posts, handles, rng)
    result = SocialResult(mentions=0, posts=posts, seconds=0.0, batch=batch)
    result.backend = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    result.understanding_per_s = _understanding(stream[: min(5000, len(stream))])
    start = time.perf_counter()
    for i in range(0, posts, batch):
        chunk = stream[i : i + batch]
        arrived = time.perf_counter()
        with transaction(factory) as session:
            source = session.get(SocialSource, source_id)
            assert source is not None
            inbox = InboxContext.load(
                session, workspace_id, secret_key="bench" * 8, base_url="http://127.0.0.1"
            )
            outcome = hear(session, SocialContext.of(inbox), chunk, source=source)
            source.cursor = {"position": i + len(chunk)}
        done = time.perf_counter()
        result.latencies.extend([done - arrived] * outcome.stored)
        result.mentions += outcome.stored
        for k, v in outcome.decisions.items():
            result.decisions[k] = result.decisions.get(k, 0) + v
        progress(len(chunk))
    result.seconds = time.perf_counter() - start
    opened_at = time.perf_counter()
    while True:
        with transaction(factory) as session:
            inbox = InboxContext.load(
                session, workspace_id, secret_key="bench" * 8, base_url="http://127.0.0.1"
            )
            opened = open_pending(session, SocialContext.of(inbox), 25)
        result.conversations += len(opened)
        if len(opened) < 25:
            break
    result.open_seconds = time.perf_counter() - opened_at
    for _ in range(200):
        t = time.perf_counter()
        with transaction(factory) as session:
            queries.queue(session, workspace_id, 50)
        result.queue_reads.append(time.perf_counter() - t)
    if sentiment_data is not None:
        result.sentiment_lines = sentiment.run(sentiment_data, rounds=1).lines()
    else:
        result.sentiment_lines = [
            "sentiment beside VADER: give --sentiment-data (or run accord bench sentiment). "
            + sentiment.DATA_HELP
        ]
    return result
