"""The search index of published articles, the one place its SQL differs by database:
PostgreSQL keeps a weighted ``tsvector`` per document (title A, text B) in the language's
text-search configuration, under a GIN index, and ranks with ``ts_rank``; SQLite keeps an
FTS5 table (Porter stemmer, diacritics folded) beside the documents and ranks with
``bm25``, the title weighing eight times the text. The words of the documents are
counted per workspace (``help_terms``) for typo correction."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from itertools import combinations
from typing import Any

from sqlalchemy import (
    ColumnElement,
    bindparam,
    delete,
    func,
    insert,
    literal,
    literal_column,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite

from accord.helpcenter.models import HelpArticle, HelpDocument, HelpTerm
from accord.helpcenter.query import Concept, Query, words
from accord.kit.repository import Repository

# Languages with a stemmer in PostgreSQL; any other is searched word for word.
CONFIGS = {
    "da": "danish", "de": "german", "en": "english", "es": "spanish", "fi": "finnish",
    "fr": "french", "hu": "hungarian", "it": "italian", "nl": "dutch", "no": "norwegian",
    "nb": "norwegian", "pt": "portuguese", "ro": "romanian", "ru": "russian",
    "sv": "swedish", "tr": "turkish",
}  # fmt: skip
TITLE_WEIGHT = 8.0
MAX_CONCEPTS = 8  # the words of a question searched (28 pairs at most)
# The Snowball English stop words (those of PostgreSQL's ``english`` configuration).
ENGLISH_STOP_WORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his
    himself she her hers herself it its itself they them their theirs themselves what which
    who whom this that these those am is are was were be been being have has had having do
    does did doing a an the and but if or because as until while of at by for with about
    against between into through during before after above below to from up down in out on
    off over under again further then once here there when where why how all any both each
    few more most other some such no nor not only own same so than too very s t can will
    just don should now""".split()  # noqa: SIM905 (a list as the standard prints it)
)
MAX_TERM = 60
CANDIDATES = 300  # documents a tier is expected to rank, at most (see ``_affordable``)
RANKED = 1000  # documents a tier ranks, at most, when the expectation was wrong


def config_of(locale: str) -> str:
    return CONFIGS.get(locale.split("-")[0].lower(), "simple")


@dataclass(frozen=True)
class Hit:
    document_id: uuid.UUID
    article_id: uuid.UUID
    locale: str
    title: str
    text: str
    score: float
    slug: str  # the article's
    internal: bool


def _terms(title: str, body: str) -> set[str]:
    return {w for w in words(f"{title} {body}") if 3 <= len(w) <= MAX_TERM and not w.isdigit()}


class SearchIndex(Repository):
    def _postgres(self) -> bool:
        return self.session.get_bind().dialect.name == "postgresql"

    # --- writing ---------------------------------------------------------------------------

    def put(
        self,
        *,
        document_id: uuid.UUID,
        workspace_id: uuid.UUID,
        article_id: uuid.UUID,
        locale: str,
        internal: bool,
        title: str,
        body: str,
    ) -> None:
        """Index a published translation (again): its text replaces what was there."""
        old = self.session.get(HelpDocument, document_id)
        before = _terms(old.title, old.text) if old is not None else set()
        if old is not None:
            self._remove_fts(old)
        values: dict[str, Any] = {
            "workspace_id": workspace_id,
            "article_id": article_id,
            "locale": locale,
            "internal": internal,
            "title": title,
            "text": body,
        }
        if self._postgres():
            values["search"] = _vector(workspace_id, locale, title, body)
        # One write per document (an insert, then an update of the vector, would leave a
        # dead row for every article published until the table is vacuumed).
        if old is not None:
            self.session.execute(
                update(HelpDocument).where(HelpDocument.id == document_id).values(**values),
                execution_options={"synchronize_session": False},
            )
            self.session.expire(old)
        else:
            self.session.execute(insert(HelpDocument).values(id=document_id, **values))
        if not self._postgres():
            self.session.execute(
                text(
                    "INSERT INTO help_fts (rowid, title, body) "
                    "SELECT rowid, :title, :body FROM help_documents WHERE id = :id"
                ),
                {"title": title, "body": body, "id": _sqlite_id(document_id)},
            )
        after = _terms(title, body)
        self._count_terms(workspace_id, after - before, +1)
        self._count_terms(workspace_id, before - after, -1)

    def drop(self, document_id: uuid.UUID) -> None:
        old = self.session.get(HelpDocument, document_id)
        if old is None:
            return
        self._remove_fts(old)
        self._count_terms(old.workspace_id, _terms(old.title, old.text), -1)
        self.session.execute(delete(HelpDocument).where(HelpDocument.id == document_id))

    def set_internal(self, article_id: uuid.UUID, internal: bool) -> None:
        self.session.execute(
            update(HelpDocument)
            .where(HelpDocument.article_id == article_id)
            .values(internal=internal)
        )

    def _remove_fts(self, doc: HelpDocument) -> None:
        if self._postgres():
            return
        self.session.execute(
            text(
                "INSERT INTO help_fts (help_fts, rowid, title, body) "
                "SELECT 'delete', rowid, :title, :body FROM help_documents WHERE id = :id"
            ),
            {"title": doc.title, "body": doc.text, "id": _sqlite_id(doc.id)},
        )

    def _count_terms(self, workspace_id: uuid.UUID, terms: set[str], step: int) -> None:
        if not terms:
            return
        module: Any = postgresql if self._postgres() else sqlite
        table = HelpTerm.__table__
        rows = [{"workspace_id": workspace_id, "term": t, "documents": step} for t in sorted(terms)]
        for start in range(0, len(rows), 500):
            stmt = module.insert(table)
            stmt = stmt.on_conflict_do_update(
                index_elements=["workspace_id", "term"],
                set_={"documents": table.c.documents + stmt.excluded.documents},
            )
            self.session.execute(stmt, rows[start : start + 500])
        if step < 0:
            self.session.execute(
                delete(HelpTerm).where(
                    HelpTerm.workspace_id == workspace_id, HelpTerm.documents <= 0
                )
            )

    # --- reading ---------------------------------------------------------------------------

    def documents(self, workspace_id: uuid.UUID) -> int:
        return int(
            self.session.scalar(
                select(func.count()).where(HelpDocument.workspace_id == workspace_id)
            )
            or 0
        )

    def vocabulary(self, workspace_id: uuid.UUID) -> dict[str, int]:
        rows = self.session.execute(
            select(HelpTerm.term, HelpTerm.documents).where(HelpTerm.workspace_id == workspace_id)
        )
        return {term: count for term, count in rows}

    def search(
        self,
        workspace_id: uuid.UUID,
        query: Query,
        locales: list[str],
        *,
        internal: bool,
        limit: int,
        frequency: Mapping[str, int] | None = None,
        documents: int = 0,
    ) -> list[Hit]:
        """The best documents in ``locales`` (the reader's and the fallback), best first;
        ``internal`` includes the agents-only articles. ``frequency``: about how many of
        the ``documents`` hold each word, to keep what a tier ranks within
        ``CANDIDATES`` (see ``_affordable``).

        Asked in tiers, the first that finds anything answers: every word of the question
        (two words), or any two of them (three or more: one word of the reader's that no
        article uses does not lose the answer), then any one. Besides ranking documents
        that share more of the question first, this keeps a common word from making the
        database rank most of the help center."""
        concepts = query.concepts
        if config_of(locales[0]) == "english":
            concepts = [c for c in concepts if c.word not in ENGLISH_STOP_WORDS] or concepts
        concepts = concepts[:MAX_CONCEPTS]
        if not concepts:
            return []
        postgres = self._postgres()
        pg_groups = [self._group_pg(c, locales[0]) for c in concepts] if postgres else []
        fts_groups = [] if postgres else [_group_fts(c) for c in concepts]
        shares = [
            (frequency or {}).get(c.word, 0) / documents if documents else 0.0 for c in concepts
        ]
        for every in _tiers(len(concepts)):
            tier, cap = _affordable(every, shares, documents)
            hits = (
                self._run_pg(workspace_id, pg_groups, tier, locales, internal, limit, cap)
                if postgres
                else self._run_fts(workspace_id, fts_groups, tier, locales, internal, limit)
            )
            if hits:
                return hits
        return []

    def _group_pg(self, concept: Concept, locale: str) -> ColumnElement[Any]:
        config = literal(config_of(locale)).cast(_regconfig())
        parts: list[ColumnElement[Any]] = []
        for term in concept.terms():
            if concept.prefix and term == concept.word:
                parts.append(func.to_tsquery(config, literal(_quoted(term) + ":*")))
            elif " " in term:
                parts.append(func.phraseto_tsquery(config, term))
            else:
                parts.append(func.plainto_tsquery(config, term))
        joined: ColumnElement[Any] = _joined(parts, "||")
        return joined

    def _run_pg(
        self,
        workspace_id: uuid.UUID,
        groups: list[Any],
        tier: list[tuple[int, ...]],
        locales: list[str],
        internal: bool,
        limit: int,
        cap: int,
    ) -> list[Hit]:
        ts_query = _joined([_joined([groups[i] for i in combo], "&&") for combo in tier], "||")
        token = literal("'" + workspace_token(workspace_id) + "'").cast(postgresql.TSQUERY())
        rank = func.ts_rank(
            literal([0.1, 0.2, 0.4, 1.0], _real_array()), HelpDocument.search, ts_query, 1
        )
        # The matches come from the text index alone (the workspace's lexeme is part of
        # the condition, and a materialized step leaves the planner no other index to
        # prefer); the other conditions then sort out the few rows it found.
        found = (
            select(
                HelpDocument.id,
                HelpDocument.workspace_id,
                HelpDocument.locale,
                HelpDocument.internal,
                rank.label("score"),
            )
            .where(HelpDocument.search.op("@@")(ts_query.op("&&")(token)))
            .limit(cap)
            .cte("found")
            .prefix_with("MATERIALIZED")
        )
        best = (
            select(found.c.id, found.c.score)
            .where(found.c.workspace_id == workspace_id, found.c.locale.in_(locales))
            .order_by(found.c.score.desc(), found.c.id)
            .limit(limit)
        )
        if not internal:
            best = best.where(found.c.internal.is_(False))
        top = best.subquery("top")
        stmt = (
            select(
                HelpDocument.id,
                HelpDocument.article_id,
                HelpDocument.locale,
                HelpDocument.title,
                HelpDocument.text,
                top.c.score,
                HelpArticle.slug,
                HelpDocument.internal,
            )
            .join(top, top.c.id == HelpDocument.id)
            .join(HelpArticle, HelpArticle.id == HelpDocument.article_id)
            .order_by(top.c.score.desc(), HelpDocument.id)
        )
        return [Hit(*row) for row in self.session.execute(stmt)]

    def _run_fts(
        self,
        workspace_id: uuid.UUID,
        groups: list[str],
        tier: list[tuple[int, ...]],
        locales: list[str],
        internal: bool,
        limit: int,
    ) -> list[Hit]:
        match = " OR ".join("(" + " AND ".join(groups[i] for i in combo) + ")" for combo in tier)
        stmt = text(_FTS_SEARCH).bindparams(bindparam("locales", expanding=True))
        params: dict[str, Any] = {
            "match": match,
            "workspace": _sqlite_id(workspace_id),
            "locales": locales,
            "internal": internal,
            "limit": limit,
        }
        return [
            Hit(
                document_id=uuid.UUID(str(row[0])),
                article_id=uuid.UUID(str(row[1])),
                locale=row[2],
                title=row[3],
                text=row[4],
                score=float(row[5]),
                slug=row[6],
                internal=bool(row[7]),
            )
            for row in self.session.execute(stmt, params)
        ]


# The best matches of a workspace (the title weighs TITLE_WEIGHT times the text in bm25);
# only the chosen ones' text is read. FTS5 ranks every match at little cost (no vector to
# read per document), so no cap applies here: a ``rowid IN (...)`` cap would make SQLite
# run the text query once for each of its rows.
_FTS_SEARCH = (
    "SELECT d.id, d.article_id, d.locale, d.title, d.text, top.score, a.slug, d.internal "
    "FROM ("
    "SELECT s.rowid AS rid, s.id AS sid, -bm25(help_fts, 8.0, 1.0) AS score "
    "FROM help_fts JOIN help_documents s ON s.rowid = help_fts.rowid "
    "WHERE help_fts MATCH :match "
    "AND s.workspace_id = :workspace "
    "AND s.locale IN :locales AND (:internal OR s.internal = 0) "
    "ORDER BY score DESC, s.id LIMIT :limit"
    ") AS top JOIN help_documents d ON d.rowid = top.rid "
    "JOIN help_articles a ON a.id = d.article_id "
    "ORDER BY top.score DESC, d.id"
)


def workspace_token(workspace_id: uuid.UUID) -> str:
    """The lexeme every document of a workspace carries in its vector, so that the text
    index alone finds a workspace's matches, whatever statistics the planner has (no
    word the parser makes holds a space)."""
    return f"ws {workspace_id.hex}"


def _vector(workspace_id: uuid.UUID, locale: str, title: str, body: str) -> Any:
    config = literal(config_of(locale)).cast(_regconfig())
    weighted = func.setweight(func.to_tsvector(config, title), literal_column("'A'")).op("||")(
        func.setweight(func.to_tsvector(config, body), literal_column("'B'"))
    )
    token = func.array_to_tsvector(postgresql.array([literal(workspace_token(workspace_id))]))
    return weighted.op("||")(token)


def _tiers(n: int) -> list[list[tuple[int, ...]]]:
    """Which words must be found together, tier by tier (see ``SearchIndex.search``)."""
    every: list[tuple[int, ...]] = [(i,) for i in range(n)]
    if n == 1:
        return [every]
    if n == 2:
        both: list[tuple[int, ...]] = [(0, 1)]
        return [both, every]
    return [list(combinations(range(n), 2)), every]


def _affordable(
    tier: list[tuple[int, ...]], shares: list[float], documents: int
) -> tuple[list[tuple[int, ...]], int]:
    """The combinations of a tier most telling of what is wanted, as long as the
    documents they are likely to find (each word's share of the documents, words taken
    as independent) stay within ``CANDIDATES``: the rarest first, always one. Ranking
    every document that holds a word most articles use is slow and says little (a word's
    weight falls as more documents hold it), so it is left to narrow the others. When
    even the rarest combination is in more documents than that, the question tells
    almost nothing apart: only the first ``CANDIDATES`` documents found are ranked (the
    cap returned); otherwise no more than ``RANKED`` (words that go together more often
    than by chance find more than expected)."""

    def likely(combo: tuple[int, ...]) -> float:
        found = float(documents)
        for i in combo:
            found *= shares[i]
        return found

    kept: list[tuple[int, ...]] = []
    spent = 0.0
    for combo in sorted(tier, key=likely):
        cost = likely(combo)
        if kept and spent + cost > CANDIDATES:
            break
        kept.append(combo)
        spent += cost
    return kept, (CANDIDATES if spent > CANDIDATES else RANKED)


def _joined(parts: list[Any], op: str) -> Any:
    out = parts[0]
    for part in parts[1:]:
        out = out.op(op)(part)
    return out


def _group_fts(concept: Concept) -> str:
    alternatives = []
    for term in concept.terms():
        quoted = '"' + term.replace('"', "") + '"'
        alternatives.append(quoted + ("*" if concept.prefix and term == concept.word else ""))
    return "(" + " OR ".join(alternatives) + ")"


def _quoted(term: str) -> str:
    return "'" + term.replace("'", "").replace("\\", "") + "'"


def _regconfig() -> Any:
    from sqlalchemy.dialects.postgresql import REGCONFIG

    return REGCONFIG()


def _real_array() -> Any:
    from sqlalchemy import REAL
    from sqlalchemy.dialects.postgresql import ARRAY

    return ARRAY(REAL)


def _sqlite_id(value: uuid.UUID) -> str:
    """A UUID as SQLAlchemy stores it on SQLite (32 hex digits)."""
    return value.hex
