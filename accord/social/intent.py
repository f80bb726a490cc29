"""What a post about the brand wants: complaint, question, praise, purchase intent, churn
threat, urgent (safety, legal, outage) or spam. A post can have several.

The rules are readable and testable: cue phrases (:mod:`accord.social.intent_cues`,
English plus the commonest Spanish, French, German and Portuguese cues) matched on the
post's words, the post's sentiment (negative: a complaint; positive: praise), a question
mark or a question opener, and for spam the shape of the post (several links or hashtags
with promotional words, one character or emoji repeated many times). Each intent says
which words showed it (``cue``) so a person can see why. No work happens at import
time: the cue tables are compiled on the first call."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Literal

from accord.social.intent_cues import (
    CHURN_MOVES,
    CUES,
    PROMOTIONAL,
    QUESTION_ANYWHERE,
    QUESTION_AT_START,
)
from accord.social.sentiment import URL, Sentiment, analyse, without_noise

Kind = Literal[
    "complaint", "question", "praise", "purchase_intent", "churn_threat", "urgent", "spam"
]
Subtype = Literal["safety", "legal", "outage"]

KINDS: tuple[Kind, ...] = (
    "urgent",
    "complaint",
    "churn_threat",
    "question",
    "purchase_intent",
    "praise",
    "spam",
)
MIN_CONFIDENCE = 0.5  # an intent below this is not reported
SPAM_FLOOD = 6  # one character or emoji this many times in a row is flooding

# Words of a lower-cased post as cue phrases are matched on (and "?", "¿", "$", "€", "£").
_WORD = re.compile(r"[^\W_][\w']*|[?¿$€£.!]")
_FLOOD = re.compile(r"(\S)\1{" + str(SPAM_FLOOD - 1) + ",}")
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF]")
_SENTENCE_END = frozenset(".!?¿")
# In a post of plain ASCII, the characters whose runs are flooding (letters must run on
# for 3 * SPAM_FLOOD, which only a post with one of these or non-ASCII text does here).
_ASCII_FLOOD = "!?.$*-=_~+#@>"
_ORDER = {kind: n for n, kind in enumerate(KINDS)}
# The first words of CHURN_MOVES: the move rule runs only on posts that have one.
_MOVES = frozenset(phrase.split()[0] for phrase in CHURN_MOVES.split("|"))


@dataclass(frozen=True)
class Intent:
    """One thing a post wants, how sure the rules are (0 to 1), the words that showed it
    and, for "urgent", what kind of urgency."""

    kind: Kind
    confidence: float
    cue: str
    subtype: Subtype | None = None


Cue = tuple[tuple[str, ...], str, str | None, float]  # words, kind, subtype, confidence
Found = Callable[[str, str | None, float, str], None]  # reports kind, subtype, confidence, cue
Best = dict[tuple[str, str | None], tuple[float, str]]  # (kind, subtype) -> confidence, cue


@dataclass(frozen=True)
class _Tables:
    cues: dict[str, tuple[Cue, ...]]  # first word -> cues starting with it, longest first
    openers_anywhere: dict[str, tuple[tuple[str, ...], ...]]
    openers_at_start: dict[str, tuple[tuple[str, ...], ...]]
    churn_move: re.Pattern[str]
    first_words: frozenset[str]  # every word a cue or an opener starts with


def _phrases(spec: str) -> list[tuple[str, ...]]:
    return [tuple(_WORD.findall(p.strip().lower())) for p in spec.split("|") if p.strip()]


def _by_first(phrases: list[tuple[str, ...]]) -> dict[str, tuple[tuple[str, ...], ...]]:
    grouped: dict[str, list[tuple[str, ...]]] = {}
    for words in phrases:
        grouped.setdefault(words[0], []).append(words)
    return {w: tuple(sorted(p, key=len, reverse=True)) for w, p in grouped.items()}


@cache
def _tables() -> _Tables:
    """The cue tables, compiled once."""
    grouped: dict[str, list[Cue]] = {}
    for (kind, subtype), levels in CUES.items():
        for confidence, spec in levels.items():
            for words in _phrases(spec):
                grouped.setdefault(words[0], []).append((words, kind, subtype, confidence))
    cues = {w: tuple(sorted(c, key=lambda c: -len(c[0]))) for w, c in grouped.items()}
    churn_move = re.compile(
        rf"\b(?:{CHURN_MOVES})\s+(?:over\s+)?to\s+(?:the\s+)?([A-Z][\w.&'-]+)", re.IGNORECASE
    )
    anywhere = _by_first(_phrases(QUESTION_ANYWHERE))
    at_start = _by_first(_phrases(QUESTION_AT_START))
    return _Tables(
        cues=cues,
        openers_anywhere=anywhere,
        openers_at_start=at_start,
        churn_move=churn_move,
        first_words=frozenset({*cues, *anywhere, *at_start, *_MOVES}),
    )


def _matches(
    words: list[str], i: int, candidates: tuple[tuple[str, ...], ...]
) -> tuple[str, ...] | None:
    """The first (longest) of ``candidates`` that the words at ``i`` spell."""
    for phrase in candidates:
        size = len(phrase)
        if size == 1 or tuple(words[i : i + size]) == phrase:
            return phrase
    return None


def intents(
    text: str,
    sentiment: Sentiment | None = None,
    *,
    competitors: frozenset[str] = frozenset(),
) -> list[Intent]:
    """What ``text`` wants, most urgent first (see :data:`KINDS`); ``sentiment`` is the
    post's :func:`~accord.social.sentiment.analyse` result when the caller has it.
    ``competitors`` (lower case) makes "moving to <competitor>" a sure churn threat."""
    tables = _tables()
    if sentiment is None:
        sentiment = analyse(text)
    links = len(URL.findall(text)) if "http" in text or "www." in text else 0
    low = without_noise(text).lower()
    if "\u2019" in low:
        low = low.replace("\u2019", "'")
    words = _WORD.findall(low)
    best: Best = {}
    spam_hits: list[str] = []

    def found(kind: str, subtype: str | None, confidence: float, cue: str) -> None:
        key = (kind, subtype)
        if key not in best or confidence > best[key][0]:
            best[key] = (confidence, cue)

    # Cue phrases, and question openers (anywhere, or at a sentence's start).
    cues = tables.cues
    anywhere = tables.openers_anywhere
    at_start = tables.openers_at_start
    moving = False  # a move verb followed by "to"/"over" ("switching to", "moving over")
    for i in [i for i, w in enumerate(words) if w in tables.first_words]:
        word = words[i]
        entries = cues.get(word)
        if entries is not None:
            matched = 0  # the longest phrase here wins (with its same-worded twins)
            for phrase, kind, subtype, confidence in entries:
                size = len(phrase)
                if size < matched:
                    break
                if size == 1 or tuple(words[i : i + size]) == phrase:
                    matched = size
                    if kind == "spam":
                        spam_hits.append(" ".join(phrase))
                    if kind != "ignore":
                        found(kind, subtype, confidence, " ".join(phrase))
        opener = anywhere.get(word)
        if opener is not None and (said := _matches(words, i, opener)) is not None:
            found("question", None, 0.75, " ".join(said))
        opener = at_start.get(word)
        if opener is not None and (i == 0 or words[i - 1] in _SENTENCE_END):
            said = _matches(words, i, opener)
            if said is not None:
                found("question", None, 0.6, " ".join(said))
        if word in _MOVES and i + 1 < len(words) and words[i + 1] in ("to", "over"):
            moving = True
    if "?" in low or "¿" in low:
        confidence = 0.9 if ("question", None) in best else 0.75
        cue = best.get(("question", None), (0.0, "?"))[1]
        best[("question", None)] = (confidence, cue if cue == "?" else f"{cue} ... ?")
    if moving:
        _churn_moves(text, tables.churn_move, competitors, sentiment, found)
    _sentiment_intents(text, sentiment, best, found)
    _spam_shape(text, words, links, spam_hits, best)
    if best.get(("spam", None), (0.0, ""))[0] >= 0.8:
        best.pop(("praise", None), None)  # a promotion's cheer is no praise
    result = [
        Intent(kind, round(min(confidence, 1.0), 2), cue, subtype)  # type: ignore[arg-type]
        for (kind, subtype), (confidence, cue) in best.items()
        if confidence >= MIN_CONFIDENCE
    ]
    result.sort(key=lambda x: (_ORDER[x.kind], -x.confidence))
    return result


def _churn_moves(
    text: str,
    pattern: re.Pattern[str],
    competitors: frozenset[str],
    sentiment: Sentiment,
    found: Found,
) -> None:
    """A move to a named brand ("moving to <Name>"): a churn threat, sure when the name is
    a known competitor, likely when the post is negative ("moving to Berlin" is none)."""
    for m in pattern.finditer(text):
        name = m.group(1).rstrip(".!?,'")
        if name.lower() in competitors:
            found("churn_threat", None, 0.95, m.group(0).rstrip(".!?,'"))
        elif name[0].isupper() and sentiment.label == "negative":
            found("churn_threat", None, 0.7, m.group(0).rstrip(".!?,'"))


def _sentiment_intents(
    text: str,
    sentiment: Sentiment,
    best: Best,
    found: Found,
) -> None:
    """Negative sentiment makes a complaint, positive praise; a cue of the other side is
    weakened ("thanks for nothing" is no praise, "refund received, thanks!" no complaint)."""
    score = sentiment.score
    if sentiment.label == "negative":
        _weaken(best, ("praise", None), 0.3)
        if ("complaint", None) in best:
            confidence, cue = best[("complaint", None)]
            best[("complaint", None)] = (min(1.0, confidence + 0.1), cue)
        else:
            found("complaint", None, 0.45 + 0.5 * abs(score), _polar_cue(sentiment, negative=True))
    elif sentiment.label == "positive":
        _weaken(best, ("complaint", None), 0.3)
        if ("praise", None) in best:
            confidence, cue = best[("praise", None)]
            best[("praise", None)] = (min(1.0, confidence + 0.1), cue)
        elif ("question", None) not in best and ("purchase_intent", None) not in best:
            found("praise", None, 0.35 + 0.5 * score, _polar_cue(sentiment, negative=False))
    elif score > 0:
        _weaken(best, ("complaint", None), 0.15)
    elif score < 0:
        _weaken(best, ("praise", None), 0.15)


def _weaken(best: Best, key: tuple[str, None], by: float) -> None:
    """Lower an intent's confidence (it may fall below reporting)."""
    if key in best:
        confidence, cue = best[key]
        best[key] = (confidence - by, cue)


def _polar_cue(sentiment: Sentiment, negative: bool) -> str:
    """The words that make a post negative (or positive), strongest first."""
    words = [(w, v) for w, v in sentiment.cues if (v < 0) == negative and v]
    words.sort(key=lambda wv: -abs(wv[1]))
    return ", ".join(dict.fromkeys(w for w, _ in words[:3])) or "overall tone"


def _spam_shape(text: str, words: list[str], links: int, hits: list[str], best: Best) -> None:
    """Spam from its cues (each further one adds) and from a post's shape: several links
    or hashtags (more with promotional words), a character or emoji flooding the post."""
    confidence = best.get(("spam", None), (0.0, ""))[0]
    signals = list(dict.fromkeys(hits))
    if len(signals) > 1:
        confidence += 0.15 * (len(signals) - 1)
    hashtags = text.count("#")
    shaped = links >= 2 or hashtags >= 4
    promotional = [w for w in words if w in PROMOTIONAL] if shaped else []
    if links >= 2:
        confidence += 0.2 + (0.2 if promotional else 0.0)
        signals.append(f"{links} links")
    if hashtags >= 4:
        confidence += 0.15 + (0.2 if promotional else 0.0)
        signals.append(f"{hashtags} hashtags")
    if promotional:
        signals.append(", ".join(dict.fromkeys(promotional)))
    ascii_only = text.isascii()
    flood = None
    if len(text) >= SPAM_FLOOD and (
        not ascii_only or any(c * SPAM_FLOOD in text for c in _ASCII_FLOOD)
    ):
        flood = _FLOOD.search(text)
    if flood is not None:
        run, char = len(flood.group(0)), flood.group(1)
        if not char.isalnum() or run >= 3 * SPAM_FLOOD:
            confidence += 0.5 if run >= 2 * SPAM_FLOOD else 0.3
            signals.append(f"{char} repeated {run} times")
    elif not ascii_only and len(text) >= 2 * SPAM_FLOOD:
        emoji = len(_EMOJI.findall(text))
        if emoji >= 2 * SPAM_FLOOD:
            confidence += 0.3
            signals.append(f"{emoji} emoji")
    if confidence >= MIN_CONFIDENCE:
        best[("spam", None)] = (min(confidence, 1.0), "; ".join(signals))
