"""What a post is checked for before it is shown: links (more than the workspace allows
and it waits for a moderator), the profanity filter (a built-in list and the words the
workspace adds; whole words, any case, letters repeated or spaced with symbols caught),
and the same text posted again."""

from __future__ import annotations

import re
from collections.abc import Iterable

# Common English profanity and slurs; a workspace adds its own words in its settings.
BUILT_IN = (
    "arse", "arsehole", "asshole", "bastard", "bitch", "bollocks", "bullshit", "crap",
    "cunt", "dick", "dickhead", "fuck", "fucked", "fucker", "fucking", "motherfucker",
    "piss", "pissed", "prick", "shit", "shitty", "slut", "twat", "wanker", "whore",
)  # fmt: skip
_LINK = re.compile(r"(https?://|www\.)\S+", re.IGNORECASE)
_SPACE = re.compile(r"\s+")
# Symbols people put in place of letters to slip past a filter.
_LEET = str.maketrans({"@": "a", "4": "a", "3": "e", "1": "i", "0": "o", "$": "s"})


def links(text: str) -> int:
    """How many web links the text holds (Markdown or bare)."""
    return len(_LINK.findall(text))


def _pattern(words: Iterable[str]) -> re.Pattern[str] | None:
    parts = []
    for word in sorted({w.strip().lower() for w in words if w.strip()}, key=len, reverse=True):
        # Each letter may be repeated ("shiiit") and words of a phrase spaced freely.
        letters = [re.escape(c) + "+" if c.isalnum() else r"[\s\W_]*" for c in word]
        parts.append("".join(letters))
    if not parts:
        return None
    return re.compile(r"(?<![\w])(" + "|".join(parts) + r")(?![\w])", re.IGNORECASE)


def word_list(extra: Iterable[str]) -> list[str]:
    return list(dict.fromkeys([*BUILT_IN, *(w.lower() for w in extra)]))


def profane(text: str, extra: Iterable[str] = ()) -> list[str]:
    """The listed words found in ``text`` (as written), first occurrence first."""
    pattern = _pattern(word_list(extra))
    if pattern is None:
        return []
    seen = [m.group(0) for m in pattern.finditer(text.translate(_LEET))]
    return list(dict.fromkeys(seen))


def mask(text: str, extra: Iterable[str] = ()) -> str:
    """``text`` with each listed word shown as its first letter and asterisks."""
    pattern = _pattern(word_list(extra))
    if pattern is None:
        return text
    folded = text.translate(_LEET)
    out, last = [], 0
    for m in pattern.finditer(folded):
        start, end = m.span()
        out.append(text[last:start])
        out.append(text[start] + "*" * (end - start - 1))
        last = end
    out.append(text[last:])
    return "".join(out)


def fingerprint(text: str) -> str:
    """The text as compared for repeats: case and spacing ignored."""
    return _SPACE.sub(" ", text).strip().lower()
