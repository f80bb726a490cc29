"""RSS and Atom feeds: every entry of a feed (a review site's, a news search's, a Google
Alerts feed) is a mention, or only those naming one of the source's ``keywords``.

A fetch is a conditional GET (``If-None-Match`` and ``If-Modified-Since`` from the
validators the feed gave last; 304 is an empty batch), following at most five redirects,
http(s) only, reading at most :data:`MAX_BYTES` of body. RSS 2.0 (and 0.9x), RSS 1.0
(RDF) and Atom 1.0 are read, with the Dublin Core, ``content:encoded`` and Media RSS
elements. The XML parser is the standard library's expat, refusing any document type
declaration with an internal subset and every entity declaration, and never loading an
external DTD or entity: entity-expansion bombs and external entities fail the fetch.

The cursor keeps the validators and (hashed) the ids of the entries already returned,
the last :data:`MAX_SEEN`, so an entry is returned once even when the feed reorders or
republishes it; an entry without a guid or id is known by a hash of its link and title.
Entries come oldest first, ``limit`` at a time. A feed cannot be answered:
:meth:`FeedConnector.reply` says to answer on the site."""

from __future__ import annotations

import hashlib
import re
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit
from xml.parsers import expat

import httpx

from accord.social.sources.base import Batch, Delivered, Post, SourceConfig, SourceError
from accord.social.sources.feed_text import html_to_text, title_text

MAX_BYTES = 5 * 1024 * 1024  # the largest feed body read
MAX_REDIRECTS = 5
MAX_SEEN = 1000  # entry ids remembered, and entries read per document
USER_AGENT = "Accord feed reader"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/rdf+xml;q=0.9, "
    "application/xml;q=0.8, text/xml;q=0.8, */*;q=0.1"
)

ATOM = "{http://www.w3.org/2005/Atom}"
RDF = "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}"
RSS1 = "{http://purl.org/rss/1.0/}"
RSS090 = "{http://my.netscape.com/rdf/simple/0.9/}"
DC = "{http://purl.org/dc/elements/1.1/}"
CONTENT = "{http://purl.org/rss/1.0/modules/content/}"
MEDIA = "{http://search.yahoo.com/mrss/}"
XML = "{http://www.w3.org/XML/1998/namespace}"


class FeedError(Exception):
    """A document that is not a feed Accord can read (``unsafe``: refused on purpose)."""

    def __init__(self, message: str, *, unsafe: bool = False) -> None:
        super().__init__(message)
        self.message = message
        self.unsafe = unsafe


@dataclass(frozen=True)
class Entry:
    """One item or entry of a feed, its text plain."""

    id: str | None  # the guid, the Atom id or the RDF about, as given
    title: str | None
    link: str | None
    text: str
    author: str | None
    author_url: str | None
    published: datetime | None
    lang: str | None
    categories: tuple[str, ...] = ()
    media: tuple[str, ...] = ()
    comments: str | None = None


@dataclass(frozen=True)
class Feed:
    format: str  # "rss", "rdf" or "atom"
    title: str | None
    link: str | None  # the site's page
    lang: str | None
    entries: list[Entry]


# --- XML, safely ---------------------------------------------------------------------


def _refuse(*_: Any) -> None:
    raise FeedError("the feed declares entities, which are refused", unsafe=True)


def _no_external(context: str, base: str | None, system: str | None, public: str | None) -> int:
    raise FeedError(f"the feed refers to an external entity ({system}), refused", unsafe=True)


def parse_xml(data: bytes) -> ET.Element:
    """The document's root element, parsed by expat without any DTD: a document type
    declaration with an internal subset, an entity declaration or an external entity
    reference raises :class:`FeedError` (``unsafe``)."""
    builder = ET.TreeBuilder()
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)

    def doctype(name: str, system: str | None, public: str | None, internal: int) -> None:
        if internal:
            raise FeedError("the feed carries a DTD of its own, which is refused", unsafe=True)

    def name_of(raw: str) -> str:
        uri, _, local = raw.rpartition(" ")
        return f"{{{uri}}}{local}" if uri else local

    def start(tag: str, attributes: dict[str, str]) -> None:
        builder.start(name_of(tag), {name_of(k): v for k, v in attributes.items()})

    parser.StartDoctypeDeclHandler = doctype
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _no_external
    parser.StartElementHandler = start
    parser.EndElementHandler = lambda tag: builder.end(name_of(tag))
    parser.CharacterDataHandler = builder.data
    parser.buffer_text = True
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise FeedError(f"the feed is not well-formed XML: {exc}") from None
    return builder.close()


# --- feeds -----------------------------------------------------------------------------


def _text(element: ET.Element | None, *names: str) -> str | None:
    """The stripped text of the first of these children that has some."""
    if element is None:
        return None
    for name in names:
        child = element.find(name)
        if child is not None and child.text and child.text.strip():
            return child.text.strip()
    return None


def _date(*values: str | None) -> datetime | None:
    """The first value that reads as a date (RFC 822 or ISO 8601), in UTC."""
    for value in values:
        if not value:
            continue
        found: datetime | None = None
        try:
            found = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            try:
                found = datetime.fromisoformat(value.strip())
            except ValueError:
                continue
        if found.tzinfo is None:
            found = found.replace(tzinfo=UTC)
        return found.astimezone(UTC)
    return None


def _rss_author(value: str | None) -> str | None:
    """RSS's ``author`` is an email, often followed by the name in parentheses."""
    if not value:
        return None
    named = re.match(r"^\s*\S+@\S+\s*\((.+)\)\s*$", value)
    return named.group(1).strip() if named else value.strip()


def _media(item: ET.Element) -> tuple[str, ...]:
    urls = [m.get("url") for m in item.iter() if m.tag in (MEDIA + "content", MEDIA + "thumbnail")]
    urls += [e.get("url") for e in item.findall("enclosure")]
    urls += [a.get("href") for a in item.findall(ATOM + "link") if a.get("rel") == "enclosure"]
    return tuple(dict.fromkeys(u for u in urls if u))


def _rss_entry(item: ET.Element, ns: str, base: str, lang: str | None) -> Entry:
    guid = item.find("guid")
    ident = _text(item, "guid") or item.get(RDF + "about")
    link = _text(item, ns + "link")
    if not link and guid is not None and guid.get("isPermaLink", "true").lower() == "true":
        link = ident
    if not link:
        alternate = item.find(ATOM + "link")
        link = alternate.get("href") if alternate is not None else None
    media_text = next(
        (m.text for m in item.iter(MEDIA + "description") if m.text and m.text.strip()), None
    )
    body = _text(item, CONTENT + "encoded", ns + "description") or media_text
    categories = [c.text.strip() for c in item.findall("category") if c.text and c.text.strip()]
    categories += [c.text.strip() for c in item.findall(DC + "subject") if c.text]
    return Entry(
        id=ident,
        title=title_text(_text(item, ns + "title", MEDIA + "title")) or None,
        link=urljoin(base, link) if link else None,
        text=html_to_text(body),
        author=_text(item, DC + "creator") or _rss_author(_text(item, "author")),
        author_url=None,
        published=_date(_text(item, "pubDate"), _text(item, DC + "date")),
        lang=_text(item, DC + "language") or lang,
        categories=tuple(categories),
        media=_media(item),
        comments=_text(item, "comments"),
    )


def _atom_text(element: ET.Element | None) -> str:
    """An Atom text construct (``text``, ``html`` or ``xhtml``) as plain text."""
    if element is None or element.get("src"):
        return ""
    kind = (element.get("type") or "text").lower()
    if kind in ("html", "text/html"):
        return html_to_text(element.text)
    if kind in ("xhtml", "application/xhtml+xml"):
        return html_to_text(ET.tostring(element, encoding="unicode"))
    return "\n".join(" ".join(line.split()) for line in "".join(element.itertext()).splitlines())


def _atom_link(entry: ET.Element, base: str) -> str | None:
    for link in entry.findall(ATOM + "link"):
        if link.get("rel", "alternate") == "alternate" and link.get("href"):
            return urljoin(base, link.get("href") or "")
    return None


def _atom_entry(entry: ET.Element, base: str, lang: str | None, feed: ET.Element) -> Entry:
    base = urljoin(base, entry.get(XML + "base") or "")
    author = entry.find(ATOM + "author")
    if author is None:
        author = entry.find(f"{ATOM}source/{ATOM}author")
    if author is None:
        author = feed.find(ATOM + "author")
    uri = _text(author, ATOM + "uri")
    content = _atom_text(entry.find(ATOM + "content"))
    return Entry(
        id=_text(entry, ATOM + "id"),
        title=_atom_text(entry.find(ATOM + "title")) or None,
        link=_atom_link(entry, base),
        text=content or _atom_text(entry.find(ATOM + "summary")),
        author=_text(author, ATOM + "name"),
        author_url=urljoin(base, uri) if uri else None,
        published=_date(_text(entry, ATOM + "published"), _text(entry, ATOM + "updated")),
        lang=entry.get(XML + "lang") or lang,
        categories=tuple(
            c.get("label") or c.get("term") or "" for c in entry.findall(ATOM + "category")
        ),
        media=_media(entry),
    )


def parse_feed(data: bytes, url: str) -> Feed:
    """An RSS 2.0, RSS 1.0 (RDF) or Atom 1.0 document (fetched from ``url``, which
    relative links resolve against), or :class:`FeedError`."""
    root = parse_xml(data)
    if root.tag == ATOM + "feed":
        base = urljoin(url, root.get(XML + "base") or "")
        lang = root.get(XML + "lang")
        entries = [_atom_entry(e, base, lang, root) for e in root.findall(ATOM + "entry")]
        site = _atom_link(root, base)
        return Feed("atom", _atom_text(root.find(ATOM + "title")) or None, site, lang, entries)
    if root.tag == "rss":
        channel = root.find("channel")
        if channel is None:
            raise FeedError("the RSS document has no channel")
        lang = _text(channel, "language", DC + "language")
        items = [_rss_entry(i, "", url, lang) for i in channel.findall("item")]
        return Feed("rss", _text(channel, "title"), _text(channel, "link"), lang, items)
    if root.tag == RDF + "RDF":
        ns = RSS1 if root.find(RSS1 + "channel") is not None else RSS090
        channel = root.find(ns + "channel")
        lang = _text(channel, DC + "language")
        items = [_rss_entry(i, ns, url, lang) for i in root.findall(ns + "item")]
        return Feed("rdf", _text(channel, ns + "title"), _text(channel, ns + "link"), lang, items)
    raise FeedError(f"the document is not an RSS or Atom feed (its root is {root.tag!r})")


def entry_key(entry: Entry) -> str:
    """What identifies an entry in its feed: its id, else a hash of its link and title
    (of its text when it has neither); long ids are hashed."""
    ident = (entry.id or "").strip()
    if not ident:
        basis = f"{entry.link or ''}\n{entry.title or ''}"
        if not basis.strip():
            basis = entry.text
        ident = "sha256:" + hashlib.sha256(basis.encode()).hexdigest()[:32]
    if len(ident) > 300:
        ident = "sha256:" + hashlib.sha256(ident.encode()).hexdigest()[:32]
    return ident


def _digest(key: str) -> str:
    """How the cursor remembers an entry: a short hash of its key."""
    return hashlib.sha256(key.encode()).hexdigest()[:20]


def feed_tag(url: str) -> str:
    """A short stable name for a feed's URL, qualifying its entries' ids."""
    return hashlib.sha256(url.strip().encode()).hexdigest()[:16]


# --- the connector ----------------------------------------------------------------------


@dataclass(frozen=True)
class _Got:
    status: int
    url: str
    headers: httpx.Headers
    body: bytes


class FeedConnector:
    """Reads one feed per source (see the module's docs)."""

    kind = "rss"

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._timeout = timeout
        self._transport = transport
        self._clock = clock

    def fetch(
        self, source: SourceConfig, cursor: dict[str, Any], terms: list[str], limit: int
    ) -> Batch:
        """The entries not returned before, oldest first, at most ``limit`` (the feed is
        the mention: ``terms`` do not filter it, the source's ``keywords`` do)."""
        url, keywords, max_bytes = _settings(source)
        headers: dict[str, str] = {}
        if isinstance(cursor.get("etag"), str):
            headers["If-None-Match"] = cursor["etag"]
        if isinstance(cursor.get("last_modified"), str):
            headers["If-Modified-Since"] = cursor["last_modified"]
        got = self._get(url, headers, max_bytes)
        if got.status == 304:
            return Batch(posts=[], cursor=dict(cursor))
        try:
            feed = parse_feed(got.body, got.url)
        except FeedError as exc:
            where = f"the feed at {url}"
            raise SourceError(f"{where}: {exc.message}", permanent=exc.unsafe) from None
        seen = [str(i) for i in cursor.get("seen") or [] if isinstance(i, str)]
        known = set(seen)
        now = datetime.fromtimestamp(self._clock(), UTC)
        fresh: dict[str, tuple[int, str, Entry]] = {}  # by digest: position, key, entry
        for index, entry in enumerate(feed.entries[:MAX_SEEN]):
            key = entry_key(entry)
            digest = _digest(key)
            if digest not in known and digest not in fresh:
                fresh[digest] = (index, key, entry)
        ordered = sorted(fresh.items(), key=lambda kv: (kv[1][2].published or now, -kv[1][0]))
        wanted = _matcher(keywords)
        posts: list[Post] = []
        walked: list[str] = []
        more = False
        for digest, (_, key, entry) in ordered:
            if wanted(entry):
                if len(posts) >= max(1, limit):
                    more = True
                    break
                posts.append(_post(url, feed, key, entry, now))
            walked.append(digest)
        current = {_digest(entry_key(e)) for e in feed.entries[:MAX_SEEN]}
        return Batch(
            posts=posts,
            cursor={
                "etag": None if more else got.headers.get("etag"),
                "last_modified": None if more else got.headers.get("last-modified"),
                "seen": _remembered(seen, walked, current),
            },
            more=more,
        )

    def reply(
        self, source: SourceConfig, post: Post, text: str, *, private: bool = False
    ) -> Delivered:
        """Never possible: a feed is read-only."""
        where = post.url or str(source.settings.get("url") or "the site")
        why = f"a feed entry cannot be answered here: answer it on the site, at {where}"
        raise SourceError(why, permanent=True)

    def _get(self, url: str, headers: dict[str, str], max_bytes: int) -> _Got:
        """The feed, redirects followed (at most MAX_REDIRECTS, http(s) only), its body
        read up to ``max_bytes``."""
        base = {"User-Agent": USER_AGENT, "Accept": ACCEPT}
        with httpx.Client(timeout=self._timeout, transport=self._transport, headers=base) as http:
            current = url
            for _ in range(MAX_REDIRECTS + 1):
                _check_scheme(current, url)
                try:
                    with http.stream("GET", current, headers=headers) as response:
                        if response.is_redirect and "location" in response.headers:
                            current = urljoin(current, response.headers["location"])
                            continue
                        if response.status_code == 304:
                            return _Got(304, current, response.headers, b"")
                        if response.status_code != 200:
                            raise _status_error(response, url, self._clock())
                        return _Got(200, current, response.headers, _read(response, url, max_bytes))
                except httpx.HTTPError as exc:
                    raise SourceError(f"the feed at {url} could not be read: {exc}") from exc
        raise SourceError(
            f"the feed at {url} redirects more than {MAX_REDIRECTS} times", permanent=True
        )


def _settings(source: SourceConfig) -> tuple[str, list[str], int]:
    url = str(source.settings.get("url") or "").strip()
    if not url:
        raise SourceError("a feed source needs the feed's url", permanent=True)
    _check_scheme(url, url)
    raw = source.settings.get("keywords") or []
    keywords = raw.split(",") if isinstance(raw, str) else raw
    if not isinstance(keywords, list) or not all(isinstance(k, str) for k in keywords):
        raise SourceError("the keywords setting must be a list of words", permanent=True)
    max_bytes = source.settings.get("max_bytes") or MAX_BYTES
    if not isinstance(max_bytes, int) or max_bytes <= 0:
        raise SourceError("the max_bytes setting must be a positive number", permanent=True)
    return url, [k.strip() for k in keywords if k.strip()], max_bytes


def _check_scheme(url: str, feed: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        why = f"the feed at {feed} leads to {url!r}, which is not an http(s) address"
        raise SourceError(why, permanent=True)


def _read(response: httpx.Response, url: str, max_bytes: int) -> bytes:
    too_big = f"the feed at {url} is larger than {max_bytes} bytes"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > max_bytes:
        raise SourceError(too_big, permanent=True)
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise SourceError(too_big, permanent=True)
        chunks.append(chunk)
    return b"".join(chunks)


def _status_error(response: httpx.Response, url: str, now: float) -> SourceError:
    status = response.status_code
    if status in (429, 503) or status >= 500 or status == 408:
        wait = _retry_after(response.headers.get("retry-after"), now)
        return SourceError(f"the feed at {url} answered {status}", retry_after=wait)
    return SourceError(f"the feed at {url} answered {status}", permanent=True)


def _retry_after(value: str | None, now: float) -> float | None:
    """Retry-After in seconds, given as seconds or as an HTTP date."""
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    when = _date(value)
    return max(0.0, when.timestamp() - now) if when else None


def _matcher(keywords: list[str]) -> Callable[[Entry], bool]:
    if not keywords:
        return lambda entry: True
    words = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    pattern = re.compile(rf"(?<!\w)(?:{words})(?!\w)", re.IGNORECASE)
    return lambda entry: bool(pattern.search(f"{entry.title or ''}\n{entry.text}"))


def _remembered(seen: list[str], walked: list[str], current: set[str]) -> list[str]:
    """The ids to remember, oldest first: those still in the feed always, the others
    while there is room under MAX_SEEN."""
    merged = list(dict.fromkeys([*seen, *walked]))
    room = MAX_SEEN - sum(1 for i in merged if i in current)
    others = [i for i in merged if i not in current]
    dropped = set(others[: max(0, len(others) - room)])
    return [i for i in merged if i not in dropped]


def readable_link(link: str | None) -> str | None:
    """The page an entry is about: a Google redirect (as Google Alerts links) unwrapped."""
    if not link:
        return None
    parts = urlsplit(link)
    if parts.hostname in ("www.google.com", "google.com") and parts.path == "/url":
        target = dict(parse_qsl(parts.query)).get("url", "")
        if urlsplit(target).scheme in ("http", "https"):
            return target
    return link


def _post(url: str, feed: Feed, key: str, entry: Entry, now: datetime) -> Post:
    """An entry as a post. Its author is the entry's, else the host of the site it was
    published on (the entry's link, else the feed's site)."""
    link = readable_link(entry.link)
    site = next(
        h for h in (urlsplit(link or "").hostname, urlsplit(feed.link or url).hostname, url) if h
    )
    raw: dict[str, Any] = {
        "feed": url,
        "format": feed.format,
        "feed_title": feed.title,
        "id": entry.id or key,
        "link": entry.link,
        "categories": list(entry.categories),
        "media": list(entry.media),
    }
    if entry.comments:
        raw["comments"] = entry.comments
    return Post(
        network="rss",
        external_id=f"feed:{feed_tag(url)}:{key}",
        text=entry.text or entry.title or "",
        posted_at=entry.published or now,
        author_handle=entry.author or site,
        url=link,
        author_name=entry.author,
        author_url=entry.author_url,
        lang=entry.lang,
        title=entry.title,
        reply_ref={"url": link} if link else {},
        raw=raw,
    )
