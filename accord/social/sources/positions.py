"""Saved positions shared by the Bluesky and Mastodon connectors.

Search APIs answer newest first and cannot be asked for "the posts just after this
one". :func:`advance` still hands posts back oldest first, with no gap and no duplicate
across calls, in bounded work: a :class:`Window` remembers the newest key returned (the
*mark*, with the ids returned at exactly that key, since several posts can share one
instant) and, while a backlog is bigger than one call may page through, the upper
bounds of the narrower windows still to finish (``uppers``, innermost last). A call
pages down from the window's top until it reaches the mark; when it cannot get there
within its page budget it narrows the window to below the middle of what it saw and
returns nothing for now, so the next call starts closer to the mark. Anything newer
than the mark that a window leaves out is still newer than the mark, so a later
(wider) window returns it: nothing is skipped. Two cases page past the budget instead
(up to ``TIE_PAGES`` times it): more results at one instant than a call's pages hold,
which no bound can part, and a server that rounds its bounds down so far that a
narrower window came back empty (the window is then ``strained``). Beyond even that,
the newest results seen are taken and older ones in that window are not heard.

:class:`Seen` remembers digests of the posts recently returned, so a post heard under
two queries (two terms, two hashtags) is returned once; :func:`mentions_any` is the
case-insensitive word match that live streams use to keep the posts that name a term."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from accord.social.sources.base import SourceError


@dataclass(frozen=True)
class Found:
    """One result of a newest-first query: ``key`` sorts as the API orders (an ISO
    timestamp in UTC with microseconds, or a zero-padded numeric id), ``id`` is unique."""

    key: str
    id: str
    data: dict[str, Any]


BEGINNING = ""  # the mark of a query that had no results yet: every key sorts after it
TIE_PAGES = 10  # how far past its budget a call pages through posts of one instant

# (since: the mark or None, upper: exclusive bound or None, page token, page size)
#   -> (results newest first, the next page's token or None at the end)
Pager = Callable[[str | None, str | None, str | None, int], tuple[list[Found], str | None]]


@dataclass
class Window:
    """Where one newest-first query stands (stored in the connector's cursor)."""

    mark: str | None = None
    at_mark: list[str] = field(default_factory=list)
    uppers: list[str] = field(default_factory=list)
    # A narrower window held nothing below its bound (a server rounding bounds down):
    # the next walk of this one pages further before narrowing again.
    strained: bool = False

    @classmethod
    def load(cls, raw: Any) -> Window:
        """A window from its stored form; anything unreadable starts afresh."""
        if not isinstance(raw, dict):
            return cls()
        mark = raw.get("mark")
        at_mark = raw.get("at_mark")
        uppers = raw.get("uppers")
        return cls(
            mark=mark if isinstance(mark, str) else None,
            at_mark=[str(i) for i in at_mark] if isinstance(at_mark, list) else [],
            uppers=[str(u) for u in uppers] if isinstance(uppers, list) else [],
            strained=raw.get("strained") is True,
        )

    def dump(self) -> dict[str, Any]:
        """The window as stored in a cursor."""
        out: dict[str, Any] = {
            "mark": self.mark,
            "at_mark": list(self.at_mark),
            "uppers": list(self.uppers),
        }
        if self.strained:
            out["strained"] = True
        return out

    def is_new(self, item: Found, upper: str | None) -> bool:
        """Newer than the mark (or at it but not yet returned), and below ``upper``."""
        if upper is not None and item.key >= upper:
            return False
        if self.mark is None:
            return True
        if item.key == self.mark:
            return item.id not in self.at_mark
        return item.key > self.mark

    def consumed(self, items: list[Found]) -> None:
        """Move the mark to the newest of ``items`` (sorted oldest first)."""
        if not items:
            return
        last = items[-1].key
        same = [i.id for i in items if i.key == last]
        if last == self.mark:
            self.at_mark = [*self.at_mark, *(i for i in same if i not in self.at_mark)]
        else:
            self.mark, self.at_mark = last, same
        self.strained = False


def _oldest_first(items: Iterable[Found]) -> list[Found]:
    unique = {item.id: item for item in items}
    return sorted(unique.values(), key=lambda item: (item.key, item.id))


def _split_key(ordered: list[Found]) -> str | None:
    """A key from the middle of ``ordered`` (oldest first) above its oldest key, or None
    when every key is the same."""
    lowest = ordered[0].key
    for item in ordered[len(ordered) // 2 :]:
        if item.key > lowest:
            return item.key
    return None


def advance(
    window: Window,
    pager: Pager,
    *,
    room: int,
    page_size: int,
    pages: int,
    skip: Callable[[Found], bool] = lambda item: False,
    stop: Callable[[], bool] = lambda: False,
) -> tuple[list[Found], Window, bool]:
    """At most ``room`` new results after ``window``'s mark, oldest first, the window
    after them, and whether more is waiting. At most ``pages`` requests are made, fewer
    when ``stop()`` says the budget is spent (it is asked before every page but the
    first, which is always asked for, so that a spent budget is reported), more (up to
    ``TIE_PAGES`` times as many) only when narrowing the window cannot help. Results for
    which ``skip`` is true are passed over (the mark moves past them) without counting
    against ``room``. The first call (no mark yet) returns the newest page only:
    listening starts now."""
    window = Window(window.mark, list(window.at_mark), list(window.uppers), window.strained)
    if window.mark is None:
        results, _ = pager(None, None, None, max(1, min(room, page_size)))
        newest = _oldest_first(results)[-max(room, 0) :] if room > 0 else []
        window.consumed(newest)
        if window.mark is None and not results:
            window.mark = BEGINNING  # nothing yet: whatever comes later is new
        return [item for item in newest if not skip(item)], window, False

    upper = window.uppers[-1] if window.uppers else None
    collected: dict[str, Found] = {}
    token: str | None = None
    reached = False
    budget = max(pages, 1)
    done = 0
    while not done or not stop():
        if done >= budget:
            # Past the budget only when narrowing cannot help: everything seen shares
            # one instant, or a narrower window was already found empty.
            tied = collected and _split_key(_oldest_first(collected.values())) is None
            if not (tied or window.strained) or done >= TIE_PAGES * budget:
                break
        done += 1
        results, token = pager(window.mark, upper, token, page_size)
        older = False
        for item in results:
            if item.key < window.mark:
                older = True
            elif window.is_new(item, upper):
                collected[item.id] = item
        if older or not token or not results:
            reached = True
            break

    ordered = _oldest_first(collected.values())
    if reached and not ordered and upper is not None:
        # A narrower window with nothing in it, though it was cut below posts seen:
        # the server rounds its bound down. Back to the wider window, walked further.
        window.uppers.pop()
        window.strained = True
        return [], window, True
    if not reached:
        if not ordered:
            return [], window, False  # nothing learnt (the budget was spent): wait
        # Narrow to below the middle of what was seen: the narrower window holds at
        # least the older half of it, so finishing it moves the mark, and the wider
        # window is then smaller too. (Below the oldest seen would hold nothing known,
        # and a backlog of exactly one budget would be walked again forever.)
        split = _split_key(ordered)
        if split is not None and not window.strained:
            window.uppers.append(split)
            return [], window, True
        # Past what even the extra pages hold (more posts at one instant, or bounds
        # too coarse to narrow by): take what was seen; what is older than it, and
        # newer than the mark, is not heard.

    out: list[Found] = []
    taken = 0
    for item in ordered:
        if skip(item):
            taken += 1
            continue
        if len(out) >= room:
            break
        out.append(item)
        taken += 1
    window.consumed(ordered[:taken])
    more = taken < len(ordered)
    if not more and window.uppers:
        window.uppers.pop()  # this window is done: the wider one above it is next
        more = True
    return out, window, more


class Seen:
    """Digests of the ids most recently returned (at most ``size``), kept in a cursor
    so that a post heard under two queries is returned only once."""

    def __init__(self, stored: Any = None, size: int = 500) -> None:
        digests = [str(d) for d in stored] if isinstance(stored, list) else []
        self.size = size
        self._order = digests[-size:]
        self._set = set(self._order)

    @staticmethod
    def digest(item_id: str) -> str:
        """What is kept of an id: 48 bits of its SHA-256."""
        return hashlib.sha256(item_id.encode()).hexdigest()[:12]

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, str) and self.digest(item_id) in self._set

    def add(self, item_id: str) -> None:
        """Remember ``item_id`` (the oldest remembered is forgotten past ``size``)."""
        d = self.digest(item_id)
        if d in self._set:
            return
        self._order.append(d)
        self._set.add(d)
        if len(self._order) > self.size:
            dropped = self._order.pop(0)
            self._set.discard(dropped)

    def dump(self) -> list[str]:
        """The digests as stored in a cursor, oldest first."""
        return list(self._order)


@lru_cache(maxsize=256)
def _term_pattern(term: str) -> re.Pattern[str]:
    # A term matches as a whole word, hashtag or handle: "accord" in "Accord's",
    # "#accord" and "@accord.example", not in "accordion".
    return re.compile(r"(?<![\w])" + re.escape(term) + r"(?![\w])", re.IGNORECASE)


def mentions_any(text: str, terms: Iterable[str]) -> bool:
    """Whether ``text`` names one of ``terms`` (case-insensitive, whole words)."""
    return any(t.strip() and _term_pattern(t.strip()).search(text) for t in terms)


def number_setting(settings: dict[str, Any], name: str, default: float) -> float:
    """A positive number from a source's settings (``default`` when not set)."""
    value = settings.get(name)
    if value is None or value == "":
        return default
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = 0.0
    if not number > 0:
        raise SourceError(f"the setting {name} must be a positive number", permanent=True)
    return number


def clean_terms(terms: Iterable[str]) -> list[str]:
    """The terms stripped, without blanks or repeats (case-insensitive), in order."""
    out: list[str] = []
    lowered: set[str] = set()
    for term in terms:
        t = " ".join(str(term).split())
        if t and t.lower() not in lowered:
            lowered.add(t.lower())
            out.append(t)
    return out
