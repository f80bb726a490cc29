"""The reader's side of the knowledge base: what the help center shows in a language
(with the workspace's default language as the fallback), and search, recorded so the
analytics can show what readers looked for and did not find."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.repository import WorkspaceRepository
from accord.helpcenter import markdown
from accord.helpcenter.index import Hit, SearchIndex
from accord.helpcenter.models import HelpArticle, HelpCategory, HelpSearch, HelpTranslation
from accord.helpcenter.query import Query, Vocabulary, analyse, normalize, parse_synonyms, words
from accord.helpcenter.repository import KnowledgeRepository
from accord.helpcenter.schemas import HelpCenterSettings
from accord.helpcenter.service import settings_of
from accord.kit.errors import not_found
from accord.kit.ids import new_id
from accord.kit.time import utcnow

VOCABULARY_SECONDS = 30.0  # how long a process keeps a workspace's words


class _Vocabularies:
    """Each workspace's article words, read at most every ``VOCABULARY_SECONDS`` (a word
    published since is still found exactly; only its typo correction waits)."""

    def __init__(self) -> None:
        self._held: dict[uuid.UUID, tuple[float, Vocabulary]] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, workspace_id: uuid.UUID) -> Vocabulary:
        now = time.monotonic()
        with self._lock:
            held = self._held.get(workspace_id)
        if held is not None and now - held[0] < VOCABULARY_SECONDS:
            return held[1]
        index = SearchIndex.from_session(session)
        vocabulary = Vocabulary(index.vocabulary(workspace_id), index.documents(workspace_id))
        with self._lock:
            self._held[workspace_id] = (now, vocabulary)
        return vocabulary

    def forget(self, workspace_id: uuid.UUID) -> None:
        with self._lock:
            self._held.pop(workspace_id, None)


VOCABULARIES = _Vocabularies()


def public_center(session: Session, slug: str) -> tuple[Workspace, HelpCenterSettings]:
    """The workspace whose help center is at ``/help/{slug}`` (404 when there is none or
    it is turned off)."""
    workspace = WorkspaceRepository.from_session(session).get_by_slug(slug)
    if workspace is None:
        raise not_found("Help center")
    settings = settings_of(workspace)
    if not settings.enabled:
        raise not_found("Help center")
    return workspace, settings


def locales_for(settings: HelpCenterSettings, requested: str | None) -> list[str]:
    """The languages to look in, best first: the reader's, then the default."""
    wanted = requested if requested in settings.locales else None
    return list(dict.fromkeys([x for x in (wanted, settings.default_locale) if x]))


def _shown(
    translations: list[HelpTranslation], locales: list[str]
) -> dict[uuid.UUID, HelpTranslation]:
    """For each article, the live translation in the first of ``locales`` it has."""
    rank = {loc: i for i, loc in enumerate(locales)}
    best: dict[uuid.UUID, HelpTranslation] = {}
    for t in translations:
        if t.published_version is None or t.locale not in rank:
            continue
        held = best.get(t.article_id)
        if held is None or rank[t.locale] < rank[held.locale]:
            best[t.article_id] = t
    return best


@dataclass(frozen=True)
class Shown:
    """An article as a reader sees it in a language."""

    article: HelpArticle
    translation: HelpTranslation
    requested: str
    available: list[str]

    @property
    def fallback(self) -> bool:
        return self.translation.locale != self.requested


def article_for_reader(
    session: Session,
    workspace: Workspace,
    slug: str,
    locale: str | None,
    *,
    internal: bool = False,
) -> Shown:
    settings = settings_of(workspace)
    locales = locales_for(settings, locale)
    repo = KnowledgeRepository.from_session(session)
    article = repo.article_by_slug(workspace.id, slug)
    if article is None or (article.visibility == "internal" and not internal):
        raise not_found("Article")
    translations = repo.translations([article.id])
    chosen = _shown(translations, locales).get(article.id)
    if chosen is None:
        raise not_found("Article")
    available = [t.locale for t in translations if t.published_version is not None]
    return Shown(article, chosen, locales[0], sorted(available))


@dataclass
class Section:
    category: HelpCategory | None
    name: str
    description: str
    articles: list[tuple[HelpArticle, HelpTranslation]] = field(default_factory=list)


def _name(values: dict[str, str], locales: list[str], default: str) -> str:
    for loc in locales:
        if values.get(loc):
            return values[loc]
    return next(iter(values.values()), default)


def sections(
    session: Session,
    workspace: Workspace,
    locale: str | None,
    *,
    category_slug: str | None = None,
    internal: bool = False,
) -> list[Section]:
    """The help center's categories, each with its live articles in the reader's
    language (or the fallback)."""
    settings = settings_of(workspace)
    locales = locales_for(settings, locale)
    repo = KnowledgeRepository.from_session(session)
    categories = repo.categories(workspace.id)
    if category_slug is not None:
        categories = [c for c in categories if c.slug == category_slug]
        if not categories:
            raise not_found("Category")
    out: dict[uuid.UUID | None, Section] = {
        c.id: Section(
            c,
            _name(c.names, locales, c.slug),
            _name(c.descriptions, locales, ""),
        )
        for c in categories
    }
    articles = repo.articles(
        workspace.id, category_id=categories[0].id if category_slug else None, limit=5000
    )
    articles = [a for a in articles if internal or a.visibility == "public"]
    shown = _shown(repo.translations([a.id for a in articles]), locales)
    for article in articles:
        translation = shown.get(article.id)
        if translation is None:
            continue
        key = article.category_id if article.category_id in out else None
        if key is None and None not in out:
            if category_slug is not None:
                continue
            out[None] = Section(None, "More answers", "")
        out[key].articles.append((article, translation))
    return [s for s in out.values() if s.articles]


def section_of(
    session: Session, workspace: Workspace, article: HelpArticle, locale: str | None
) -> Section | None:
    """The category an article is in, named in the reader's language (its breadcrumb);
    only that category is read, not the help center's articles."""
    if article.category_id is None:
        return None
    category = KnowledgeRepository.from_session(session).category(workspace.id, article.category_id)
    if category is None:
        return None
    locales = locales_for(settings_of(workspace), locale)
    return Section(
        category,
        _name(category.names, locales, category.slug),
        _name(category.descriptions, locales, ""),
    )


@dataclass(frozen=True)
class Found:
    article_id: uuid.UUID
    slug: str
    locale: str
    title: str
    excerpt: str
    internal: bool
    score: float


@dataclass(frozen=True)
class SearchResult:
    query: Query
    found: list[Found]
    search_id: uuid.UUID | None


def _excerpt(hit: Hit, query: Query) -> str:
    """The sentence of the text where a searched word first appears (or its start)."""
    text = hit.text
    wanted = {t for c in query.concepts for t in c.terms() if " " not in t}
    sentences = [s.strip() for s in text.replace("!", ".").replace("?", ".").split(". ")]
    for sentence in sentences:
        tokens = set(words(sentence))
        if any(any(tok.startswith(w[:5]) for tok in tokens) for w in wanted if len(w) > 2):
            return markdown.excerpt(sentence)
    return markdown.excerpt(text)


def search(
    session: Session,
    workspace: Workspace,
    text: str,
    locale: str | None,
    *,
    internal: bool = False,
    typing: bool = False,
    limit: int = 10,
    source: str = "center",
    visit_id: uuid.UUID | None = None,
    record: bool = True,
) -> SearchResult:
    """The best live articles for ``text`` in the reader's language (and the fallback,
    for articles not translated). ``record``: kept for the analytics (instant results
    while typing are not)."""
    settings = settings_of(workspace)
    locales = locales_for(settings, locale)
    vocabulary = VOCABULARIES.get(session, workspace.id)
    query = analyse(text, vocabulary, parse_synonyms(settings.synonyms), typing=typing)
    hits = SearchIndex.from_session(session).search(
        workspace.id,
        query,
        locales,
        internal=internal,
        limit=limit * 2,
        frequency={c.word: vocabulary.frequency(c) for c in query.concepts},
        documents=vocabulary.documents,
    )
    # One result per article: the reader's language before the fallback.
    best: dict[uuid.UUID, Hit] = {}
    rank = {loc: i for i, loc in enumerate(locales)}
    for hit in hits:
        held = best.get(hit.article_id)
        if held is None or rank[hit.locale] < rank[held.locale]:
            best[hit.article_id] = hit
    ordered = sorted(best.values(), key=lambda h: (-h.score, str(h.article_id)))[:limit]
    found = [
        Found(
            article_id=h.article_id,
            slug=h.slug,
            locale=h.locale,
            title=h.title,
            excerpt=_excerpt(h, query),
            internal=h.internal,
            score=round(h.score, 4),
        )
        for h in ordered
    ]
    search_id = None
    if record and not query.empty:
        search_id = new_id()
        session.add(
            HelpSearch(
                id=search_id,
                workspace_id=workspace.id,
                visit_id=visit_id,
                source=source,
                query=text.strip()[:300],
                normalized=normalize(text),
                locale=locales[0],
                results=len(found),
                top=[str(f.article_id) for f in found[:3]],
                contacted=False,
                at=utcnow(),
            )
        )
        session.flush()
    return SearchResult(query, found, search_id)
