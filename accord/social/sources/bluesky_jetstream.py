"""Bluesky's Jetstream: every new post on the network as JSON over a websocket.

The connector subscribes to ``{jetstream}/subscribe?wantedCollections=app.bsky.feed.post``
and keeps the posts created whose text names a listening term. Its position is the
``time_us`` of the last event it processed; Jetstream replays from a cursor *including*
the events at that instant, so the ids of the events processed at that instant are kept
with it and passed over when replayed. Authors' handles and follower counts come from
``app.bsky.actor.getProfiles`` (25 a call) for each batch."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidURI
from websockets.sync.client import ClientConnection, connect

from accord.social.sources.base import Batch, Post, SourceError
from accord.social.sources.bluesky_posts import POST_COLLECTION, from_commit
from accord.social.sources.positions import mentions_any, number_setting

DEFAULT_JETSTREAM = "wss://jetstream2.us-east.bsky.network"
START_MARGIN_US = 5_000_000  # a first cursor is taken this far before the connection

Resolver = Callable[[list[str]], dict[str, dict[str, Any]]]


def jetstream_url(value: Any) -> str:
    """The ``jetstream`` setting: a ws(s) base URL."""
    url = str(value or DEFAULT_JETSTREAM).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("ws", "wss") or not parts.netloc:
        raise SourceError("the Jetstream address must be a ws(s) URL", permanent=True)
    return url.removesuffix("/subscribe")


def _event_id(event: dict[str, Any]) -> str:
    did = str(event.get("did") or "")
    commit = event.get("commit")
    if isinstance(commit, dict):
        parts = (str(commit.get(k) or "") for k in ("rev", "operation", "collection", "rkey"))
        return ":".join((did, *parts))
    return f"{did}:{event.get('kind')}"


class Position:
    """The last ``time_us`` processed and the ids of the events processed at it."""

    def __init__(self, cursor: dict[str, Any]) -> None:
        t = cursor.get("time_us")
        ids = cursor.get("ids")
        self.time_us: int | None = t if isinstance(t, int) and not isinstance(t, bool) else None
        self.ids: set[str] = {str(i) for i in ids} if isinstance(ids, list) else set()

    def dump(self) -> dict[str, Any]:
        """The position as stored in the cursor."""
        return {"mode": "jetstream", "time_us": self.time_us, "ids": sorted(self.ids)}

    def take(self, event: dict[str, Any]) -> bool:
        """Record ``event`` as processed; False when it was already (a replay)."""
        t = event.get("time_us")
        if not isinstance(t, int) or isinstance(t, bool):
            return False
        eid = _event_id(event)
        if self.time_us is not None and (
            t < self.time_us or (t == self.time_us and eid in self.ids)
        ):
            return False
        if t == self.time_us:
            self.ids.add(eid)
        else:
            self.time_us, self.ids = t, {eid}
        return True


def wanted(event: dict[str, Any], terms: list[str]) -> bool:
    """A post just created whose text names one of ``terms``."""
    commit = event.get("commit")
    if event.get("kind") != "commit" or not isinstance(commit, dict):
        return False
    if commit.get("operation") != "create" or commit.get("collection") != POST_COLLECTION:
        return False
    record = commit.get("record")
    text = record.get("text") if isinstance(record, dict) else None
    return isinstance(text, str) and mentions_any(text, terms)


class Jetstream:
    """Reads one source's Jetstream from a saved position."""

    def __init__(
        self,
        settings: dict[str, Any],
        resolve: Resolver,
        *,
        own_handle: str | None = None,
    ) -> None:
        self.base = jetstream_url(settings.get("jetstream"))
        self.budget = number_setting(settings, "fetch_seconds", 5.0)
        self.idle = number_setting(settings, "idle_seconds", 1.0)
        self.flush = number_setting(settings, "flush_seconds", 1.0)
        self.resolve = resolve
        self.own_handle = (own_handle or "").lower().lstrip("@") or None

    def _connect(self, position: Position) -> ClientConnection:
        query = [("wantedCollections", POST_COLLECTION)]
        if position.time_us is not None:
            query.append(("cursor", str(position.time_us)))
        url = f"{self.base}/subscribe?{urlencode(query)}"
        try:
            return connect(url, open_timeout=10, close_timeout=2, max_size=2**22)
        except (OSError, InvalidHandshake, InvalidURI, TimeoutError) as exc:
            raise SourceError(f"Jetstream could not be reached: {exc}") from exc

    def _posts(self, events: list[dict[str, Any]]) -> list[Post]:
        profiles = self.resolve([str(e.get("did")) for e in events])
        posts = [from_commit(e, profiles.get(str(e.get("did")))) for e in events]
        return [p for p in posts if p.author_handle.lower() != self.own_handle]

    @staticmethod
    def _decode(raw: str | bytes) -> dict[str, Any] | None:
        try:
            event = json.loads(raw)
        except ValueError:
            return None
        return event if isinstance(event, dict) else None

    def fetch(self, cursor: dict[str, Any], terms: list[str], limit: int) -> Batch:
        """Events from the position until ``limit`` matching posts, the time budget
        (``fetch_seconds``) or the live edge (an event newer than the connection, or
        ``idle_seconds`` without one)."""
        position = Position(cursor)
        started_us = time.time_ns() // 1000
        deadline = time.monotonic() + self.budget
        kept: list[dict[str, Any]] = []
        more = False
        with self._connect(position) as ws:
            while len(kept) < limit:
                left = deadline - time.monotonic()
                if left <= 0:
                    more = True
                    break
                try:
                    raw = ws.recv(timeout=min(self.idle, left))
                except TimeoutError:
                    more = time.monotonic() >= deadline
                    break
                except ConnectionClosed:
                    break
                event = self._decode(raw)
                if event is None or not position.take(event):
                    continue
                if wanted(event, terms):
                    kept.append(event)
                if position.time_us is not None and position.time_us >= started_us:
                    break  # caught up with the live edge
            else:
                more = True
        if position.time_us is None:
            # Nothing heard: the next fetch replays from (a little before) now.
            position.time_us = started_us - START_MARGIN_US
        return Batch(posts=self._posts(kept), cursor=position.dump(), more=more)

    def stream(
        self, cursor: dict[str, Any], terms: list[str], stopping: Callable[[], bool]
    ) -> Iterator[Batch]:
        """Batches of matching posts as they are heard (every ``flush_seconds`` or 25
        posts; a batch without posts now and then carries the position on), until
        ``stopping()`` or the connection drops."""
        position = Position(cursor)
        kept: list[dict[str, Any]] = []
        last_flush = time.monotonic()
        flushed_at = position.time_us
        with self._connect(position) as ws:
            while True:
                closed = False
                if not stopping():
                    try:
                        raw: str | bytes | None = ws.recv(timeout=min(0.5, self.flush))
                    except TimeoutError:
                        raw = None
                    except ConnectionClosed:
                        raw, closed = None, True
                    event = self._decode(raw) if raw is not None else None
                    if event is not None and position.take(event) and wanted(event, terms):
                        kept.append(event)
                done = closed or stopping()
                due = time.monotonic() - last_flush >= self.flush
                if kept and (due or done or len(kept) >= 25):
                    yield Batch(posts=self._posts(kept), cursor=position.dump())
                    kept, last_flush, flushed_at = [], time.monotonic(), position.time_us
                elif (due or done) and position.time_us != flushed_at:
                    yield Batch(posts=[], cursor=position.dump())
                    last_flush, flushed_at = time.monotonic(), position.time_us
                if done:
                    return
