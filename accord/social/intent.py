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
from itertools import chain, compress
from typing import Literal

from accord.social.intent_cues import (
    CHURN_MOVES,
    CUES,
    PROMOTIONAL,
    QUESTION_ANYWHERE,
    QUESTION_AT_START,
)
from accord.social.lexicon import NEGATORS
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
NAME_PENALTY = 0.3  # taken off a one-word cue written as a name inside a sentence
NEGATED_PENALTY = 0.4  # taken off a cue right after a negator ("not injured")
SPAM_FLOOD = 6  # one symbol or emoji this many times in a row is flooding

# One symbol, punctuation mark or emoji repeated SPAM_FLOOD times or more ("!!!!!!!",
# six fire emoji); a letter's run ("noooooo") is emphasis, not flooding.
_FLOOD = re.compile(rf"([^\w\s])\1{{{SPAM_FLOOD - 1},}}")
_EMOJI = re.compile(r"[\U0001F000-\U0001FAFF\u2600-\u27BF]")
_SENTENCE_END = frozenset(".!?¿")
_ORDER = {kind: n for n, kind in enumerate(KINDS)}
_ENDS_AT = _SENTENCE_END.__contains__
# The first words of CHURN_MOVES: the move rule runs only on posts that have one.
_MOVES = frozenset(phrase.split()[0] for phrase in CHURN_MOVES.split("|"))


def _negates(word: str) -> bool:
    """Whether ``word`` negates what follows ("not", "no", "never", "isn't")."""
    return word in NEGATORS or word.endswith("n't")


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
Hit = tuple[str, str | None, float]  # kind, subtype, confidence
# Phrases sharing an anchor word at one place: (words before the anchor, length,
# phrase -> what it shows), longest first.
Anchored = tuple[tuple[int, int, dict[Words, tuple[Hit, ...]]], ...]

# Common short words that no cue is looked up by: a phrase is found through its first
# other word ("is down" through "down"), so that most words of a post cost one lookup.
_STOP = frozenset(
    {
        *("a", "an", "the", "in", "on", "at", "to", "of", "for", "is", "are", "was", "were"),
        *("be", "been", "am", "i", "i'm", "im", "you", "me", "my", "your", "it", "its"),
        *("this", "that", "so", "do", "does", "did", "can", "will", "would", "should"),
        *("could", "what", "when", "who", "why", "how", "which", "about", "with", "from"),
        *("by", "as", "or", "and", "any", "not", "no", "can't", "cant", "cannot", "isn't"),
        *("won't", "wont", "don't", "doesn't", "de", "la", "el", "le", "o", "je", "ich"),
    }
)


def _phrases(spec: str) -> list[Words]:
    return [post_words(p.strip())[1] for p in spec.split("|") if p.strip()]


def _anchor(words: Words) -> int:
    """Where a phrase is looked up: its first word that is not a common short word."""
    return next((k for k, w in enumerate(words) if w not in _STOP), 0)


def _anchored(entries: list[tuple[Words, Hit]]) -> dict[str, Anchored]:
    """Phrases grouped by anchor word, then by place and length (longest first)."""
    grouped: dict[str, dict[tuple[int, int], dict[Words, list[Hit]]]] = {}
    for words, hit in entries:
        k = _anchor(words)
        place = grouped.setdefault(words[k], {}).setdefault((k, len(words)), {})
        place.setdefault(words, []).append(hit)
    return {
        w: tuple(
            (k, n, {p: tuple(hits) for p, hits in phrases.items()})
            for (k, n), phrases in sorted(places.items(), key=lambda kn: (-kn[0][1], kn[0][0]))
        )
        for w, places in grouped.items()
    }


@dataclass(frozen=True)
class _Tables:
    """The cue phrases and question openers by anchor word; the openers that count only
    at a sentence's start by first word."""

    cues: dict[str, Anchored]
    at_start: dict[str, Anchored]


@cache
def _tables() -> _Tables:
    """The cue tables, compiled once."""
    entries = [
        (words, (kind, subtype, confidence))
        for (kind, subtype), levels in CUES.items()
        for confidence, spec in levels.items()
        for words in _phrases(spec)
    ]
    entries += [(words, ("question", None, 0.75)) for words in _phrases(QUESTION_ANYWHERE)]
    entries += [((verb,), ("ignore", None, 0.0)) for verb in _MOVES]  # anchors only
    at_start: dict[str, list[tuple[Words, Hit]]] = {}
    for words in _phrases(QUESTION_AT_START):
        at_start.setdefault(words[0], []).append((words, ("question", None, 0.6)))
    return _Tables(
        cues=_anchored(entries),
        at_start={
            w: tuple((0, len(p), {p: (hit,)}) for p, hit in sorted(found, key=lambda e: -len(e[0])))
            for w, found in at_start.items()
        },
    )


@cache
def _churn_move() -> re.Pattern[str]:
    """A move to a named brand: "moving to Globex", "switched over to the Globex"."""
    return re.compile(
        rf"\b(?:{CHURN_MOVES})\s+(?:over\s+)?to\s+(?:the\s+)?([A-Z][\w.&'-]+)", re.IGNORECASE
    )


def _match(words: Words, i: int, anchored: Anchored) -> tuple[int, str, tuple[Hit, ...]] | None:
    """The longest phrase anchored at ``words[i]`` that the post spells: where it starts,
    its words and what it shows (None: none)."""
    for k, size, phrases in anchored:
        start = i - k
        if start >= 0:
            hits = phrases.get(words[start : start + size])
            if hits is not None:
                return start, " ".join(words[start : start + size]), hits
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
    tokens, words = post_words(text)
    best: Best = {}
    spam_hits: list[str] = []

    def found(kind: str, subtype: str | None, confidence: float, cue: str) -> None:
        key = (kind, subtype)
        if key not in best or confidence > best[key][0]:
            best[key] = (confidence, cue)

    # Cue phrases and question openers, found through their anchor words.
    moving = False  # a move verb followed by "to"/"over" ("switching to", "moving over")
    cues = tables.cues
    for i in compress(range(len(words)), map(cues.__contains__, words)):
        if words[i] in _MOVES and i + 1 < len(words) and words[i + 1] in ("to", "over", "ship"):
            moving = True
        matched = _match(words, i, cues[words[i]])
        if matched is None:
            continue
        start, said, hits = matched
        # One capitalised word inside a sentence reads as a name ("David Price", "Eden
        # Hazard", "Ayr Hospital"), and a negated cue says the opposite ("not injured",
        # "no smoke"): either counts for less.
        tok = tokens[i]
        named = (
            " " not in said
            and i > 0
            and tok[:1].isupper()
            and tok[1:].islower()
            and words[i - 1] not in _SENTENCE_END
        )
        penalty = (NAME_PENALTY if named else 0.0) + (
            NEGATED_PENALTY if start and _negates(words[start - 1]) else 0.0
        )
        for kind, subtype, confidence in hits:
            confidence -= penalty
            if kind == "spam":
                spam_hits.append(said)
                found(kind, subtype, confidence, said)
            elif kind != "ignore":
                found(kind, subtype, confidence, said)
    # Openers that ask only at a sentence's start ("Can I ...", "Why ...").
    at_start = tables.at_start
    n = len(words)
    for i in chain((0,), compress(range(1, n + 1), map(_ENDS_AT, words))):
        openers = at_start.get(words[i]) if i < n else None
        if openers is not None and (opened := _match(words, i, openers)) is not None:
            found("question", None, 0.6, opened[1])
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
            # Negative words without a gripe named: a weak complaint (triage waits on it).
            found("complaint", None, 0.3 + 0.25 * abs(score), _polar_cue(sentiment, negative=True))
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
    flood = _FLOOD.search(text) if len(text) >= SPAM_FLOOD else None
    if flood is not None:
        run, char = len(flood.group(0)), flood.group(1)
        if char.isascii():  # "!!!!!!!!" or "........": emphasis more than spam
            confidence += 0.2
        else:  # emoji or symbols flooding the post
            confidence += 0.5 if run >= 2 * SPAM_FLOOD else 0.3
        signals.append(f"{char} repeated {run} times")
    elif len(text) >= 2 * SPAM_FLOOD and not text.isascii():
        emoji = len(_EMOJI.findall(text))
        if emoji >= 2 * SPAM_FLOOD:
            confidence += 0.3
            signals.append(f"{emoji} emoji")
    if confidence >= MIN_CONFIDENCE:
        best[("spam", None)] = (min(confidence, 1.0), "; ".join(signals))
