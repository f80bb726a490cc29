"""Text no database column can hold, and JSON nested too deep to handle, found cheaply.

A NUL character or a lone surrogate (half of a UTF-16 pair) is never valid in any string
of a request: PostgreSQL refuses both, and a surrogate cannot even be encoded as UTF-8.
JSON can only carry them as an escape (``\\u0000``, ``\\ud800``), as a UTF-16 body (NUL
bytes), or as the UTF-8 bytes of a surrogate, which the standard library reads with
``surrogatepass``. ``suspicious`` looks for those in the raw bytes, so the strings of
the common body are never walked; ``find_bad`` walks a parsed document and names the
first bad key or value.

Depth: the standard library recurses once a level, and fails past about a thousand
(orjson refuses beyond 254 when encoding, 1024 when parsing). ``may_nest_deeper`` bounds
the nesting of raw JSON with a few passes of C-speed byte operations; ``trim_deep``
replaces any value nested deeper than the limit by a marker that ``find_bad`` reports,
so the rest of the document parses and is judged as usual."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

# Levels of a request body: a batch holds its messages two levels down.
MAX_DEPTH = 64

_ESCAPES = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])")
_BAD_CHARS = re.compile("[\x00\ud800-\udfff]")
# What stands for a value nested too deep: it holds a NUL, so no client can send it and
# have it stored; ``find_bad`` reports it as nesting, not as the NUL it holds.
TOO_DEEP = "\x00accord:nested too deep"
_TOO_DEEP_JSON = b'"\\u0000accord:nested too deep"'

# Every bracket byte as "(" or ")", every other byte dropped.
_BRACKETS = bytes.maketrans(b"{[}]", b"(())")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"{}[]")
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[{}\]]', re.DOTALL)


def suspicious(raw: bytes) -> bool:
    """Whether a raw JSON body may hold a NUL or a lone surrogate once parsed (an escape,
    a NUL byte, or the UTF-8 bytes of a surrogate): only then are its strings walked. A
    false alarm (a surrogate pair written as escapes, as ``json.dumps`` writes emoji)
    costs only the walk."""
    return (
        b"\x00" in raw
        or (b"\xed" in raw and re.search(rb"\xed[\xa0-\xbf]", raw) is not None)
        # One byte is looked for at memchr speed; two (b"\\u") would cost a hundred
        # times more on a large body.
        or (b"\\" in raw and _ESCAPES.search(raw) is not None)
    )


def may_nest_deeper(raw: bytes, limit: int) -> bool:
    """Whether raw JSON may nest more than ``limit`` levels. Brackets inside strings
    count too, so this may say yes of a shallow document, never no of a deep one."""
    seq = raw.translate(_BRACKETS, _NOT_BRACKETS)
    if seq.count(b"(") <= limit:
        return False
    for _ in range(limit):
        # Each pass removes the innermost pairs: one level.
        shorter = seq.replace(b"()", b"")
        if not shorter:
            return False
        if shorter == seq:
            return True  # unbalanced (brackets in strings, or not JSON): look closer
        seq = shorter
    return True


def shallow(raw: bytes, limit: int = MAX_DEPTH) -> bytes:
    """``raw`` as it is when it cannot nest deeper than ``limit`` (a cheap look), else
    with ``trim_deep`` applied."""
    return trim_deep(raw, limit) if may_nest_deeper(raw, limit) else raw


def trim_deep(raw: bytes, limit: int) -> bytes:
    """Raw JSON with every value nested deeper than ``limit`` levels replaced by the
    ``TOO_DEEP`` marker (strings are read whole, so brackets inside them do not count).
    Text that is not JSON stays text that is not JSON."""
    out: list[bytes] = []
    depth = 0
    kept = 0  # raw[:kept] is decided
    cut_from: int | None = None
    for token in _TOKENS.finditer(raw):
        char = token.group()[:1]
        if char == b'"':
            continue
        if char in (b"{", b"["):
            depth += 1
            if depth == limit + 1 and cut_from is None:
                cut_from = token.start()
        else:
            depth -= 1
            if depth == limit and cut_from is not None:
                out.append(raw[kept:cut_from])
                out.append(_TOO_DEEP_JSON)
                kept = token.end()
                cut_from = None
    if cut_from is not None:  # never closed: not JSON, and it stays so
        out.append(raw[kept:cut_from])
        out.append(b"!")
        return b"".join(out)
    out.append(raw[kept:])
    return b"".join(out)


@dataclass(frozen=True)
class BadText:
    field: str
    code: str
    message: str


def _escaped(text: str) -> str:
    """NUL characters and lone surrogates written as escapes (``\\u0000``)."""
    return _BAD_CHARS.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _shown(key: str) -> str:
    """A key as it may be shown in a field path."""
    return _escaped(key) if _BAD_CHARS.search(key) else key


def _join(path: str, key: str) -> str:
    return f"{path}.{_shown(key)}" if path else _shown(key)


def _walk(value: Any, path: str) -> Iterator[BadText]:
    if isinstance(value, str):
        if value == TOO_DEEP:
            yield BadText(
                path, "too_deep", f"{path or 'the body'} nests more than {MAX_DEPTH} levels"
            )
        elif _BAD_CHARS.search(value):
            yield BadText(path, "invalid_text", _why(value))
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and _BAD_CHARS.search(key):
                yield BadText(_join(path, key), "invalid_text", "the key " + _why(key))
                return
            yield from _walk(item, _join(path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


def _why(text: str) -> str:
    if "\x00" in text:
        return "holds a NUL character, which no text may hold"
    return "holds a lone surrogate (half of a UTF-16 pair), which is not text"


def find_bad(value: Any, path: str = "") -> BadText | None:
    """The first string (key or value) in a parsed document that holds a NUL or a lone
    surrogate, or the marker of a value nested too deep; None when there is none."""
    return next(_walk(value, path), None)


def printable(text: str, limit: int) -> str:
    """``text`` as a column can hold it: NUL characters and lone surrogates written as
    escapes, at most ``limit`` characters."""
    if _BAD_CHARS.search(text):
        text = _escaped(text)
    return text[:limit]
