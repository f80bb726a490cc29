"""The Bluesky connector: hears a brand's mentions through the AT Protocol and answers
them.

Settings (``SourceConfig.settings``): ``service`` (the PDS or entryway that logs in and
writes, default ``https://bsky.social``), ``appview`` (reads without an account, default
``https://public.api.bsky.app``), ``jetstream`` (default
``wss://jetstream2.us-east.bsky.network``), ``mode`` (``"search"`` or ``"jetstream"``),
``handle`` (the brand's own account, whose posts are not returned), and optionally
``pages`` (search requests per term and call, default 5), ``fetch_seconds``,
``idle_seconds`` and ``flush_seconds`` (Jetstream). Credentials: ``identifier`` (a
handle) and ``app_password``.

Search mode runs ``app.bsky.feed.searchPosts`` once per listening term rather than one
query joining them: the search syntax (boolean operators included) is unspecified, so
one query per term is the form every implementation answers alike, and each term keeps
its own position. Results come newest first; :func:`~accord.social.sources.positions.
advance` turns them into posts oldest first after a high-water mark (the newest
``sortAt`` returned and the URIs returned at that instant), with a bounded number of
requests per call. A post heard under two terms is returned once. Posts backdated
before the mark (their ``createdAt`` older than the mark when indexed) sort below it and
are not heard, as on any newest-first reading.

Jetstream mode reads the network's live stream (see
:mod:`~accord.social.sources.bluesky_jetstream`), for ``fetch`` and ``stream``.

Replies are ``app.bsky.feed.post`` records written with ``com.atproto.repo.createRecord``
under a record key derived from the answered post and the text, so a retry finds the
first copy instead of posting twice; private answers are chat messages."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from accord.social.sources.base import Batch, Delivered, Post, SourceConfig, SourceError
from accord.social.sources.bluesky_jetstream import Jetstream
from accord.social.sources.bluesky_posts import (
    POST_COLLECTION,
    api_time,
    facets,
    from_view,
    obj,
    post_url,
    reply_rkey,
    sort_key,
)
from accord.social.sources.bluesky_xrpc import CHAT_PROXY, Sessions, Xrpc, XrpcError
from accord.social.sources.positions import (
    Found,
    Pager,
    Seen,
    Window,
    advance,
    clean_terms,
    number_setting,
)

PAGE_SIZE = 100  # searchPosts' largest page
DEFAULT_PAGES = 5


class BlueskyConnector:
    """Fetches, streams (Jetstream mode) and replies on Bluesky. The object keeps
    sessions and rate-limit waits between calls; everything else comes with each call."""

    kind = "bluesky"

    def __init__(self, *, timeout: float = 15.0) -> None:
        self.timeout = timeout
        self._sessions = Sessions()

    def _xrpc(self, source: SourceConfig) -> Xrpc:
        return Xrpc(source, self._sessions, timeout=self.timeout)

    @staticmethod
    def _mode(source: SourceConfig) -> str:
        mode = str(source.settings.get("mode") or "search")
        if mode not in ("search", "jetstream"):
            raise SourceError(f"unknown Bluesky mode {mode!r}", permanent=True)
        return mode

    @staticmethod
    def _own(source: SourceConfig) -> str | None:
        handle = source.settings.get("handle") or source.credentials.get("identifier")
        return str(handle).lower().lstrip("@") if handle else None

    # --- fetch ---------------------------------------------------------------------------

    def fetch(
        self, source: SourceConfig, cursor: dict[str, Any], terms: list[str], limit: int
    ) -> Batch:
        """Posts after ``cursor`` naming ``terms``, oldest first, at most ``limit``."""
        if self._mode(source) == "jetstream":
            with self._xrpc(source) as xrpc:
                reader = Jetstream(source.settings, xrpc.profiles, own_handle=self._own(source))
                return reader.fetch(cursor, clean_terms(terms), max(limit, 0))
        with self._xrpc(source) as xrpc:
            return self._search(source, xrpc, cursor, clean_terms(terms), max(limit, 0))

    def _search(
        self,
        source: SourceConfig,
        xrpc: Xrpc,
        cursor: dict[str, Any],
        terms: list[str],
        limit: int,
    ) -> Batch:
        stored = obj(cursor.get("terms"))
        seen = Seen(cursor.get("seen"))
        pages = int(number_setting(source.settings, "pages", DEFAULT_PAGES))
        own = self._own(source)
        # Terms take turns at leading, so a busy term does not starve the others.
        turn = cursor.get("turn")
        start = terms.index(turn) if turn in terms else 0
        order = terms[start:] + terms[:start]

        windows: dict[str, Any] = {t: stored[t] for t in terms if t in stored}
        views: list[Found] = []
        more = False
        next_turn: str | None = None

        def skip(item: Found) -> bool:
            author = obj(item.data.get("author"))
            handle = str(author.get("handle") or "").lower()
            return item.id in seen or (own is not None and handle == own)

        for term in order:
            room = limit - len(views)
            if room <= 0 or (views and xrpc.reads_spent()):
                # This term waits for the next call (which a spent rate limit delays).
                more = True
                next_turn = next_turn or term
                continue
            found, window, term_more = advance(
                Window.load(stored.get(term)),
                self._pager(xrpc, term),
                room=room,
                page_size=PAGE_SIZE,
                pages=pages,
                skip=skip,
                stop=xrpc.reads_spent,
            )
            for item in found:
                seen.add(item.id)
            views.extend(found)
            windows[term] = window.dump()
            if term_more:
                more = True
                next_turn = next_turn or term

        views.sort(key=lambda item: (item.key, item.id))
        dids = [str(obj(v.data.get("author")).get("did") or "") for v in views]
        profiles = xrpc.profiles(dids)
        posts = [from_view(v.data, profiles.get(did)) for v, did in zip(views, dids, strict=True)]
        new_cursor: dict[str, Any] = {"mode": "search", "terms": windows, "seen": seen.dump()}
        if next_turn:
            new_cursor["turn"] = next_turn
        return Batch(posts=posts, cursor=new_cursor, more=more and not xrpc.reads_spent())

    @staticmethod
    def _pager(xrpc: Xrpc, term: str) -> Pager:
        def page(
            since: str | None, upper: str | None, token: str | None, size: int
        ) -> tuple[list[Found], str | None]:
            params: dict[str, Any] = {"q": term, "sort": "latest", "limit": size}
            if since:
                params["since"] = api_time(since)
            if upper:
                params["until"] = api_time(upper)
            if token:
                params["cursor"] = token
            data = xrpc.read("app.bsky.feed.searchPosts", params)
            views = [v for v in data.get("posts") or [] if isinstance(v, dict) and v.get("uri")]
            found = [Found(key=sort_key(v), id=str(v["uri"]), data=v) for v in views]
            next_token = data.get("cursor")
            return found, str(next_token) if next_token else None

        return page

    # --- stream --------------------------------------------------------------------------

    def stream(
        self,
        source: SourceConfig,
        cursor: dict[str, Any],
        terms: list[str],
        stopping: Callable[[], bool],
    ) -> Iterator[Batch]:
        """Jetstream mode only: batches as posts naming ``terms`` are heard."""
        if self._mode(source) != "jetstream":
            raise SourceError("Bluesky streams only in Jetstream mode", permanent=True)
        with self._xrpc(source) as xrpc:
            reader = Jetstream(source.settings, xrpc.profiles, own_handle=self._own(source))
            yield from reader.stream(cursor, clean_terms(terms), stopping)

    # --- reply ---------------------------------------------------------------------------

    def reply(
        self, source: SourceConfig, post: Post, text: str, *, private: bool = False
    ) -> Delivered:
        """A reply in ``post``'s thread, or (``private``) a chat message to its author.
        Sent again with the same text, it is not posted a second time."""
        if not text.strip():
            raise SourceError("a reply needs some text", permanent=True)
        with self._xrpc(source) as xrpc:
            if private:
                return self._message(xrpc, post, text)
            return self._post_reply(xrpc, post, text)

    def _post_reply(self, xrpc: Xrpc, post: Post, text: str) -> Delivered:
        ref = post.reply_ref
        uri, cid = ref.get("uri") or post.external_id, ref.get("cid")
        if not (isinstance(uri, str) and uri.startswith("at://") and cid):
            raise SourceError("the post has no Bluesky reference to reply to", permanent=True)
        parent = {"uri": uri, "cid": cid}
        root = {"uri": ref.get("root_uri") or uri, "cid": ref.get("root_cid") or cid}
        record: dict[str, Any] = {
            "$type": POST_COLLECTION,
            "text": text,
            "createdAt": datetime.now(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "reply": {"root": root, "parent": parent},
        }
        marks = facets(text, post.author_handle, post.author_id)
        if marks:
            record["facets"] = marks
        session = xrpc.session()
        rkey = reply_rkey(post, text)
        body = {
            "repo": session.did,
            "collection": POST_COLLECTION,
            "rkey": rkey,
            "record": record,
        }
        try:
            created = xrpc.call("POST", "com.atproto.repo.createRecord", body=body)
        except XrpcError as exc:
            if exc.retry_after is not None or exc.status in (401, 403):
                raise
            # A record already under this key is the first copy of this very reply.
            existing = xrpc.get_record(session.did, POST_COLLECTION, rkey)
            if existing is None:
                raise
            created = existing
        reply_uri = str(created.get("uri") or f"at://{session.did}/{POST_COLLECTION}/{rkey}")
        return Delivered(external_id=reply_uri, url=post_url(session.handle, session.did, rkey))

    def _message(self, xrpc: Xrpc, post: Post, text: str) -> Delivered:
        did = post.author_id
        if not did or not did.startswith("did:"):
            raise SourceError("the post's author has no DID to write to", permanent=True)
        session = xrpc.session()
        convo = xrpc.call(
            "GET",
            "chat.bsky.convo.getConvoForMembers",
            params={"members": [did]},
            proxy=CHAT_PROXY,
        ).get("convo")
        convo_id = convo.get("id") if isinstance(convo, dict) else None
        if not convo_id:
            raise SourceError("Bluesky's chat service gave no conversation")
        # A retry after a lost answer: the message may be there already.
        recent = xrpc.call(
            "GET",
            "chat.bsky.convo.getMessages",
            params={"convoId": convo_id, "limit": 20},
            proxy=CHAT_PROXY,
        )
        for message in recent.get("messages") or []:
            if not isinstance(message, dict):
                continue
            sender = obj(message.get("sender"))
            if sender.get("did") == session.did and message.get("text") == text:
                return Delivered(external_id=f"{convo_id}:{message.get('id')}")
        content: dict[str, Any] = {"text": text}
        marks = facets(text, post.author_handle, did)
        if marks:
            content["facets"] = marks
        sent = xrpc.call(
            "POST",
            "chat.bsky.convo.sendMessage",
            body={"convoId": convo_id, "message": content},
            proxy=CHAT_PROXY,
        )
        return Delivered(external_id=f"{convo_id}:{sent.get('id')}")
