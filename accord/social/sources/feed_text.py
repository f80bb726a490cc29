"""HTML as plain text, as feeds carry it in their descriptions and titles: tags dropped
(scripts and styles with their content), entities decoded, a line break per block.
Read by :mod:`accord.social.sources.feeds`."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

_BLOCK = re.compile(  # elements that end a line
    r"^(?:address|article|aside|blockquote|br|d[dlt]|div|fig(?:caption|ure)|footer|h[1-6]|"
    r"header|hr|li|main|nav|ol|p|pre|section|t(?:able|body|d|foot|h|head|r)|ul)$"
)
_PARAGRAPH = re.compile(r"^(?:p|h[1-6]|blockquote|pre|table|[uo]l|dl|figure|section|article)$")
_HIDDEN = frozenset({"script", "style", "template", "noscript", "head", "title"})


class _Text(HTMLParser):
    """Collects an HTML fragment's text with line breaks where its blocks end."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = [""]
        self.hidden = 0

    def _break(self, tag: str, closing: bool) -> None:
        if _PARAGRAPH.match(tag) and closing:
            self.parts.append("\n\n")
        elif _BLOCK.match(tag) and (closing or not self.parts[-1].endswith("\n")):
            self.parts.append("\n")

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        tag = tag.rpartition(":")[2]
        if tag in _HIDDEN:
            self.hidden += 1
        else:
            self._break(tag, closing=tag in ("br", "hr"))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._break(tag.rpartition(":")[2], closing=True)

    def handle_endtag(self, tag: str) -> None:
        tag = tag.rpartition(":")[2]
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        else:
            self._break(tag, closing=True)

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


_MARKUP = re.compile(
    r"</?(?:a|abbr|b|br|cite|code|del|em|font|i|img|ins|mark|p|q|s|small|span|strong|sub|sup|"
    r"u)(?:\s[^<>]*)?/?>",
    re.IGNORECASE,
)


def title_text(value: str | None) -> str:
    """A title as plain text: read as HTML when it holds HTML's inline markup (feeds
    often escape it into titles), else taken as written, its entities decoded."""
    if not value:
        return ""
    if _MARKUP.search(value):
        return html_to_text(value)
    return " ".join(html.unescape(value).split())


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment: tags dropped (scripts and styles with their
    content), entities decoded, a line break per block, spaces collapsed."""
    if not fragment:
        return ""
    reader = _Text()
    reader.feed(fragment)
    reader.close()
    lines = (" ".join(line.split()) for line in "".join(reader.parts).split("\n"))
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
