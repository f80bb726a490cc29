"""What a reader typed, made into what the index is asked: the words (folded, without
diacritics), each with its alternatives: the workspace's synonyms ("send back" for
"return") and, for a word no published article uses, the article words it is most likely
a typo of. The database stems every alternative (PostgreSQL text search, SQLite FTS5
with the Porter stemmer), so "returning" finds "returns". Matching is any-word, ranked:
a question phrased in the reader's words still finds the article phrased in ours."""

from __future__ import annotations

import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from itertools import accumulate

import jellyfish

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_WORDS = 12
MIN_TYPO_LENGTH = 4
MIN_PREFIX = 3  # letters of a word being typed before it is looked up as a prefix


def fold(text: str) -> str:
    """Lower case without diacritics ("Réglage" -> "reglage")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text))


def normalize(text: str) -> str:
    """The form a search is grouped by in the analytics ("Return  policy?" and "return
    policy" are one query)."""
    return " ".join(words(text))[:300]


@dataclass
class Concept:
    """One word of the query and what else may stand for it (words or phrases)."""

    word: str
    alternatives: list[str] = field(default_factory=list)
    prefix: bool = False  # the last word while the reader is still typing it

    def terms(self) -> list[str]:
        return [self.word, *[a for a in self.alternatives if a != self.word]]


@dataclass(frozen=True)
class Query:
    text: str
    concepts: list[Concept]
    corrected: dict[str, str]  # a typed word -> the article word it was read as

    @property
    def empty(self) -> bool:
        return not self.concepts


class Vocabulary:
    """The words of a workspace's published articles, with how many documents use
    each; bucketed by first letter for the typo look-up."""

    def __init__(self, counts: Mapping[str, int], documents: int = 0) -> None:
        self.counts = dict(counts)
        self.documents = documents
        self._sorted = sorted(self.counts)
        self._running = list(accumulate(self.counts[t] for t in self._sorted))
        self._by_first: dict[str, list[str]] = {}
        for term in self.counts:
            if len(term) >= MIN_TYPO_LENGTH - 1:
                self._by_first.setdefault(term[0], []).append(term)

    def __contains__(self, word: str) -> bool:
        return word in self.counts

    def frequency(self, concept: Concept) -> int:
        """About how many documents hold ``concept`` (any of its words)."""
        found = 0
        for term in concept.terms():
            if " " in term:
                continue
            if concept.prefix and term == concept.word:
                found += self._starting_with(term)  # the word being typed, as a prefix
            else:
                found += self.counts.get(term, 0)
        return min(found, self.documents) if self.documents else found

    def _starting_with(self, prefix: str) -> int:
        """The documents of the words that start with ``prefix``, summed (an upper bound
        of the documents holding one of them)."""
        low = bisect_left(self._sorted, prefix)
        high = bisect_left(self._sorted, prefix + "\uffff")
        if high <= low:
            return 0
        return self._running[high - 1] - (self._running[low - 1] if low else 0)

    def closest(self, word: str) -> str | None:
        """The article word ``word`` is most likely a typo of: within one edit (two for
        words of eight letters or more; a transposition is one edit), the most used
        among equally close ones; None when none is close."""
        if len(word) < MIN_TYPO_LENGTH or word.isdigit():
            return None
        most = 1 if len(word) < 8 else 2
        best: tuple[int, int, str] | None = None
        for term in self._by_first.get(word[0], ()):
            if abs(len(term) - len(word)) > most:
                continue
            distance = jellyfish.damerau_levenshtein_distance(word, term)
            if distance > most:
                continue
            key = (distance, -self.counts[term], term)
            if best is None or key < best:
                best = key
        return best[2] if best is not None else None


def parse_synonyms(lines: Iterable[str]) -> list[list[str]]:
    """Synonym groups from lines such as ``return, send back, refund``."""
    groups = []
    for line in lines:
        group = [normalize(part) for part in line.split(",")]
        group = [g for g in dict.fromkeys(group) if g]
        if len(group) > 1:
            groups.append(group)
    return groups


def analyse(
    text: str,
    vocabulary: Vocabulary | None = None,
    synonyms: Iterable[list[str]] = (),
    *,
    typing: bool = False,
) -> Query:
    """The concepts of ``text``. ``typing``: the last word may be incomplete (instant
    results), so it also matches as a prefix."""
    found = words(text)[:MAX_WORDS]
    concepts = [Concept(w) for w in dict.fromkeys(found)]
    corrected: dict[str, str] = {}
    if vocabulary is not None and vocabulary.counts:
        for concept in concepts:
            if concept.word not in vocabulary:
                fix = vocabulary.closest(concept.word)
                if fix is not None:
                    concept.alternatives.append(fix)
                    corrected[concept.word] = fix
    joined = f" {' '.join(found)} "
    for group in synonyms:
        present = [g for g in group if f" {g} " in joined]
        if not present:
            continue
        others = [g for g in group if g not in present]
        phrase = max(present, key=len)
        if " " in phrase:
            # "send back": one thing asked, not two words; it stands in for "return".
            parts = phrase.split()
            concepts = [c for c in concepts if c.word not in parts or c.word in others]
            concepts.append(Concept(phrase, list(others)))
            continue
        anchor = next((c for c in concepts if c.word == phrase), None)
        if anchor is not None:
            anchor.alternatives.extend(o for o in others if o not in anchor.alternatives)
    if typing and concepts and text[-1:].isalnum():
        if len(concepts[-1].word) >= MIN_PREFIX:
            concepts[-1].prefix = True
        elif len(concepts) > 1 and not concepts[-1].alternatives:
            # One or two letters of a word being typed tell nothing yet (and would ask
            # for every word they begin): the question is what was typed before them.
            concepts.pop()
    return Query(text=text, concepts=concepts, corrected=corrected)
