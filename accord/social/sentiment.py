"""Sentiment of a short social post: positive, neutral or negative, with a score.

The scoring is lexicon-based and rule-based, made for posts about a brand: each word,
emoji, emoticon or known phrase carries a valence from the lexicon
(:mod:`accord.social.lexicon`); rules then adjust it:

- negation: a negator ("not", "never", "no", words ending in "n't") turns the valence of
  the sentiment words in the next few words of its clause ("not good", "isn't working",
  "no help at all", "can't recommend", "never again");
- intensifiers and dampeners before a word raise or lower its weight ("very",
  "super", "kinda", "slightly"), as do ALL-CAPS (in a post not written all in capitals)
  and an elongated word ("sooooo", "noooo", normalised to the word itself);
- contrast: after "but" or "however" the rest of the post weighs more and what came
  before weighs less ("the app is nice but support is useless" is negative);
- "!" strengthens the post's direction; hashtags are scored by their words ("#fail",
  "#neveragain"); @mentions and URLs are ignored.

The sum of the valences is squashed into a score in [-1, 1]; the label comes from the
score against :data:`THRESHOLD`. No work happens at import time; the lexicon is read on
the first call."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from typing import Literal

from accord.social.lexicon import (
    BOOSTER,
    BOOSTER_PAIRS,
    BOOSTERS,
    BREAK,
    CONTRAST_WORD,
    FILLER,
    NEGATOR,
    PHRASE,
    Lexicon,
    hashtag_words,
    lexicon,
)

Label = Literal["positive", "neutral", "negative"]

# A score at or above THRESHOLD is positive, at or below -THRESHOLD negative.
THRESHOLD = 0.3
# How a negated word's valence is turned when the lexicon gives no valence for it.
NEGATE_POSITIVE = -0.75  # "not good": a good word negated reads clearly negative
NEGATE_NEGATIVE = -0.45  # "not bad": a bad word negated reads only mildly positive
NEGATION_SCOPE = 3  # words after a negator that it reaches
CAPS_BOOST = 0.7  # added to the magnitude of an ALL-CAPS sentiment word
ELONGATION_BOOST = 0.3  # added to the magnitude of an elongated sentiment word
EXCLAIM_BOOST = 0.25  # per "!" (at most four), in the post's direction
BEFORE_CONTRAST = 0.5  # weight of what came before "but"
AFTER_CONTRAST = 1.5  # weight of what follows it
NAME_FACTOR = 0.4  # weight of a capitalised word inside a sentence (likely a name)
SQUASH = 15.0  # score = total / sqrt(total^2 + SQUASH)

# URLs and @mentions (also Mastodon's @user@instance), removed before scoring.
URL = re.compile(r"(?:https?://|www\.)\S+")
MENTION = re.compile(r"@[\w.\-]+(?:@[\w\-]+(?:\.[\w\-]+)+)?")
_TOKEN = re.compile(
    r"[^\W_][\w']*"  # words (with their apostrophes) and numbers: first, the commonest
    r"|#\w+"  # hashtags
    r"|(?=[<>:;=)(^\-])(?:"  # emoticons, only tried where one can start
    r"[<>]?[:;=][\-o'^]?[)\](\[dDpP/\\|}{@*]+(?!\w)"  # :) :-( :D ;P :/ >:(
    r"|(?<!\w)[)(][\-']?[:;](?!\w)"  # (: ):
    r"|</?3|\^[_.]?\^|-_-|>_<)"  # <3 </3 ^_^ -_- >_<
    # Emphasis, clause ends, currencies, Spanish "?", emoji and symbols.
    r"|[!?.,;\u2026$\u20ac\u00a3\u00bf\U0001F000-\U0001FAFF\u2190-\u21FF\u2300-\u27BF\u2B00-\u2BFF]"
)
_TRIPLE = re.compile(r"(\w)\1\1")  # a letter three times: an elongated word
_REPEAT = re.compile(r"(.)\1\1", re.DOTALL)  # any character three times: a quicker first look
_RUN = re.compile(r"(\w)\1{2,}")
_ENDS = frozenset(".!?\u2026")  # a capital after these starts a sentence


@dataclass(frozen=True, slots=True)
class Sentiment:
    """How a post feels: its label, a score in [-1, 1] (negative to positive) and the
    proportions of its weight that are positive, negative and neutral (summing to 1)."""

    label: Label
    score: float
    positive: float
    negative: float
    neutral: float
    # The words, phrases, emoji and emoticons that carried the sentiment, as written
    # (a negated one with its negator: "isn't working"), each with its valence.
    cues: tuple[tuple[str, float], ...] = ()


NEUTRAL = Sentiment("neutral", 0.0, 0.0, 0.0, 1.0)


def _unelongate(word: str, known: dict[str, int]) -> str:
    """An elongated word normalised: runs of three or more of a letter shortened to two if
    that makes a known word ("goooood" -> "good"), else to one ("sooooo" -> "so")."""
    two = _RUN.sub(r"\1\1", word)
    if two in known:
        return two
    return _RUN.sub(r"\1", word)


def without_noise(text: str) -> str:
    """``text`` without its URLs and @mentions (also Mastodon's @user@instance)."""
    if "http" in text or "www." in text:
        text = URL.sub(" ", text)
    if "@" in text:
        text = MENTION.sub(" ", text)
    return text


@lru_cache(maxsize=64)
def words(text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The tokens of a post, as written and in lower case: words, numbers, emoji,
    emoticons and the punctuation that matters (".,;!?…$€£¿"), URLs and @mentions
    removed, a hashtag replaced by its words. The last posts' are kept, so that
    :func:`analyse` and the intent rules read a post once."""
    text = without_noise(text)
    if "\u2019" in text:
        text = text.replace("\u2019", "'")
    tokens: list[str] = _TOKEN.findall(text)
    if "#" in text:
        expanded: list[str] = []
        for tok in tokens:
            if tok[0] == "#" and len(tok) > 1:
                expanded.extend(hashtag_words(tok[1:]))
                expanded.append(",")  # a hashtag is a clause of its own
            else:
                expanded.append(tok)
        tokens = expanded
    return tuple(tokens), tuple(map(str.lower, tokens))


def analyse(text: str) -> Sentiment:
    """The sentiment of ``text`` (a short post, any length works)."""
    lex = lexicon()
    tokens, low = words(text)
    if not tokens:
        return NEUTRAL
    special = lex.special
    stretched: frozenset[int] = frozenset()  # where an elongated word was shortened
    if _REPEAT.search(text) is not None and _TRIPLE.search(text) is not None:
        stretched = frozenset(i for i, w in enumerate(low) if _TRIPLE.search(w))
        low = tuple(_unelongate(w, special) if i in stretched else w for i, w in enumerate(low))
    # Only the tokens the scorer acts on are visited; the others are neutral words.
    hits = list(compress(range(len(low)), map(special.__contains__, low)))
    if not hits:
        return NEUTRAL
    valence = lex.valence
    negated = lex.negated
    shouting_allowed = not text.isupper()  # a post all in capitals emphasises nothing
    n = len(tokens)
    values: list[float] = []
    spans: list[tuple[int, int, float]] = []  # tokens[a:b] carried valence v
    weight = 1.0  # AFTER_CONTRAST once a contrast word is met
    acted = 0  # tokens that were not neutral words
    negated_at = -1  # the negator in reach, if any
    boost = 0.0
    boosted_at = -9  # the last booster word
    skip_to = 0  # a phrase or a two-word booster took the tokens before this
    for i in hits:
        if i < skip_to:
            continue
        word = low[i]
        code = special[word]
        acted += 1
        if code & BREAK:
            negated_at = boosted_at = -9
            continue
        if negated_at >= 0 and not _in_reach(low, negated_at, i):
            negated_at = -9
        if code & PHRASE:
            size = _phrase(lex, low, i)
            if size:
                v, when_negated = lex.phrase_values[low[i : i + size]]
                magnitude = 0.0
                if i - boosted_at <= 2:
                    magnitude += boost
                    boosted_at = -9
                if stretched and not stretched.isdisjoint(range(i, i + size)):
                    magnitude += ELONGATION_BOOST
                if shouting_allowed and len(tokens[i]) > 1 and tokens[i].isupper():
                    magnitude += CAPS_BOOST
                if magnitude and v:
                    v = max(0.05, v + magnitude) if v > 0 else min(-0.05, v - magnitude)
                if negated_at >= 0:
                    v = when_negated if when_negated is not None else _negate(v)
                    if v:
                        spans.append((negated_at, i + size, v))
                    negated_at = -9
                elif v:
                    spans.append((i, i + size, v))
                skip_to = i + size
                if not v:  # a phrase that says nothing ("customer service"): neutral words
                    acted -= 1
                    continue
                values.append(v * weight)
                acted += size - 1
                continue
        if code & CONTRAST_WORD:
            values = [v * BEFORE_CONTRAST for v in values]
            weight = AFTER_CONTRAST
            negated_at = boosted_at = -9
            continue
        if code & NEGATOR:
            if not (word == "never" and i + 1 < n and low[i + 1] in ("so", "this")):
                negated_at = i  # "never so happy" is emphasis instead
            continue
        if code & BOOSTER and i + 1 < n:
            pair = BOOSTER_PAIRS.get((word, low[i + 1]))
            if pair is not None:
                boost, boosted_at, skip_to = pair, i + 1, i + 2
                acted += 1
                continue
            delta = BOOSTERS.get(word)
            if delta is not None and low[i + 1][0].isalpha():
                tok = tokens[i]
                boost = delta + (0.2 if shouting_allowed and tok.isupper() and len(tok) > 1 else 0)
                boosted_at = i
                continue
        turned = negated_at >= 0 and word in negated
        v = negated[word] if turned else valence.get(word, 0.0)
        if not v:
            acted -= 1
            continue
        magnitude = ELONGATION_BOOST if i in stretched else 0.0
        if i - boosted_at <= 2:
            magnitude += boost
            boosted_at = -9
        tok = tokens[i]
        if len(tok) > 1:
            if shouting_allowed and tok.isupper():
                magnitude += CAPS_BOOST
            elif i and tok[0].isupper() and tok[1:].islower() and low[i - 1] not in _ENDS:
                v *= NAME_FACTOR  # "Super Bowl", "Gentle Yoga": likely a name
        if magnitude:
            v = max(0.05, v + magnitude) if v > 0 else min(-0.05, v - magnitude)
        if negated_at >= 0:
            if not turned:
                v = _negate(v)
            spans.append((negated_at, i + 1, v))
            negated_at = -9
        else:
            spans.append((i, i + 1, v))
        values.append(v * weight)
    cues = tuple([(tokens[a] if b - a == 1 else " ".join(tokens[a:b]), v) for a, b, v in spans])
    return _summarise(values, n - acted, min(text.count("!"), 4), cues)


def _in_reach(low: tuple[str, ...], negated_at: int, i: int) -> bool:
    """Whether the negator at ``negated_at`` still reaches the word at ``i``: fewer than
    NEGATION_SCOPE words between them, short fillers ("of", "my", "the") not counted."""
    between = i - negated_at - 1
    if between < NEGATION_SCOPE:
        return True
    return sum(1 for w in low[negated_at + 1 : i] if w not in FILLER) < NEGATION_SCOPE


def _phrase(lex: Lexicon, low: tuple[str, ...], i: int) -> int:
    """The number of words of the longest lexicon phrase starting at ``low[i]`` (0: none)."""
    for size in lex.phrase_sizes[low[i]]:
        if low[i : i + size] in lex.phrase_values:
            return size
    return 0


def _negate(value: float) -> float:
    """A valence inside a negation's scope, when the lexicon gives none for it."""
    return value * (NEGATE_POSITIVE if value > 0 else NEGATE_NEGATIVE)


def _summarise(
    values: list[float],
    neutral_words: int,
    exclaims: int,
    cues: tuple[tuple[str, float], ...],
) -> Sentiment:
    """Squash the valences into a score and proportions, and label it."""
    if not values:
        return NEUTRAL
    pos = neg = 0.0
    for v in values:
        if v > 0:
            pos += v
        else:
            neg -= v
    total = pos - neg
    if exclaims and total:
        total += math.copysign(exclaims * EXCLAIM_BOOST, total)
    score = total / math.sqrt(total * total + SQUASH)
    whole = pos + neg + neutral_words
    if not whole:
        return NEUTRAL
    label: Label = (
        "positive" if score >= THRESHOLD else "negative" if score <= -THRESHOLD else "neutral"
    )
    return Sentiment(label, score, pos / whole, neg / whole, neutral_words / whole, cues)
