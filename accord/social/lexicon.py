"""The word lists that sentiment scoring reads: the valence lexicon (a data file, loaded
once on first use) and the rule words (negators, intensifiers and dampeners, contrast
words), plus the splitting of a hashtag into its words ("#neveragain" -> never, again).

Nothing is read at import time: :func:`lexicon` loads ``data/lexicon.tsv`` the first
time it is called and keeps it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path


def _split(words: str) -> list[str]:
    """The words of a whitespace-separated list."""
    return words.split()


LEXICON_PATH = Path(__file__).resolve().parent / "data" / "lexicon.tsv"

# Words that negate what follows them, up to the end of the clause or a few words on.
# Words ending in "n't" (and their unapostrophed forms below) negate too.
NEGATORS = frozenset(
    _split("""not no never nor neither nobody nothing none nowhere without cannot hardly barely
    dont doesnt didnt isnt wasnt arent werent cant couldnt wont wouldnt shouldnt aint
    havent hasnt hadnt mustnt neednt don't doesn't didn't isn't wasn't aren't weren't
    can't couldn't won't wouldn't shouldn't ain't haven't hasn't hadn't mustn't needn't
    nicht kein keine keinen keinem keiner nie niemals
    pas jamais aucun aucune
    nunca nada tampoco ningún ninguna ninguno não nao nem""")
)

# Intensifiers (positive) and dampeners (negative): added to the magnitude of the next
# sentiment word within two words ("very good", "kinda bad").
BOOSTERS: dict[str, float] = {
    **dict.fromkeys(
        _split("""very so super really extremely totally absolutely incredibly insanely utterly
        completely truly highly hella mega especially seriously literally deeply
        entirely fully remarkably exceptionally ridiculously unbelievably majorly
        sehr tellement vraiment muy"""),
        0.35,
    ),
    **dict.fromkeys(_split("too most such damn freaking fricking fucking fking"), 0.25),
    **dict.fromkeys(_split("quite pretty rather fairly"), 0.1),
    **dict.fromkeys(
        _split("""kinda kindof sorta sortof slightly somewhat marginally occasionally partly
        little barely hardly mildly"""),
        -0.35,
    ),
}

# Short words that do not use up a negation's reach ("none of my apps are working").
FILLER = frozenset(
    _split(
        """a an the of my your our their his her its this that it to be is are was were at
        all any for really even so very just"""
    )
)

# Two-word dampeners: their first word is skipped as a sentiment word.
BOOSTER_PAIRS: dict[tuple[str, str], float] = {
    ("kind", "of"): -0.35,
    ("sort", "of"): -0.35,
    ("a", "bit"): -0.3,
    ("a", "little"): -0.3,
    ("so", "much"): 0.35,
}

# After these, the rest of the post weighs more and what came before weighs less.
CONTRAST = frozenset(_split("but however though pero mais aber embora mas"))

# Short words the hashtag splitter may use besides the lexicon's own words.
_COMMON_WORDS = _split("""a i am an and are as at be been best big but by can day do does
done ever every for from get go going got had has have he her here his how i'm in is it
its just last let life like live make me more my new next night no not now of off on
one or our out over own people real see she so some stay still stop take than that the
their them then there they this time to today too up us via was we week what when where
who why will with year you your again never always forever team fail love hate win
thanks thank happy sad good bad great worst best customer service support fan fans
""")

_CAMEL = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")


# What a word is to the scorer (bits of :attr:`Lexicon.special`).
VALENCE = 1  # it has a valence (or one when negated)
PHRASE = 2  # a phrase of the lexicon starts with it
CONTRAST_WORD = 4
NEGATOR = 8
BOOSTER = 16  # an intensifier or dampener, or the first word of a two-word one
BREAK = 32  # punctuation that ends a clause (and with it a negation's reach)

# Punctuation that ends a clause: a negation or an intensifier stops there.
BREAKS = ("!", "?", ".", ",", ";", "\u2026")


@dataclass(frozen=True)
class Lexicon:
    """Valences by word and by phrase, as loaded from the data file."""

    valence: dict[str, float]  # single tokens (lower case, emoji and emoticons as written)
    negated: dict[str, float]  # single tokens with their own valence when negated
    phrase_values: dict[tuple[str, ...], tuple[float, float | None]]  # valence, negated
    phrase_sizes: dict[str, tuple[int, ...]]  # first word -> lengths of its phrases, longest first
    special: dict[str, int]  # every word the scorer does more with than count: its bits
    vocabulary: frozenset[str]  # words a hashtag may be split into


def _parse(lines: list[str]) -> Lexicon:
    valence: dict[str, float] = {}
    negated: dict[str, float] = {}
    phrase_values: dict[tuple[str, ...], tuple[float, float | None]] = {}
    for line in lines:
        if not line or line.startswith("# ") or line == "#":
            continue
        parts = line.split("\t")
        if len(parts) < 2 or not parts[0]:
            continue
        token = parts[0]
        value = float(parts[1])
        when_negated = float(parts[2]) if len(parts) > 2 and parts[2] else None
        words = tuple(token.split(" "))
        if len(words) > 1:
            phrase_values[words] = (value, when_negated)
            continue
        valence[token] = value
        if when_negated is None:
            negated.pop(token, None)
        else:
            negated[token] = when_negated
    sizes: dict[str, set[int]] = {}
    for words in phrase_values:
        sizes.setdefault(words[0], set()).add(len(words))
    phrase_sizes = {w: tuple(sorted(s, reverse=True)) for w, s in sizes.items()}
    special: dict[str, int] = {}

    def mark(words: object, bit: int) -> None:
        for w in words:  # type: ignore[attr-defined]
            special[w] = special.get(w, 0) | bit

    mark((w for w, v in valence.items() if v), VALENCE)
    mark(negated, VALENCE)
    mark(phrase_sizes, PHRASE)
    mark(CONTRAST, CONTRAST_WORD)
    mark(NEGATORS, NEGATOR)
    mark(BOOSTERS, BOOSTER)
    mark((first for first, _ in BOOSTER_PAIRS), BOOSTER)
    mark(BREAKS, BREAK)
    vocabulary = frozenset(
        w for w in (*valence, *_COMMON_WORDS, *NEGATORS, *BOOSTERS) if w.isalpha() and len(w) > 1
    ) | {"a", "i"}
    return Lexicon(valence, negated, phrase_values, phrase_sizes, special, vocabulary)


@cache
def lexicon() -> Lexicon:
    """The lexicon, read from ``data/lexicon.tsv`` on the first call and kept."""
    return _parse(LEXICON_PATH.read_text(encoding="utf-8").splitlines())


# The longest word the hashtag splitter tries, and the longest hashtag it splits.
_LONGEST_WORD = 14
_LONGEST_TAG = 32


@lru_cache(maxsize=16384)
def hashtag_words(tag: str) -> tuple[str, ...]:
    """The words of a hashtag (without its "#"), lower case: split at its capitals
    ("NeverAgain"), else into the fewest known words ("neveragain"), else kept whole."""
    parts = _CAMEL.findall(tag)
    if len(parts) > 1:
        return tuple(p.lower() for p in parts)
    low = tag.lower()
    known = lexicon().vocabulary
    if low in known or len(low) > _LONGEST_TAG or not low.isalpha():
        return (low,)
    # best[end]: the fewest known words spelling low[:end], as their ends; only the
    # places some split reaches are tried as starts of the next word.
    n = len(low)
    best: dict[int, tuple[int, ...]] = {0: ()}
    for end in range(1, n + 1):
        for start in [s for s in best if end - _LONGEST_WORD <= s < end]:
            if low[start:end] in known:
                split = (*best[start], end)
                if end not in best or len(split) < len(best[end]):
                    best[end] = split
    ends = best.get(n)
    if not ends:
        return (low,)
    return tuple(low[a:b] for a, b in zip((0, *ends), ends, strict=False))
