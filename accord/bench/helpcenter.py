"""Help center benchmark: a workspace with N published articles (written and published
through the knowledge base's own service, so rendered, indexed and counted like any) and
M past searches, then p50/p99 over HTTP of the search page, the instant results and the
article page, with questions of two to five words, some typed wrong."""

from __future__ import annotations

import random
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import insert, text
from sqlalchemy.orm import Session, sessionmaker

from accord.bench.common import percentile, server, tree_rss_mb
from accord.govern.access.principal import Principal
from accord.govern.access.scopes import ALL_SCOPES
from accord.govern.workspaces import service as workspaces
from accord.helpcenter import service
from accord.helpcenter.models import HelpSearch
from accord.helpcenter.query import normalize
from accord.helpcenter.schemas import ArticleIn
from accord.kit.db import transaction
from accord.kit.ids import new_id
from accord.kit.time import utcnow

ARTICLES_PER_UNIT = 100
SEARCH_CHUNK = 10_000

NOUNS = [
    "tent",
    "boot",
    "jacket",
    "pack",
    "sleeping",
    "bag",
    "stove",
    "lantern",
    "rope",
    "harness",
    "helmet",
    "glove",
    "sock",
    "shell",
    "fleece",
    "zipper",
    "strap",
    "buckle",
    "pole",
    "stake",
    "seam",
    "lace",
    "sole",
    "insole",
    "hood",
    "pocket",
    "hip",
    "belt",
    "frame",
    "bottle",
    "filter",
    "map",
    "compass",
    "headlamp",
    "battery",
    "charger",
    "order",
    "parcel",
    "delivery",
    "refund",
    "return",
    "exchange",
    "warranty",
    "repair",
    "size",
    "fit",
    "colour",
    "fabric",
    "membrane",
    "coating",
    "waterproofing",
    "wax",
    "account",
    "password",
    "invoice",
    "payment",
    "card",
    "voucher",
    "gift",
    "store",
    "pickup",
    "courier",
    "tracking",
    "label",
]
VERBS = [
    "wash",
    "dry",
    "clean",
    "repair",
    "replace",
    "return",
    "exchange",
    "order",
    "cancel",
    "change",
    "track",
    "pay",
    "reset",
    "measure",
    "fit",
    "pack",
    "store",
    "reproof",
    "patch",
    "seal",
    "tighten",
    "adjust",
    "charge",
    "register",
    "claim",
    "ship",
]
ADJECTIVES = [
    "waterproof",
    "broken",
    "torn",
    "wet",
    "small",
    "large",
    "narrow",
    "wide",
    "lost",
    "late",
    "damaged",
    "faulty",
    "new",
    "used",
    "lightweight",
    "warm",
    "cold",
    "heavy",
    "loose",
    "tight",
    "missing",
    "wrong",
    "delayed",
    "express",
    "free",
]


@dataclass
class HelpBenchResult:
    backend: str
    articles: int
    searches: int
    seed_seconds: float
    search_page: list[float]
    instant: list[float]
    article_page: list[float]
    found_rate: float
    server_rss_mb: float

    def lines(self) -> list[str]:
        def line(label: str, values: list[float]) -> str:
            return (
                f"{label:<18} p50 {percentile(values, 50):.1f} ms, "
                f"p99 {percentile(values, 99):.1f} ms ({len(values)} requests)"
            )

        return [
            f"backend            {self.backend}",
            f"loaded             {self.articles:,} published articles, {self.searches:,} past "
            f"searches (seeded in {self.seed_seconds:.0f} s)",
            line("search page", self.search_page),
            line("instant results", self.instant),
            line("article page", self.article_page),
            f"questions answered {self.found_rate:.0%} had at least one result",
            f"server memory      {self.server_rss_mb:,.0f} MB",
        ]


SYLLABLES = [
    "ka",
    "lo",
    "ri",
    "ven",
    "tor",
    "mal",
    "sin",
    "dra",
    "pe",
    "qua",
    "zu",
    "bel",
    "fen",
    "gor",
    "hal",
]
FILLER_WORDS = 3000  # a help center's ordinary vocabulary, used with Zipf's frequencies


@dataclass(frozen=True)
class Corpus:
    """Articles each about one thing (a product, a part of it and a problem), written
    with that topic's words and an ordinary vocabulary whose frequencies follow Zipf's
    law, as real help centers are; questions name a topic the way a customer would."""

    rng: random.Random
    filler: list[str]
    weights: list[float]
    topics: list[tuple[str, str, str, str]]  # product, part, verb, adjective

    @classmethod
    def make(cls, articles: int, seed: int = 7) -> Corpus:
        rng = random.Random(seed)
        filler = sorted({_word(rng, 2, 4) for _ in range(FILLER_WORDS * 2)})[:FILLER_WORDS]
        rng.shuffle(filler)
        weights = [1 / (rank + 1) for rank in range(len(filler))]
        products = sorted({_word(rng, 3, 4) for _ in range(max(50, articles // 8) * 2)})
        topics = [
            (rng.choice(products), rng.choice(NOUNS), rng.choice(VERBS), rng.choice(ADJECTIVES))
            for _ in range(articles)
        ]
        return cls(rng, filler, weights, topics)

    def _filler(self, n: int) -> list[str]:
        return self.rng.choices(self.filler, self.weights, k=n)

    def _sentence(self, topic: tuple[str, str, str, str]) -> str:
        words = self._filler(self.rng.randint(6, 12))
        for _ in range(self.rng.randint(1, 2)):
            words.insert(self.rng.randrange(len(words) + 1), self.rng.choice(topic))
        return " ".join(words).capitalize() + "."

    def article(self, n: int) -> ArticleIn:
        topic = self.topics[n]
        product, part, verb, adjective = topic
        sections = []
        for _ in range(self.rng.randint(2, 4)):
            text = " ".join(self._sentence(topic) for _ in range(self.rng.randint(3, 8)))
            sections.append(f"## {self.rng.choice(VERBS).capitalize()} the {part}\n\n{text}")
        return ArticleIn(
            title=f"{verb.capitalize()} a {adjective} {part} on the {product.capitalize()}",
            summary=self._sentence(topic),
            body="\n\n".join(sections),
            slug=f"article-{n}",
            status="published",
        )

    def question(self) -> str:
        """Most questions are about one article's topic, in two to five words, a few
        ordinary words among them; some are about nothing written; a fifth has a typo."""
        if self.rng.random() < 0.85:
            topic = self.topics[self.rng.randrange(len(self.topics))]
            words = self.rng.sample(list(topic), self.rng.randint(2, 3))
            words += self._filler(self.rng.randint(0, 2))
        else:
            words = self._filler(self.rng.randint(2, 4))
        if self.rng.random() < 0.2:
            k = self.rng.randrange(len(words))
            words[k] = _typo(words[k], self.rng)
        self.rng.shuffle(words)
        return " ".join(words)


def _word(rng: random.Random, low: int, high: int) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(low, high)))


def _typo(word: str, rng: random.Random) -> str:
    if len(word) < 5:
        return word
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2 :]


def seed(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    articles: int,
    searches: int,
    progress: Any,
) -> None:
    corpus = Corpus.make(articles)
    rng = corpus.rng
    actor = Principal(
        workspace_id=workspace_id, kind="cli", label="bench", scopes=frozenset(map(str, ALL_SCOPES))
    )
    for start in range(0, articles, ARTICLES_PER_UNIT):
        with transaction(factory) as session:
            for n in range(start, min(start + ARTICLES_PER_UNIT, articles)):
                service.create_article(session, actor, corpus.article(n))
        if progress:
            progress(min(ARTICLES_PER_UNIT, articles - start))
    now = utcnow()
    for start in range(0, searches, SEARCH_CHUNK):
        rows = []
        for _ in range(min(SEARCH_CHUNK, searches - start)):
            text = corpus.question()
            rows.append(
                {
                    "id": new_id(),
                    "workspace_id": workspace_id,
                    "source": "center",
                    "query": text,
                    "normalized": normalize(text),
                    "locale": "en",
                    "results": rng.choice((0, 1, 3, 5, 10)),
                    "top": [],
                    "contacted": rng.random() < 0.05,
                    "at": now - timedelta(minutes=rng.randint(0, 90 * 24 * 60)),
                }
            )
        with transaction(factory) as session:
            session.execute(insert(HelpSearch), rows)
        if progress:
            progress(len(rows) // 100)


def run(
    factory: sessionmaker[Session],
    database_url: str,
    data_dir: Path,
    *,
    articles: int,
    searches: int,
    samples: int,
    analyze: bool = True,
    progress: Any = None,
) -> HelpBenchResult:
    with transaction(factory) as session:
        made = workspaces.create_workspace(session, f"bench-help-{uuid.uuid4().hex[:6]}")
    workspace_id, slug = made.workspace.id, made.workspace.slug
    t0 = time.perf_counter()
    seed(factory, workspace_id, articles, searches, progress)
    seeded = time.perf_counter() - t0
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    if analyze:
        # Statistics as autovacuum would leave them after such a load; without them
        # PostgreSQL reads the workspace's documents instead of the text index.
        with transaction(factory) as session:
            session.execute(
                text("ANALYZE help_documents, help_terms, help_searches, help_articles")
                if backend == "postgresql"
                else text("ANALYZE")
            )
    rng = random.Random(11)
    asking = Corpus.make(articles)  # the same topics, another customer's words
    asking.rng.seed(11)
    questions = [asking.question() for _ in range(samples)]
    pages, instants, reads = [], [], []
    found = 0
    with server(database_url, data_dir, 1) as (url, pid), httpx.Client(base_url=url) as client:
        for q in questions[:20]:  # warm up
            client.get(f"/help/{slug}/search.json", params={"q": q})
        for q in questions:
            t = time.perf_counter()
            r = client.get(f"/help/{slug}/search", params={"q": q})
            pages.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
            found += 'id="no-results"' not in r.text
            t = time.perf_counter()
            client.get(f"/help/{slug}/search.json", params={"q": q[: max(3, len(q) - 2)]})
            instants.append((time.perf_counter() - t) * 1000)
            article = f"article-{rng.randrange(articles)}"
            t = time.perf_counter()
            r = client.get(f"/help/{slug}/articles/{article}")
            reads.append((time.perf_counter() - t) * 1000)
            r.raise_for_status()
        rss = tree_rss_mb(pid)
    return HelpBenchResult(
        backend=backend,
        articles=articles,
        searches=searches,
        seed_seconds=seeded,
        search_page=pages,
        instant=instants,
        article_page=reads,
        found_rate=found / max(1, len(questions)),
        server_rss_mb=rss,
    )
