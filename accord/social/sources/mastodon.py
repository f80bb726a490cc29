"""The Mastodon connector: hears a brand's mentions on a Mastodon instance (hashtag
timelines, full-text search, the streaming API) and answers them.

Settings: ``instance`` (its web address, e.g. ``https://mastodon.social``), ``hashtags``
(a list), ``keywords`` (a list searched with ``/api/v2/search``; when absent, the
listening terms), ``stream`` (whether the poller should stream), and optionally
``domain`` (the accounts' domain when it is not the instance's host), ``streaming`` (the
streaming server's address when it is not the instance) and ``pages`` (search requests
per keyword and call, default 5). Credentials: ``access_token`` (hashtag timelines may be
read without one; search, replies and direct messages need it).

Positions, in the cursor: per hashtag the id of the last status returned (timelines
asked with ``min_id`` answer the statuses just after it, newest first within the page,
with a ``Link`` header to the next ones); per keyword a
:class:`~accord.social.sources.positions.Window` (search answers newest first only).
Statuses are identified by their ``uri``, the same on every instance; one heard under
two hashtags or keywords is returned once, and the token's own account is not heard. A
reply's ``reply_to`` is the ``uri`` of the status it answers, asked for by local id
(``GET /api/v1/statuses?id[]=``, Mastodon 4.3 and later; unknown on older instances);
Mastodon gives no thread root without a further request per status, so it is left
unknown.

Streaming reads ``/api/v1/streaming/hashtag`` per hashtag (and ``/public``, filtered by
the keywords, when there are keywords) as Server-Sent Events in threads, moving the same
cursor; when a connection drops, the caller fetches from the last cursor to fill the
gap before streaming again. Replies carry an ``Idempotency-Key``."""

from __future__ import annotations

import hashlib
import json
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from accord.social.sources.base import Batch, Delivered, Post, SourceConfig, SourceError
from accord.social.sources.mastodon_api import (
    USER_AGENT,
    Api,
    Gate,
    MastodonError,
    error_of,
    http_url,
    id_key,
    id_of,
    newer,
    obj,
    qualified,
    statuses,
    to_post,
)
from accord.social.sources.mastodon_text import html_to_text, links, sse_events
from accord.social.sources.positions import (
    Found,
    Pager,
    Seen,
    Window,
    advance,
    clean_terms,
    mentions_any,
    number_setting,
)

PAGE = 40  # the largest page timelines and search give
DEFAULT_PAGES = 5
MANY_STATUSES = 20  # ids one GET /api/v1/statuses takes
# What a stream's reader hands over: (hashtag, status, None) for an update, then
# (hashtag, None, an error or None) when its connection ends.
Heard = tuple[str | None, dict[str, Any] | None, SourceError | None]


def _list(value: Any) -> list[str]:
    """A setting holding a list (or a string of words)."""
    if isinstance(value, str):
        value = value.replace(",", " ").split()
    return [str(v) for v in value] if isinstance(value, list) else []


class MastodonConnector:
    """Fetches, streams and replies on one Mastodon instance. The object keeps
    rate-limit waits and who the token belongs to between calls."""

    kind = "mastodon"

    def __init__(self, *, timeout: float = 15.0, stream_timeout: float = 90.0) -> None:
        self.timeout = timeout
        self.stream_timeout = stream_timeout  # no byte for this long: the stream dropped
        self._gate = Gate()

    # --- what a source says --------------------------------------------------------------

    @staticmethod
    def _hashtags(source: SourceConfig) -> list[str]:
        return clean_terms(t.lstrip("#") for t in _list(source.settings.get("hashtags")))

    @staticmethod
    def _keywords(source: SourceConfig, terms: list[str], api: Api) -> list[str]:
        given = source.settings.get("keywords")
        words = clean_terms(_list(given) if given is not None else terms)
        if words and not api.token:
            if given:
                raise SourceError("Mastodon search needs an access token", permanent=True)
            return []  # the listening terms are searched only with a token
        return words

    @staticmethod
    def _domain(source: SourceConfig, api: Api) -> str:
        return str(source.settings.get("domain") or urlsplit(api.base).hostname or "")

    def _own(self, api: Api, domain: str) -> str | None:
        """The token's account (``acct`` qualified), asked once per token: its statuses
        are not heard. A token without the scope to say (403) hears them."""
        if not api.token:
            return None
        key = (api.base, hashlib.sha256(api.token.encode()).hexdigest())
        if key not in self._gate.accounts:
            try:
                data, _ = api.get("/api/v1/accounts/verify_credentials")
            except MastodonError as exc:
                if exc.status != 403:
                    raise  # a token the instance does not know is a mistake to fix
                data = {}
            self._gate.accounts[key] = qualified(str(obj(data).get("acct") or ""), domain)
        return self._gate.accounts[key].lower() or None

    # --- fetch ---------------------------------------------------------------------------

    def fetch(
        self, source: SourceConfig, cursor: dict[str, Any], terms: list[str], limit: int
    ) -> Batch:
        """Statuses after ``cursor`` under the hashtags and keywords, oldest first, at
        most about ``limit``."""
        api = Api(source, self._gate, self.timeout)
        try:
            return self._fetch(source, api, cursor, terms, max(limit, 0))
        finally:
            api.close()

    def _fetch(
        self, source: SourceConfig, api: Api, cursor: dict[str, Any], terms: list[str], limit: int
    ) -> Batch:
        domain = self._domain(source, api)
        own = self._own(api, domain)
        seen = Seen(cursor.get("seen"))
        tags_at = {k: str(v) for k, v in obj(cursor.get("tags")).items()}
        windows = obj(cursor.get("search"))
        hashtags = self._hashtags(source)
        keywords = self._keywords(source, terms, api)
        pages = int(number_setting(source.settings, "pages", DEFAULT_PAGES))
        heard: list[dict[str, Any]] = []
        more = False

        def skip(status: dict[str, Any]) -> bool:
            inner = obj(status.get("reblog")) or status
            uri = str(inner.get("uri") or "")
            if not uri or uri in seen:
                return True
            acct = qualified(str(obj(inner.get("account")).get("acct") or ""), domain)
            return own is not None and acct.lower() == own

        def keep(status: dict[str, Any]) -> None:
            inner = obj(status.get("reblog")) or status
            seen.add(str(inner["uri"]))
            heard.append(inner)

        new_tags: dict[str, str] = {}
        for tag in hashtags:
            room = limit - len(heard)
            if room <= 0 or (heard and api.spent()):
                more = True
                if tag in tags_at:
                    new_tags[tag] = tags_at[tag]
                continue
            last, tag_more = self._tag(api, tag, tags_at.get(tag), room, pages, skip, keep)
            new_tags[tag] = last
            more = more or tag_more

        new_windows: dict[str, Any] = {k: windows[k] for k in keywords if k in windows}
        for word in keywords:
            room = limit - len(heard)
            if room <= 0 or (heard and api.spent()):
                more = True
                continue
            found, window, word_more = advance(
                Window.load(windows.get(word)),
                self._search_pager(api, word),
                room=room,
                page_size=PAGE,
                pages=pages,
                skip=lambda item: skip(item.data),
                stop=api.spent,
            )
            for item in found:
                keep(item.data)
            new_windows[word] = window.dump()
            more = more or word_more

        heard.sort(key=lambda s: (str(s.get("created_at") or ""), id_key(str(s.get("id")))))
        parents = self._parents(api, heard)
        posts = [to_post(s, domain, parents) for s in heard]
        new_cursor = {"tags": new_tags, "search": new_windows, "seen": seen.dump()}
        return Batch(posts=posts, cursor=new_cursor, more=more and not api.spent())

    def _tag(
        self,
        api: Api,
        tag: str,
        last: str | None,
        room: int,
        pages: int,
        skip: Callable[[dict[str, Any]], bool],
        keep: Callable[[dict[str, Any]], None],
    ) -> tuple[str, bool]:
        """Walk one hashtag's timeline forward from ``last``; the new last id and
        whether more is waiting."""
        path = f"/api/v1/timelines/tag/{quote(tag, safe='')}"
        if last is None:
            # Listening starts now: the newest page, and everything after it.
            data, _ = api.get(path, {"limit": max(1, min(PAGE, room))})
            page = sorted(statuses(data), key=lambda s: id_key(str(s["id"])))
            for status in page:
                if not skip(status):
                    keep(status)
            # No status yet: whatever comes later is new.
            return (str(page[-1]["id"]) if page else "0"), False
        kept = 0
        params: list[tuple[str, str]] = [("min_id", last)]
        for done in range(pages):
            if done and api.spent():
                return last, False
            size = max(1, min(PAGE, room - kept))
            asked = [(k, v) for k, v in params if k != "limit"] + [("limit", str(size))]
            data, response = api.get(path, asked)
            page = sorted(statuses(data), key=lambda s: id_key(str(s["id"])))
            for status in page:
                if not newer(str(status["id"]), last):
                    continue
                last = str(status["id"])
                if not skip(status):
                    keep(status)
                    kept += 1
            if len(page) < size:
                return last, False  # caught up
            if kept >= room:
                return last, True
            # The statuses after these are the ``prev`` link's (min_id: this page's
            # newest); a link elsewhere is not followed.
            prev = urlsplit(links(response.headers.get("link")).get("prev") or "")
            same = f"{prev.scheme}://{prev.netloc}{prev.path}" == api.base + path
            params = parse_qsl(prev.query) if same and "min_id=" in prev.query else []
            if not params:
                params = [("min_id", last)]
        return last, True

    @staticmethod
    def _search_pager(api: Api, word: str) -> Pager:
        def page(
            since: str | None, upper: str | None, token: str | None, size: int
        ) -> tuple[list[Found], str | None]:
            params: dict[str, Any] = {
                "q": word,
                "type": "statuses",
                "resolve": "false",
                "limit": size,
            }
            if since:
                params["min_id"] = id_of(since)
            if upper:
                params["max_id"] = id_of(upper)
            offset = int(token or 0)
            if offset:
                params["offset"] = offset
            data, _ = api.get("/api/v2/search", params)
            results = statuses(obj(data).get("statuses"))
            found = [Found(id_key(str(s["id"])), str(s["id"]), s) for s in results]
            return found, (str(offset + size) if results else None)

        return page

    def _parents(self, api: Api, heard: list[dict[str, Any]]) -> dict[str, str]:
        """The ``uri`` of the statuses these answer, by local id (best effort: an
        instance without ``GET /api/v1/statuses?id[]=`` leaves them unknown)."""
        known = {str(s["id"]): str(s["uri"]) for s in heard}
        wanted = [
            str(s["in_reply_to_id"])
            for s in heard
            if s.get("in_reply_to_id") and str(s["in_reply_to_id"]) not in known
        ]
        wanted = list(dict.fromkeys(wanted))
        for start in range(0, len(wanted), MANY_STATUSES):
            chunk = wanted[start : start + MANY_STATUSES]
            try:
                data, _ = api.get("/api/v1/statuses", [("id[]", i) for i in chunk])
            except SourceError:
                break
            for status in statuses(data):
                known[str(status["id"])] = str(status["uri"])
        return known

    # --- stream --------------------------------------------------------------------------

    def stream(
        self,
        source: SourceConfig,
        cursor: dict[str, Any],
        terms: list[str],
        stopping: Callable[[], bool],
    ) -> Iterator[Batch]:
        """Statuses as the streaming API sends them (``event: update``), a batch each,
        with the cursor after it: one connection per hashtag, and the public stream
        filtered by the keywords when there are keywords (as :meth:`fetch` searches
        them). Ends at ``stopping()`` or when a connection drops."""
        api = Api(source, self._gate, self.timeout)
        try:
            domain = self._domain(source, api)
            own = self._own(api, domain)
            keywords = self._keywords(source, terms, api)
            wanted: list[tuple[str | None, str, dict[str, str]]] = [
                (tag, "/api/v1/streaming/hashtag", {"tag": tag}) for tag in self._hashtags(source)
            ]
            if keywords:
                wanted.append((None, "/api/v1/streaming/public", {}))
            base = http_url(source.settings.get("streaming") or api.base, "streaming address")
            heard: queue.Queue[Heard] = queue.Queue()
            readers = [
                _Reader(base + path, params, tag, api.token, heard, self.stream_timeout)
                for tag, path, params in wanted
            ]
            state = _StreamState(cursor, keywords)
            try:
                for reader in readers:
                    reader.start()
                yield from self._listen(api, heard, state, domain, own, stopping)
            finally:
                for reader in readers:
                    reader.stop()
        finally:
            api.close()

    def _listen(
        self,
        api: Api,
        heard: queue.Queue[Heard],
        state: _StreamState,
        domain: str,
        own: str | None,
        stopping: Callable[[], bool],
    ) -> Iterator[Batch]:
        """Batches from what the readers hand over, until ``stopping()`` or an end (with
        nothing to listen to, it waits for ``stopping()``)."""
        while not stopping():
            try:
                tag, status, error = heard.get(timeout=0.25)
            except queue.Empty:
                continue
            if error is not None:
                raise error
            if status is None:
                return  # a connection dropped: the caller fetches, then streams again
            taken = state.take(tag, status, domain, own)
            if taken is not None:
                parents = self._parents(api, [taken]) if taken.get("in_reply_to_id") else {}
                yield Batch(posts=[to_post(taken, domain, parents)], cursor=state.dump())

    # --- reply ---------------------------------------------------------------------------

    def reply(
        self, source: SourceConfig, post: Post, text: str, *, private: bool = False
    ) -> Delivered:
        """A status answering ``post`` (``private``: visible to its author only), with
        an ``Idempotency-Key`` from the post and the text, so that a retry within the
        hour the instance keeps keys for returns the first status instead of a second."""
        api = Api(source, self._gate, self.timeout)
        try:
            if not api.token:
                raise SourceError("Mastodon replies need an access token", permanent=True)
            status_id = post.reply_ref.get("id")
            if not status_id:
                raise SourceError("the post has no Mastodon status id to reply to", permanent=True)
            acct = str(post.reply_ref.get("acct") or post.author_handle).lstrip("@")
            body_text = text if f"@{acct}".lower() in text.lower() else f"@{acct} {text}"
            visibility = "direct" if private else "public"
            key = hashlib.sha256(
                f"{post.external_id}\n{visibility}\n{body_text}".encode()
            ).hexdigest()
            body = {
                "status": body_text,
                "in_reply_to_id": str(status_id),
                "visibility": visibility,
            }
            response = api.send(
                "POST", "/api/v1/statuses", body=body, headers={"Idempotency-Key": key}
            )
            created = obj(response.json())
            uri = str(created.get("uri") or created.get("url") or created.get("id") or "")
            return Delivered(external_id=uri, url=created.get("url") or None)
        finally:
            api.close()


class _StreamState:
    """The cursor as a stream moves it: per-tag last ids, keyword marks, seen uris."""

    def __init__(self, cursor: dict[str, Any], keywords: list[str]) -> None:
        self.tags = {k: str(v) for k, v in obj(cursor.get("tags")).items()}
        self.search = dict(obj(cursor.get("search")))
        self.seen = Seen(cursor.get("seen"))
        self.keywords = keywords

    def dump(self) -> dict[str, Any]:
        """The cursor as the stream has moved it."""
        return {"tags": dict(self.tags), "search": dict(self.search), "seen": self.seen.dump()}

    def take(
        self, tag: str | None, wrapper: dict[str, Any], domain: str, own: str | None
    ) -> dict[str, Any] | None:
        """The status to return for one ``update`` (None: not wanted, or heard)."""
        status = obj(wrapper.get("reblog")) or wrapper
        if not status.get("uri") or not status.get("id"):
            return None
        if tag is not None:
            if newer(str(wrapper["id"]), self.tags.get(tag)):
                self.tags[tag] = str(wrapper["id"])
        else:
            text = html_to_text(str(status.get("content") or ""))
            matched = [k for k in self.keywords if mentions_any(text, [k])]
            if not matched:
                return None
            for word in matched:
                window = Window.load(self.search.get(word))
                if not window.uppers:  # a backlog being walked keeps its own place
                    item = Found(id_key(str(status["id"])), str(status["id"]), status)
                    if window.is_new(item, None):
                        window.consumed([item])
                    self.search[word] = window.dump()
        acct = qualified(str(obj(status.get("account")).get("acct") or ""), domain)
        if str(status["uri"]) in self.seen or (own is not None and acct.lower() == own):
            return None
        self.seen.add(str(status["uri"]))
        return status


class _Reader(threading.Thread):
    """One streaming connection, read in a thread: each ``update``'s status goes to
    ``into`` as ``(tag, status, None)``; the end as ``(tag, None, error or None)``."""

    def __init__(
        self,
        url: str,
        params: dict[str, str],
        tag: str | None,
        token: str,
        into: queue.Queue[Heard],
        read_timeout: float,
    ) -> None:
        super().__init__(daemon=True, name=f"mastodon-stream-{tag or 'public'}")
        self.url, self.params, self.tag, self.into = url, params, tag, into
        headers = {"User-Agent": USER_AGENT, "Accept": "text/event-stream"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.http = httpx.Client(
            headers=headers,
            timeout=httpx.Timeout(15.0, read=read_timeout),
            follow_redirects=False,
        )
        self.stopped = threading.Event()

    def run(self) -> None:
        """Read the stream until it ends or :meth:`stop` is called."""
        error: SourceError | None = None
        try:
            with self.http.stream("GET", self.url, params=self.params) as response:
                if response.status_code >= 300:
                    response.read()
                    error = error_of(response, f"the stream {urlsplit(self.url).path}")
                    return
                for event, data in sse_events(response.iter_lines()):
                    if self.stopped.is_set():
                        return
                    if event != "update":
                        continue
                    try:
                        status = json.loads(data)
                    except ValueError:
                        continue
                    if isinstance(status, dict):
                        self.into.put((self.tag, status, None))
        except httpx.HTTPError:
            error = None  # a dropped connection ends the stream; the caller resumes
        except Exception as exc:  # anything else ends it too, reported (not permanent)
            error = SourceError(f"the Mastodon stream failed: {exc}")
        finally:
            self.http.close()
            if not self.stopped.is_set():
                self.into.put((self.tag, None, error))

    def stop(self) -> None:
        """Stop at the next line the server sends (a heartbeat at the latest)."""
        self.stopped.set()
