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
from itertools import compress
from typing import Literal

from accord.social.intent_cues import (
    CHURN_MOVES,
    CUES,
    PROMOTIONAL,
    QUESTION_ANYWHERE,
    QUESTION_AT_START,
)
from accord.social.sentiment import URL, Sentiment, analyse
from accord.social.sentiment import words as post_words

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

_FLOOD = re.compile(r"(\S)\1{" + str(SPAM_FLOOD - 1) + ",}")
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF]")
_SENTENCE_END = frozenset(".!?¿")
# In a post of plain ASCII, only punctuation runs are worth a closer look (the flooding
# of a letter counts from 3 * SPAM_FLOOD, left to posts with emoji or other scripts).
_ASCII_FLOOD = re.compile(rf"([!?.$*=_~+#@>-])\1{{{SPAM_FLOOD - 1}}}")
_ORDER = {kind: n for n, kind in enumerate(KINDS)}
# The first words of CHURN_MOVES: the move rule runs only on posts that have one.
_MOVES = frozenset(phrase.split()[0] for phrase in CHURN_MOVES.split("|"))


@dataclass(frozen=True, slots=True)
class Intent:
    """One thing a post wants, how sure the rules are (0 to 1), the words that showed it
    and, for "urgent", what kind of urgency."""

    kind: Kind
    confidence: float
    cue: str
    subtype: Subtype | None = None


Found = Callable[[str, str | None, float, str], None]  # reports kind, subtype, confidence, cue
Best = dict[tuple[str, str | None], tuple[float, str]]  # (kind, subtype) -> confidence, cue
Words = tuple[str, ...]
# Phrases of one length starting with one word: words -> (kind, subtype, confidence)...
Level = tuple[int, dict[Words, tuple[tuple[str, str | None, float], ...]]]
Openers = tuple[tuple[int, frozenset[Words]], ...]  # by length, longest first


@dataclass(frozen=True)
class _Start:
    """All that a post's word can start: cue phrases (longest first), question openers
    (anywhere, or at a sentence's start), a move to another brand."""

    cues: tuple[Level, ...] = ()
    anywhere: Openers = ()
    at_start: Openers = ()
    move: bool = False


def _phrases(spec: str) -> list[Words]:
    return [post_words(p.strip())[1] for p in spec.split("|") if p.strip()]


def _openers(phrases: list[Words]) -> dict[str, Openers]:
    grouped: dict[str, dict[int, set[Words]]] = {}
    for words in phrases:
        grouped.setdefault(words[0], {}).setdefault(len(words), set()).add(words)
    return {
        w: tuple((n, frozenset(p)) for n, p in sorted(sizes.items(), reverse=True))
        for w, sizes in grouped.items()
    }


@cache
def _tables() -> dict[str, _Start]:
    """The cue tables by first word, compiled once."""
    grouped: dict[str, dict[int, dict[Words, list[tuple[str, str | None, float]]]]] = {}
    for (kind, subtype), levels in CUES.items():
        for confidence, spec in levels.items():
            for words in _phrases(spec):
                by_size = grouped.setdefault(words[0], {}).setdefault(len(words), {})
                by_size.setdefault(words, []).append((kind, subtype, confidence))
    cues = {
        w: tuple(
            (n, {p: tuple(found) for p, found in phrases.items()})
            for n, phrases in sorted(sizes.items(), reverse=True)
        )
        for w, sizes in grouped.items()
    }
    anywhere = _openers(_phrases(QUESTION_ANYWHERE))
    at_start = _openers(_phrases(QUESTION_AT_START))
    return {
        w: _Start(cues.get(w, ()), anywhere.get(w, ()), at_start.get(w, ()), w in _MOVES)
        for w in {*cues, *anywhere, *at_start, *_MOVES}
    }


@cache
def _churn_move() -> re.Pattern[str]:
    """A move to a named brand: "moving to Globex", "switched over to the Globex"."""
    return re.compile(
        rf"\b(?:{CHURN_MOVES})\s+(?:over\s+)?to\s+(?:the\s+)?([A-Z][\w.&'-]+)", re.IGNORECASE
    )


def _opener(words: Words, i: int, openers: Openers) -> str | None:
    """The longest of ``openers`` that the words at ``i`` spell."""
    for size, phrases in openers:
        if words[i : i + size] in phrases:
            return " ".join(words[i : i + size])
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
    _, words = post_words(text)
    best: Best = {}
    spam_hits: list[str] = []

    def found(kind: str, subtype: str | None, confidence: float, cue: str) -> None:
        key = (kind, subtype)
        if key not in best or confidence > best[key][0]:
            best[key] = (confidence, cue)

    # Cue phrases, and question openers (anywhere, or at a sentence's start).
    moving = False  # a move verb followed by "to"/"over" ("switching to", "moving over")
    for i in compress(range(len(words)), map(tables.__contains__, words)):
        start = tables[words[i]]
        for size, phrases in start.cues:  # the longest phrase here wins
            hit = phrases.get(words[i : i + size])
            if hit is not None:
                said = " ".join(words[i : i + size])
                for kind, subtype, confidence in hit:
                    if kind == "spam":
                        spam_hits.append(said)
                    if kind != "ignore":
                        found(kind, subtype, confidence, said)
                break
        if start.anywhere and (asked := _opener(words, i, start.anywhere)) is not None:
            found("question", None, 0.75, asked)
        if start.at_start and (i == 0 or words[i - 1] in _SENTENCE_END):
            asked = _opener(words, i, start.at_start)
            if asked is not None:
                found("question", None, 0.6, asked)
        if start.move and i + 1 < len(words) and words[i + 1] in ("to", "over"):
            moving = True
    if "?" in words or "\u00bf" in words:
        confidence = 0.9 if ("question", None) in best else 0.75
        cue = best.get(("question", None), (0.0, "?"))[1]
        best[("question", None)] = (confidence, cue if cue == "?" else f"{cue} ... ?")
    if moving:
        _churn_moves(text, _churn_move(), competitors, sentiment, found)
    _sentiment_intents(sentiment, best, found)
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


def _spam_shape(text: str, words: tuple[str, ...], links: int, hits: list[str], best: Best) -> None:
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
    if len(text) >= SPAM_FLOOD and (not ascii_only or _ASCII_FLOOD.search(text)):
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
