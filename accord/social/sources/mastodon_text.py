"""What the Mastodon connector reads besides JSON: a status's HTML ``content`` as plain
text, the ``Link`` header that pages timelines, and the Server-Sent Events of the
streaming API."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from html.parser import HTMLParser

# Elements that stand on lines of their own.
_BLOCKS = frozenset(
    {"p", "div", "blockquote", "pre", "ul", "ol", "li", "h1", "h2", "h3", "h4", "h5", "h6"}
)
_SPACE = re.compile(r"[ \t\r\n\f]+")


class _Text(HTMLParser):
    """Collects an HTML fragment's text, with markers where lines and paragraphs end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.pre = 0
        self.had_pre = False

    def _break(self, lines: int) -> None:
        self.parts.append("\x02" if lines > 1 else "\x01")  # a paragraph's edge, a line's

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCKS:
            self._break(2 if tag in ("p", "blockquote", "pre") else 1)
            if tag == "li":
                self.parts.append("- ")
        if tag == "pre":
            self.pre += 1
            self.had_pre = True

    def handle_endtag(self, tag: str) -> None:
        if tag in _BLOCKS:
            self._break(2 if tag in ("p", "blockquote", "pre") else 1)
        if tag == "pre" and self.pre:
            self.pre -= 1

    def handle_data(self, data: str) -> None:
        self.parts.append(data if self.pre else _SPACE.sub(" ", data))

    def text(self) -> str:
        joined = "".join(self.parts)
        # A run of block edges is one break: the widest of them.
        joined = re.sub(
            r"[ ]*[\x01\x02]+[ ]*", lambda m: "\n\n" if "\x02" in m.group(0) else "\n", joined
        )
        # Spaces at a line's ends are not shown (except in preformatted text).
        lines = [ln.rstrip() if self.had_pre else ln.strip() for ln in joined.split("\n")]
        return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """A status's ``content`` as plain text: paragraphs apart by a blank line, ``<br>``
    as a line break, entities decoded, and links as their text (Mastodon hides part of a
    long URL in ``invisible`` spans: the text keeps all of it)."""
    if not html:
        return ""
    parser = _Text()
    parser.feed(html)
    parser.close()
    return parser.text()


_LINK = re.compile(r"<([^>]*)>\s*((?:;\s*[\w-]+\s*=\s*(?:\"[^\"]*\"|[^;,\s]*)\s*)*)")
_REL = re.compile(r";\s*rel\s*=\s*(?:\"([^\"]*)\"|([^;,\s]*))", re.IGNORECASE)


def links(header: str | None) -> dict[str, str]:
    """An RFC 8288 ``Link`` header by relation: ``{"next": url, "prev": url}``."""
    out: dict[str, str] = {}
    for match in _LINK.finditer(header or ""):
        rel = _REL.search(match.group(2) or "")
        if rel:
            for name in (rel.group(1) or rel.group(2) or "").split():
                out.setdefault(name.lower(), match.group(1).strip())
    return out


def sse_events(lines: Iterable[str]) -> Iterator[tuple[str, str]]:
    """Server-Sent Events from a stream's lines: ``(event, data)`` for each one
    dispatched, and ``("", "")`` for each comment (a heartbeat: a line starting with
    ``:``), so that a reader gets a turn to check whether to stop."""
    event, data = "", list[str]()
    for raw in lines:
        line = raw.rstrip("\r\n")
        if not line:
            if data:
                yield event or "message", "\n".join(data)
            event, data = "", list[str]()
            continue
        if line.startswith(":"):
            yield "", ""
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
