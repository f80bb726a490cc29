"""Feeds on loopback, served as a web server serves them: fixed documents (the fixtures in
``tests/social/fixtures``, XML bombs...), and live feeds rendered as RSS 2.0, Atom 1.0 or
RSS 1.0 (RDF) from entries a test adds, with an ``ETag`` and a ``Last-Modified`` that
answer conditional GETs with 304; redirects, statuses with ``Retry-After``, and bodies
larger than a reader should take (with or without a ``Content-Length``).

``hits`` records each request's path and headers, for a test to read what was asked."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from accord.social.sources.base import SourceConfig
from tests.helpers import free_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
START = datetime(2024, 3, 8, 12, 0, tzinfo=UTC)
TYPES = {
    "rss": "application/rss+xml; charset=utf-8",
    "atom": "application/atom+xml; charset=utf-8",
    "rdf": "application/rdf+xml; charset=utf-8",
}


@dataclass
class Item:
    """One entry of a live feed; ``guid`` None renders an entry without an id."""

    title: str
    html: str
    link: str | None
    guid: str | None
    author: str | None
    published: datetime


@dataclass
class LiveFeed:
    """A feed rendered from its items (newest first, unless reordered)."""

    format: str  # "rss", "atom" or "rdf"
    base: str
    title: str = "Accord mentions"
    items: list[Item] = field(default_factory=list)
    changed: datetime = START
    serial: int = 0

    def add(
        self,
        title: str,
        html: str = "",
        *,
        guid: str | None = "auto",
        link: str | None = "auto",
        author: str | None = "Dana Reviewer",
        published: datetime | None = None,
    ) -> Item:
        """A new entry at the top of the feed, a minute after the last."""
        self.serial += 1
        when = published or START + timedelta(minutes=self.serial)
        page = f"{self.base}/posts/{self.serial}"
        item = Item(
            title=title,
            html=html or f"<p>{escape(title)}</p>",
            link=page if link == "auto" else link,
            guid=f"{page}#entry" if guid == "auto" else guid,
            author=author,
            published=when,
        )
        self.items.insert(0, item)
        self.touch()
        return item

    def touch(self) -> None:
        self.changed = max(self.changed + timedelta(seconds=1), START)

    def render(self) -> bytes:
        body = {"rss": self.rss, "atom": self.atom, "rdf": self.rdf}[self.format]()
        return body.encode()

    def rss(self) -> str:
        items = []
        for i in self.items:
            parts = [f"<title>{escape(i.title)}</title>"]
            if i.link:
                parts.append(f"<link>{escape(i.link)}</link>")
            if i.guid:
                parts.append(f'<guid isPermaLink="false">{escape(i.guid)}</guid>')
            if i.author:
                parts.append(f"<dc:creator>{escape(i.author)}</dc:creator>")
            parts.append(f"<pubDate>{format_datetime(i.published, usegmt=True)}</pubDate>")
            parts.append(f"<description>{escape(i.html)}</description>")
            items.append("<item>" + "".join(parts) + "</item>")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/"><channel>'
            f"<title>{escape(self.title)}</title><link>{self.base}/</link>"
            f"<description>Mentions</description>{''.join(items)}</channel></rss>"
        )

    def atom(self) -> str:
        entries = []
        for i in self.items:
            parts = [f'<title type="text">{escape(i.title)}</title>']
            if i.guid:
                parts.append(f"<id>{escape(i.guid)}</id>")
            if i.link:
                parts.append(f'<link rel="alternate" href={quoteattr(i.link)}/>')
            if i.author:
                parts.append(f"<author><name>{escape(i.author)}</name></author>")
            parts.append(f"<updated>{i.published.isoformat()}</updated>")
            parts.append(f'<content type="html">{escape(i.html)}</content>')
            entries.append("<entry>" + "".join(parts) + "</entry>")
        return (
            '<?xml version="1.0" encoding="utf-8"?>\n'
            '<feed xmlns="http://www.w3.org/2005/Atom">'
            f"<id>{self.base}/feed</id><title>{escape(self.title)}</title>"
            f'<link href="{self.base}/"/><updated>{self.changed.isoformat()}</updated>'
            f"{''.join(entries)}</feed>"
        )

    def rdf(self) -> str:
        items = []
        for i in self.items:
            about = f" rdf:about={quoteattr(i.guid)}" if i.guid else ""
            parts = [f"<title>{escape(i.title)}</title>"]
            if i.link:
                parts.append(f"<link>{escape(i.link)}</link>")
            if i.author:
                parts.append(f"<dc:creator>{escape(i.author)}</dc:creator>")
            parts.append(f"<dc:date>{i.published.isoformat()}</dc:date>")
            parts.append(f"<description>{escape(i.html)}</description>")
            items.append(f"<item{about}>" + "".join(parts) + "</item>")
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
            'xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">'
            f'<channel rdf:about="{self.base}/feed"><title>{escape(self.title)}</title>'
            f"<link>{self.base}/</link><description>Mentions</description></channel>"
            f"{''.join(items)}</rdf:RDF>"
        )


@dataclass
class FeedServer:
    port: int
    documents: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    live: dict[str, LiveFeed] = field(default_factory=dict)
    redirects: dict[str, tuple[int, str]] = field(default_factory=dict)
    statuses: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    huge: dict[str, tuple[int, bool]] = field(default_factory=dict)  # size, Content-Length
    hits: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def source(self, path: str, **settings: Any) -> SourceConfig:
        return SourceConfig("rss", {"url": self.url + path, **settings}, {})

    def put(self, path: str, body: bytes, content_type: str = TYPES["rss"]) -> None:
        """A fixed document at ``path``."""
        self.documents[path] = (body, content_type)

    def fixture(self, path: str, name: str, content_type: str = TYPES["rss"]) -> None:
        self.put(path, (FIXTURES / name).read_bytes(), content_type)

    def feed(self, path: str, format: str) -> LiveFeed:
        """A live feed at ``path``."""
        self.live[path] = LiveFeed(format, self.url)
        return self.live[path]

    def asked(self, path: str) -> list[dict[str, str]]:
        """The headers of each request made to ``path``."""
        with self.lock:
            return [headers for p, headers in self.hits if p == path]

    def handle(self, path: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.hits.append((path, headers))
        if path in self.redirects:
            status, location = self.redirects[path]
            return status, {"Location": location}, b""
        if path in self.statuses:
            status, extra = self.statuses[path]
            return status, extra, f"<html><body>{status}</body></html>".encode()
        if path in self.documents:
            body, kind = self.documents[path]
            return 200, {"Content-Type": kind}, body
        if path in self.live:
            feed = self.live[path]
            body = feed.render()
            etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
            modified = format_datetime(feed.changed, usegmt=True)
            validators = {"ETag": etag, "Last-Modified": modified}
            if not_modified(headers, etag, feed.changed):
                return 304, validators, b""
            return 200, {"Content-Type": TYPES[feed.format], **validators}, body
        return 404, {"Content-Type": "text/html"}, b"<html><body>Not Found</body></html>"


def not_modified(headers: dict[str, str], etag: str, changed: datetime) -> bool:
    """RFC 9110's order: If-None-Match when sent, else If-Modified-Since."""
    if "if-none-match" in headers:
        return etag in [t.strip() for t in headers["if-none-match"].split(",")]
    since = headers.get("if-modified-since")
    if since:
        try:
            return changed.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    """A feed server on a free loopback port, for the length of the block."""
    server = FeedServer(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            if self.path in server.huge:
                self.send_huge(*server.huge[self.path])
                return
            status, extra, body = server.handle(self.path, headers)
            self.send_response(status)
            for key, value in extra.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def send_huge(self, size: int, declared: bool) -> None:
            self.send_response(200)
            self.send_header("Content-Type", TYPES["rss"])
            if declared:
                self.send_header("Content-Length", str(size))
            self.end_headers()
            self.wfile.write(b'<?xml version="1.0"?><rss version="2.0"><channel>')
            chunk = b"<item><title>padding</title></item>" * 1000
            sent = 0
            try:
                while sent < size:
                    self.wfile.write(chunk)
                    sent += len(chunk)
            except (BrokenPipeError, ConnectionResetError):
                return  # the reader stopped reading, as it should

        def log_message(self, format: str, *args: Any) -> None:
            return

    http = ThreadingHTTPServer(("127.0.0.1", server.port), Handler)
    thread = threading.Thread(target=http.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()
