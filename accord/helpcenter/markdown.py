"""Articles are written in Markdown (CommonMark with tables and strikethrough). What
readers get is sanitized HTML: raw HTML in an article is escaped, links and images keep
only safe schemes, headings carry ids for the table of contents, and images are lazy."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

import nh3
from markdown_it import MarkdownIt

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "del", "em", "figcaption", "figure",
    "h2", "h3", "h4", "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong",
    "sub", "sup", "table", "tbody", "td", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "loading", "width", "height"},
    "h2": {"id"},
    "h3": {"id"},
    "h4": {"id"},
    "td": {"align"},
    "th": {"align"},
    "code": {"class"},
}
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")
_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class Rendered:
    html: str
    text: str  # what search indexes: the words, without markup
    headings: list[tuple[int, str, str]]  # level, id, title: the table of contents


def _parser() -> MarkdownIt:
    # ``html=False``: raw HTML in an article is shown as text, never run.
    return MarkdownIt("commonmark", {"html": False, "linkify": False}).enable(
        ["table", "strikethrough"]
    )


def slugify(text: str, limit: int = 80) -> str:
    return _SLUG.sub("-", text.lower()).strip("-")[:limit].strip("-") or "section"


def render(source: str) -> Rendered:
    md = _parser()
    tokens = md.parse(source)
    headings: list[tuple[int, str, str]] = []
    used: dict[str, int] = {}
    # An article's title is its h1: its highest heading becomes h2, the others follow.
    levels = [int(t.tag[1]) for t in tokens if t.type == "heading_open"]
    shift = 2 - min(levels) if levels else 0
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            level = max(2, min(4, int(token.tag[1]) + shift))
            token.tag = f"h{level}"
            tokens[i + 2].tag = token.tag  # the matching heading_close
            title = tokens[i + 1].content
            anchor = slugify(title)
            used[anchor] = used.get(anchor, 0) + 1
            if used[anchor] > 1:
                anchor = f"{anchor}-{used[anchor]}"
            token.attrSet("id", anchor)
            headings.append((level, anchor, title))
        elif token.type == "inline" and token.children:
            for child in token.children:
                if child.type == "image":
                    child.attrSet("loading", "lazy")
    raw = md.renderer.render(tokens, md.options, {})
    html = nh3.clean(
        raw,
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )
    return Rendered(html=html, text=plain_text(html), headings=headings)


def plain_text(html: str) -> str:
    return _SPACE.sub(" ", unescape(_TAG.sub(" ", html))).strip()


def excerpt(text: str, limit: int = 180) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"
