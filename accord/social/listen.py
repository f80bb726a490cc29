"""Which posts are mentions: the workspace's listening rules compiled into one matcher.

A term matches as a whole word, a hashtag or a handle, whatever the case ("Acme" is
heard in "acme", "#Acme" and "@acme"); a term of several words matches them in order
with any spacing. A post holding an exclusion is not heard, nor one in a language the
workspace does not listen to (a post that says no language is heard). A post naming
the brand is about the brand; one naming only a competitor is about that competitor."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from accord.social.settings import ListeningSettings

BRAND = "brand"


@dataclass(frozen=True)
class Heard:
    about: str  # "brand" or a competitor's name
    terms: tuple[str, ...]  # the terms found, as the workspace wrote them


def _pattern(terms: list[str]) -> re.Pattern[str] | None:
    bodies = sorted({_body(t) for t in terms if _body(t)}, key=len, reverse=True)
    if not bodies:
        return None
    alternatives = "|".join(r"\s+".join(re.escape(w) for w in b.split()) for b in bodies)
    return re.compile(rf"(?<![\w@#.])[#@]?({alternatives})(?![\w])", re.IGNORECASE)


def _body(term: str) -> str:
    return " ".join(term.strip().lstrip("#@").split()).lower()


def _handle(value: str) -> str:
    return value.strip().lstrip("@").lower()


def fingerprint(text: str) -> str:
    """The same words in the same order, whatever the case, spacing, links and mentions:
    what two copies of one post share."""
    folded = unicodedata.normalize("NFKC", text).lower()
    folded = re.sub(r"https?://\S+|@[\w.]+", " ", folded)
    words = re.findall(r"\w+", folded)
    return hashlib.sha256(" ".join(words).encode()).hexdigest()[:32]


class Listener:
    """A workspace's listening rules, compiled once per batch."""

    def __init__(self, settings: ListeningSettings) -> None:
        self.settings = settings
        own = [*settings.brands, *settings.products, *settings.handles, *settings.hashtags]
        self.owner: dict[str, tuple[str, str]] = {}  # body -> (about, term as written)
        for term in own:
            self.owner.setdefault(_body(term), (BRAND, term))
        for competitor in settings.competitors:
            for term in (competitor.name, *competitor.terms):
                self.owner.setdefault(_body(term), (competitor.name, term))
        self.pattern = _pattern(
            list(own) + [t for c in settings.competitors for t in [c.name, *c.terms]]
        )
        self.exclusions = _pattern(settings.exclusions)
        self.languages = tuple(settings.languages)
        # The brand's own accounts: what they post is the brand speaking, not a mention.
        self.own = {_handle(h) for h in settings.handles}

    def is_own(self, handle: str) -> bool:
        return _handle(handle) in self.own

    def language_ok(self, lang: str | None) -> bool:
        if not self.languages or not lang:
            return True
        lang = lang.lower()
        return any(
            lang == want or lang.startswith(want + "-") or want.startswith(lang + "-")
            for want in self.languages
        )

    def hear(self, text: str, lang: str | None = None) -> Heard | None:
        """What the post mentions, or None when it is not a mention to keep."""
        if self.pattern is None or not self.language_ok(lang):
            return None
        found: dict[str, str] = {}
        for match in self.pattern.finditer(text):
            body = " ".join(match.group(1).lower().split())
            about, term = self.owner.get(body, (BRAND, body))
            found.setdefault(term, about)
        if not found:
            return None
        if self.exclusions is not None and self.exclusions.search(text):
            return None
        abouts = list(dict.fromkeys(found.values()))
        about = BRAND if BRAND in abouts else abouts[0]
        return Heard(about, tuple(found))
