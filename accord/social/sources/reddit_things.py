"""Reddit's "things" as its API returns them: listings, the answers of its write
endpoints (with their errors and rate-limit waits), and a submission or comment as a
:class:`~accord.social.sources.base.Post`. Read by :mod:`accord.social.sources.reddit`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import httpx

from accord.social.sources.base import Delivered, Post, SourceError

WEB = "https://www.reddit.com"  # where people read posts (permalinks are relative to it)
GONE = frozenset({"[deleted]", "[removed]", ""})  # authors whose account is gone


def json_of(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise SourceError(f"Reddit answered {response.status_code} without a JSON object")
    return body


def listing(response: httpx.Response) -> tuple[list[tuple[str, dict[str, Any]]], str | None]:
    """A Listing's children as (kind, data) and its ``after``."""
    body = json_of(response)
    data = body.get("data")
    if body.get("kind") != "Listing" or not isinstance(data, dict):
        raise SourceError("Reddit answered something other than a listing")
    children = [
        (str(c.get("kind")), c["data"])
        for c in data.get("children") or []
        if isinstance(c, dict) and isinstance(c.get("data"), dict)
    ]
    after = data.get("after")
    return children, str(after) if after else None


def api_answer(response: httpx.Response) -> dict[str, Any]:
    """The ``json`` object of an ``api_type=json`` answer; its first error raised (a
    RATELIMIT one transient, with the wait Reddit asked for)."""
    body = json_of(response).get("json")
    if not isinstance(body, dict):
        raise SourceError("Reddit's answer had no json object")
    errors = [e for e in body.get("errors") or [] if isinstance(e, list) and e]
    if not errors:
        return body
    code = str(errors[0][0])
    message = str(errors[0][1]) if len(errors[0]) > 1 else ""
    if code == "RATELIMIT":
        wait = ratelimit_wait(body, message)
        raise SourceError(f"Reddit's rate limit: {message}", retry_after=wait)
    raise SourceError(f"Reddit refused it: {code}: {message}", permanent=True)


_UNITS = {"millisecond": 0.001, "second": 1.0, "minute": 60.0, "hour": 3600.0}


def ratelimit_wait(body: dict[str, Any], message: str) -> float | None:
    for holder in (body, body.get("data")):
        if isinstance(holder, dict) and isinstance(holder.get("ratelimit"), int | float):
            return float(holder["ratelimit"])
    found = re.search(r"(\d+)\s*(millisecond|second|minute|hour)s?", message, re.IGNORECASE)
    if found:
        return int(found.group(1)) * _UNITS[found.group(2).lower()]
    return None


def merged(first: tuple[str, ...], second: list[str]) -> list[str]:
    out: list[str] = []
    for word in [*first, *second]:
        word = " ".join(str(word).split())
        if word and word.lower() not in {w.lower() for w in out}:
            out.append(word)
    return out


def number(value: Any) -> float | None:
    """A number Reddit gave (as a number or a header's text), or None."""
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def count(value: Any) -> int | None:
    """A whole number Reddit gave, or None."""
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def order(name: str) -> int:
    try:
        return int(name.partition("_")[2], 36)
    except ValueError:
        return 0


def same_text(a: str, b: str) -> bool:
    return " ".join(a.split()) == " ".join(b.split())


def text_of(kind: str, data: dict[str, Any]) -> str:
    if kind == "t1":
        return str(data.get("body") or "")
    title, body = str(data.get("title") or ""), str(data.get("selftext") or "")
    return f"{title}\n\n{body}" if body else title


def _plain(key: str, value: Any) -> bool:
    """What of a payload ``raw`` keeps: plain values, not nested objects or HTML."""
    return isinstance(value, str | int | float | bool | None) and not key.endswith("_html")


def delivered(data: dict[str, Any]) -> Delivered:
    permalink = str(data.get("permalink") or "")
    return Delivered(external_id=str(data["name"]), url=WEB + permalink if permalink else None)


def post_of(kind: str, data: dict[str, Any], karma: int | None) -> Post:
    """A submission (t3) or comment (t1) as a :class:`Post`; ``followers`` is karma."""
    name = str(data["name"])
    author = str(data.get("author") or "[deleted]")
    permalink = str(data.get("permalink") or "")
    comment = kind == "t1"
    return Post(
        network="reddit",
        external_id=name,
        text=text_of(kind, data),
        posted_at=datetime.fromtimestamp(number(data.get("created_utc")) or 0.0, UTC),
        author_handle=author,
        url=WEB + permalink if permalink.startswith("/") else permalink or None,
        author_id=str(data.get("author_fullname") or "") or None,
        author_url=None if author in GONE else f"{WEB}/user/{author}",
        followers=karma,
        likes=max(0, count(data.get("score")) or 0),
        replies=0 if comment else count(data.get("num_comments")) or 0,
        title=None if comment else str(data.get("title") or "") or None,
        reply_to=str(data.get("parent_id") or "") or None if comment else None,
        thread_root=str(data.get("link_id") or "") or None if comment else None,
        reply_ref={"fullname": name},
        raw={"kind": kind, **{k: v for k, v in data.items() if _plain(k, v)}},
    )
