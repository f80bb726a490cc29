"""Bluesky posts as Accord reads and writes them: a ``postView`` (search) or a Jetstream
commit turned into a :class:`~accord.social.sources.base.Post`, the record of a reply
with its facets, and the record key a reply is written under."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from accord.social.sources.base import Post

POST_COLLECTION = "app.bsky.feed.post"
APP_URL = "https://bsky.app"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable
TID_SHAPE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def parse_time(value: Any) -> datetime | None:
    """An AT Protocol datetime (ISO 8601, "Z" or an offset; naive taken as UTC)."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    # Python before 3.11.? takes at most 6 fractional digits; the protocol allows more.
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def iso_key(moment: datetime) -> str:
    """A UTC instant written so that text order is time order (microseconds, "Z")."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def api_time(key: str) -> str:
    """A key from :func:`iso_key` as the API writes datetimes (milliseconds, "Z"),
    rounded down: ``since`` (inclusive) then asks for a little more, never less, and
    ``until`` leaves out a little more, which the wider window above returns later."""
    return key[:23] + "Z" if len(key) > 23 else key


def sort_key(view: dict[str, Any]) -> str:
    """The instant search sorts a post by ("sortAt"): the earlier of its claimed
    ``createdAt`` and the AppView's ``indexedAt``."""
    record = obj(view.get("record"))
    indexed = parse_time(view.get("indexedAt"))
    created = parse_time(record.get("createdAt"))
    moments = [m for m in (indexed, created) if m is not None]
    return iso_key(min(moments)) if moments else iso_key(datetime.fromtimestamp(0, UTC))


def rkey_of(uri: str) -> str:
    """The record key, last segment of an at:// URI."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


def did_of(uri: str) -> str:
    """The repository (DID) of an at:// URI."""
    rest = uri.removeprefix("at://")
    return rest.split("/", 1)[0]


def profile_url(handle: str | None, did: str) -> str:
    """Where a person reads an account (by DID when its handle does not resolve)."""
    who = handle if handle and handle != "handle.invalid" else did
    return f"{APP_URL}/profile/{who}"


def post_url(handle: str | None, did: str, rkey: str) -> str:
    """Where a person reads a post: ``https://bsky.app/profile/{handle}/post/{rkey}``."""
    return f"{profile_url(handle, did)}/post/{rkey}"


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _ref(value: Any) -> tuple[str | None, str | None]:
    if not isinstance(value, dict):
        return None, None
    uri, cid = value.get("uri"), value.get("cid")
    return (uri if isinstance(uri, str) else None), (cid if isinstance(cid, str) else None)


def _post(
    *,
    uri: str,
    cid: str,
    record: dict[str, Any],
    did: str,
    author: dict[str, Any],
    profile: dict[str, Any] | None,
    counts: dict[str, Any],
    fallback_time: datetime,
    raw: dict[str, Any],
) -> Post:
    handle = str((profile or {}).get("handle") or author.get("handle") or did)
    name = (profile or {}).get("displayName") or author.get("displayName")
    reply = obj(record.get("reply"))
    parent_uri, _ = _ref(reply.get("parent"))
    root_uri, root_cid = _ref(reply.get("root"))
    langs = record.get("langs")
    lang = langs[0] if isinstance(langs, list) and langs and isinstance(langs[0], str) else None
    text = record.get("text")
    return Post(
        network="bluesky",
        external_id=uri,
        text=text if isinstance(text, str) else "",
        posted_at=parse_time(record.get("createdAt")) or fallback_time,
        author_handle=handle,
        url=post_url(handle, did, rkey_of(uri)),
        author_name=str(name) if name else None,
        author_id=did,
        author_url=profile_url(handle, did),
        followers=_count((profile or {}).get("followersCount")),
        following=_count((profile or {}).get("followsCount")),
        author_posts=_count((profile or {}).get("postsCount")),
        likes=_count(counts.get("likeCount")) or 0,
        reposts=_count(counts.get("repostCount")) or 0,
        replies=_count(counts.get("replyCount")) or 0,
        lang=lang,
        reply_to=parent_uri,
        thread_root=root_uri,
        reply_ref={
            "uri": uri,
            "cid": cid,
            "root_uri": root_uri or uri,
            "root_cid": root_cid or cid,
        },
        raw=raw,
    )


def from_view(view: dict[str, Any], profile: dict[str, Any] | None) -> Post:
    """A ``app.bsky.feed.defs#postView`` (with the author's detailed profile, which
    carries the follower counts the view lacks) as a Post."""
    author = obj(view.get("author"))
    record = obj(view.get("record"))
    uri = str(view.get("uri") or "")
    did = str(author.get("did") or did_of(uri))
    raw = {k: v for k, v in view.items() if k not in ("viewer", "labels", "threadgate")}
    raw["author"] = {k: author.get(k) for k in ("did", "handle", "displayName") if k in author}
    return _post(
        uri=uri,
        cid=str(view.get("cid") or ""),
        record=record,
        did=did,
        author=author,
        profile=profile,
        counts=view,
        fallback_time=parse_time(view.get("indexedAt")) or datetime.now(UTC),
        raw=raw,
    )


def from_commit(event: dict[str, Any], profile: dict[str, Any] | None) -> Post:
    """A Jetstream ``commit`` event creating a post (no counts: it was just written)."""
    did = str(event.get("did") or "")
    commit = obj(event.get("commit"))
    record = obj(commit.get("record"))
    rkey = str(commit.get("rkey") or "")
    time_us = event.get("time_us")
    heard = (
        datetime.fromtimestamp(time_us / 1_000_000, UTC)
        if isinstance(time_us, int)
        else datetime.now(UTC)
    )
    return _post(
        uri=f"at://{did}/{POST_COLLECTION}/{rkey}",
        cid=str(commit.get("cid") or ""),
        record=record,
        did=did,
        author={},
        profile=profile,
        counts={},
        fallback_time=heard,
        raw=event,
    )


def tid(value: int) -> str:
    """A 64-bit integer (top bit clear) as a TID: 13 base32-sortable characters."""
    value &= (1 << 63) - 1
    chars = []
    for _ in range(13):
        chars.append(_TID_ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def reply_rkey(post: Post, text: str) -> str:
    """The record key of a reply to ``post`` saying ``text``: the same for a retry, so
    the PDS refuses a second copy. A valid TID whose time is the answered post's plus
    up to a second (from a digest of the post and text) and whose clock id is from the
    digest too."""
    digest = hashlib.sha256(f"{post.external_id}\n{text}".encode()).digest()
    n = int.from_bytes(digest[:8], "big")
    micros = int(post.posted_at.timestamp() * 1_000_000) + (n & 0xFFFFF)
    clock = (n >> 20) & 0x3FF
    return tid((max(micros, 0) << 10) | clock)


_LINK = re.compile(r"https?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")


def facets(text: str, handle: str | None, did: str | None) -> list[dict[str, Any]]:
    """Rich-text facets for ``text``: the mention of ``handle`` (linked to ``did``) and
    any web links, at their UTF-8 byte offsets as the protocol counts them."""
    out: list[dict[str, Any]] = []

    def span(start: int, end: int) -> dict[str, int]:
        return {
            "byteStart": len(text[:start].encode()),
            "byteEnd": len(text[:end].encode()),
        }

    if handle and did and did.startswith("did:"):
        mention = re.compile(r"(?<![\w@])@" + re.escape(handle) + r"(?![\w.-])", re.IGNORECASE)
        for match in mention.finditer(text):
            out.append(
                {
                    "index": span(match.start(), match.end()),
                    "features": [{"$type": "app.bsky.richtext.facet#mention", "did": did}],
                }
            )
    for match in _LINK.finditer(text):
        out.append(
            {
                "index": span(match.start(), match.end()),
                "features": [{"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)}],
            }
        )
    return out
