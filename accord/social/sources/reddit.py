"""Reddit: mentions heard through Reddit's OAuth API, answered as comments or messages.

Listening reads listings, newest first: keyword searches (``/search``, or
``/r/{sub}/search?restrict_sr=1`` in each configured subreddit) and, in the configured
subreddits, their newest comments (``/r/{sub}/comments``), which Reddit cannot search and
which are filtered here by the keywords. Each listing is a query with its own position in
the cursor: the fullnames it has seen with their ``created_utc``, and a ``floor``, the
time below which everything has been seen. A fetch pages back with ``after`` from the
newest item until it meets the floor, takes the new items oldest first up to ``limit``
(``Batch.more`` says when some wait), and raises the floor to a window below the newest
item taken (:data:`WINDOW` for a search, :data:`LISTING_WINDOW` for a listing), so a post
that Reddit lists late (with an older ``created_utc``) is still heard, and none is heard
twice. Reddit's listings end about 1,000 items deep, which bounds a fetch's paging (ten
pages per query); more than that between two fetches cannot be read back.

Authentication is an app's client id and secret (``client_credentials``), or a "script"
app's owner username and password (``password`` grant), which replying needs. The bearer
token is kept in memory until it expires and renewed when Reddit answers 401."""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import httpx

from accord.social.sources.base import Batch, Delivered, Post, SourceConfig, SourceError
from accord.social.sources.reddit_things import (
    GONE,
    WEB,
    api_answer,
    count,
    delivered,
    json_of,
    listing,
    merged,
    number,
    order,
    post_of,
    same_text,
    text_of,
)

API = "https://oauth.reddit.com"
AUTH = "https://www.reddit.com"
USER_AGENT = "server:org.accord.listening:1.0 (Accord social listening)"
PAGE = 100  # the most items a listing gives per request
MAX_PAGES = 10  # Reddit's listings end about 1,000 items deep
WINDOW = 600.0  # seconds below the newest item taken that a search looks again
LISTING_WINDOW = 60.0  # the same for a subreddit's listings, which lag less
MAX_SEEN = 1000  # fullnames remembered per query
MAX_QUERY = 512  # the longest search query Reddit takes
KARMA_TTL = 6 * 3600.0  # seconds an author's karma is kept
MAX_KARMAS = 10_000  # authors' karma kept at most
KEEP_REQUESTS = 10  # requests of the allowance karma lookups leave for listening
SUBREDDIT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]{1,20}$")
FULLNAME = re.compile(r"^t[134]_[0-9a-z]+$")


@dataclass(frozen=True)
class RedditSettings:
    """A Reddit source's settings and credentials, checked."""

    api: str
    auth: str
    subreddits: tuple[str, ...]
    keywords: tuple[str, ...]
    user_agent: str
    client_id: str
    client_secret: str
    username: str = ""
    password: str = field(default="", repr=False)

    @property
    def as_user(self) -> bool:
        """Whether the source signs in as an account (the password grant)."""
        return bool(self.username and self.password)


def settings_of(source: SourceConfig) -> RedditSettings:
    """The source's settings, or a permanent :class:`SourceError` naming what is wrong."""
    given, secrets = source.settings, source.credentials
    subreddits: list[str] = []
    for raw in _strings(given.get("subreddits"), "subreddits"):
        name = raw.strip().strip("/").removeprefix("r/")
        if not SUBREDDIT.match(name):
            raise SourceError(f"{raw!r} is not a subreddit's name", permanent=True)
        if name.lower() not in {s.lower() for s in subreddits}:
            subreddits.append(name)
    client_id = str(secrets.get("client_id") or "").strip()
    client_secret = str(secrets.get("client_secret") or "").strip()
    if not (client_id and client_secret):
        raise SourceError("Reddit needs the app's client_id and client_secret", permanent=True)
    return RedditSettings(
        api=_base_url(given.get("api") or API, "api"),
        auth=_base_url(given.get("auth") or AUTH, "auth"),
        subreddits=tuple(subreddits),
        keywords=tuple(_strings(given.get("keywords"), "keywords")),
        user_agent=str(given.get("user_agent") or USER_AGENT),
        client_id=client_id,
        client_secret=client_secret,
        username=str(secrets.get("username") or "").strip(),
        password=str(secrets.get("password") or ""),
    )


def _base_url(value: Any, name: str) -> str:
    text = str(value).strip().rstrip("/")
    if not re.match(r"^https?://[^\s/]+", text):
        raise SourceError(f"the {name} setting must be an http(s) URL", permanent=True)
    return text


def _strings(value: Any, name: str) -> list[str]:
    if value is None or value == "":
        return []
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or not all(isinstance(i, str) for i in items):
        raise SourceError(f"the {name} setting must be a list of words", permanent=True)
    return [i.strip() for i in items if i.strip()]


# --- queries and their positions --------------------------------------------------------


@dataclass(frozen=True)
class _Query:
    """One listing read newest first: its cursor key, path and parameters."""

    key: str
    path: str
    params: dict[str, str]
    signature: str  # what it asks; a change starts the query afresh (what was seen kept)
    filtered: bool  # keep only the items that mention a keyword
    window: float = WINDOW  # seconds below the newest item taken that it looks again


def _search_strings(keywords: list[str]) -> list[str]:
    """The keywords as quoted phrases joined by OR, in as few queries as Reddit takes."""
    out: list[str] = []
    current = ""
    for keyword in keywords:
        term = '"' + " ".join(keyword.replace('"', " ").split()) + '"'
        joined = f"{current} OR {term}" if current else term
        if current and len(joined) > MAX_QUERY:
            out.append(current)
            current = term
        else:
            current = joined
    return [*out, current] if current else out


def _queries(cfg: RedditSettings, keywords: list[str]) -> list[_Query]:
    out: list[_Query] = []
    for n, q in enumerate(_search_strings(keywords)):
        params = {"q": q, "sort": "new", "type": "link"}
        if not cfg.subreddits:
            out.append(_Query(f"search/{n}", "/search", params, q, False))
        within = {**params, "restrict_sr": "1"}
        for sub in cfg.subreddits:
            out.append(_Query(f"search/{sub.lower()}/{n}", f"/r/{sub}/search", within, q, False))
    for sub in cfg.subreddits:
        if not keywords:
            path = f"/r/{sub}/new"
            out.append(_Query(f"new/{sub.lower()}", path, {}, "", False, LISTING_WINDOW))
        path = f"/r/{sub}/comments"
        filtered = bool(keywords)
        out.append(_Query(f"comments/{sub.lower()}", path, {}, "", filtered, LISTING_WINDOW))
    return out


@dataclass
class _State:
    """A query's position: the fullnames seen (with their time) and the floor below which
    everything was seen (None: never read)."""

    signature: str
    floor: float | None
    seen: dict[str, float]

    @classmethod
    def load(cls, raw: Any, signature: str) -> _State:
        if not isinstance(raw, dict):
            return cls(signature, None, {})
        kept = raw.get("seen")
        pairs = kept.items() if isinstance(kept, dict) else []
        seen = {str(k): float(v) for k, v in pairs if isinstance(v, int | float)}
        floor = raw.get("floor") if raw.get("q") == signature else None
        return cls(signature, float(floor) if isinstance(floor, int | float) else None, seen)

    def dump(self) -> dict[str, Any]:
        return {"q": self.signature, "floor": self.floor, "seen": self.seen}

    def advance(self, walked: list[tuple[str, float]], window: float) -> None:
        """Remember the items taken (or passed over); the floor rises to ``window`` below
        the newest, and the oldest are forgotten past MAX_SEEN (the floor rising too)."""
        for name, created in walked:
            self.seen[name] = created
        floor = self.floor or 0.0
        if self.seen:
            floor = max(floor, max(self.seen.values()) - window)
        if len(self.seen) > MAX_SEEN:
            floor = max(floor, sorted(self.seen.values(), reverse=True)[MAX_SEEN - 1])
        self.floor = floor
        self.seen = {k: v for k, v in self.seen.items() if v >= floor}


@dataclass
class _Item:
    created: float
    order: int  # the id in base 36, to order items of the same second
    name: str
    kind: str
    data: dict[str, Any]
    query: int


def _matcher(keywords: list[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(k) for k in sorted(keywords, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)


def _walk(
    items: list[_Item], queries: list[_Query], limit: int, keywords: list[str]
) -> tuple[list[_Item], dict[int, list[tuple[str, float]]], bool]:
    """The items to return, oldest first, up to ``limit`` (the others of filtered queries
    passed over); what each query walked through; whether more are waiting."""
    matches = _matcher(keywords).search if keywords else None
    taken: list[_Item] = []
    names: set[str] = set()
    walked: dict[int, list[tuple[str, float]]] = defaultdict(list)
    for item in sorted(items, key=lambda i: (i.created, i.order)):
        text = text_of(item.kind, item.data)
        wanted = item.name not in names and (
            not queries[item.query].filtered or (matches is not None and bool(matches(text)))
        )
        if wanted and len(taken) >= max(1, limit):
            return taken, walked, True
        walked[item.query].append((item.name, item.created))
        if wanted:
            taken.append(item)
            names.add(item.name)
    return taken, walked, False


# --- the connector -----------------------------------------------------------------------


class RedditConnector:
    """Reads mentions from Reddit's listings and answers them (see the module's docs).
    Keeps only access tokens and authors' karma between calls."""

    kind = "reddit"

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._timeout = timeout
        self._transport = transport
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}
        self._karmas: dict[tuple[str, str], tuple[int | None, float]] = {}  # kept a while
        self._lock = threading.Lock()

    @contextmanager
    def _session(self, cfg: RedditSettings) -> Iterator[_Session]:
        headers = {"User-Agent": cfg.user_agent}
        with httpx.Client(
            timeout=self._timeout, transport=self._transport, headers=headers
        ) as http:
            yield _Session(self, cfg, http)

    def _token(self, session: _Session, *, renew: bool) -> str:
        cfg = session.cfg
        key = "\0".join((cfg.auth, cfg.client_id, cfg.client_secret, cfg.username, cfg.password))
        with self._lock:
            held = self._tokens.get(key)
            if held and not renew and held[1] > self._clock() + 30:
                return held[0]
        value, lifetime = session.grant()
        with self._lock:
            self._tokens[key] = (value, self._clock() + lifetime)
        return value

    # --- listening ----------------------------------------------------------------------

    def fetch(
        self, source: SourceConfig, cursor: dict[str, Any], terms: list[str], limit: int
    ) -> Batch:
        """At most ``limit`` new submissions and comments, oldest first. The keywords are
        the source's ``keywords`` and the listening ``terms`` together; without any, the
        configured subreddits are read whole. ``followers`` is the author's karma (link
        plus comment karma): Reddit has no followers to count."""
        cfg = settings_of(source)
        keywords = merged(cfg.keywords, terms)
        queries = _queries(cfg, keywords)
        if not queries:
            raise SourceError("a Reddit source needs keywords or subreddits", permanent=True)
        saved = cursor.get("queries")
        saved = saved if isinstance(saved, dict) else {}
        states = [_State.load(saved.get(q.key), q.signature) for q in queries]
        with self._session(cfg) as session:
            items: list[_Item] = []
            for n, (query, state) in enumerate(zip(queries, states, strict=True)):
                items.extend(self._scan(session, query, state, n))
            taken, walked, more = _walk(items, queries, limit, keywords)
            karma = self._karma(session, {str(i.data.get("author") or "") for i in taken})
        for n, (query, state) in enumerate(zip(queries, states, strict=True)):
            state.advance(walked[n], query.window)
        posts = [post_of(i.kind, i.data, karma.get(str(i.data.get("author") or ""))) for i in taken]
        new_cursor = {"queries": {q.key: s.dump() for q, s in zip(queries, states, strict=True)}}
        return Batch(posts=posts, cursor=new_cursor, more=more)

    def _scan(self, session: _Session, query: _Query, state: _State, n: int) -> list[_Item]:
        """The query's items newer than its floor and not seen. A query never read takes
        its first page, and its floor becomes that page's oldest item (0 when the page
        is the whole listing: whatever appears in it later is new)."""
        out: list[_Item] = []
        after: str | None = None
        oldest: float | None = None
        for _ in range(MAX_PAGES):
            params = {**query.params, "limit": str(PAGE), "raw_json": "1"}
            if after:
                params.update(after=after, count=str(len(out)))
            children, after = listing(session.call("GET", query.path, params=params))
            reached = False
            for kind, data in children:
                created = number(data.get("created_utc")) or 0.0
                name = str(data.get("name") or "")
                if kind not in ("t1", "t3") or not FULLNAME.match(name):
                    continue
                oldest = created if oldest is None else min(oldest, created)
                if state.floor is not None and created < state.floor:
                    reached = True
                    break
                if name not in state.seen:
                    out.append(_Item(created, order(name), name, kind, data, n))
            if reached or not after or state.floor is None:
                break
        if state.floor is None:  # older pages are history; a short listing is all new
            state.floor = oldest if after and oldest is not None else 0.0
        return out

    def _karma(self, session: _Session, authors: set[str]) -> dict[str, int | None]:
        """Each author's link plus comment karma; None for suspended or unknown accounts.
        Known karma is kept for KARMA_TTL; asking stops (the rest left unknown) when the
        request allowance runs low or Reddit asks to slow down."""
        out: dict[str, int | None] = {}
        now = self._clock()
        for name in sorted(authors - GONE):
            key = (session.cfg.api, name.lower())
            with self._lock:
                held = self._karmas.get(key)
            if held and held[1] > now:
                out[name] = held[0]
                continue
            if session.remaining is not None and session.remaining < KEEP_REQUESTS:
                break
            try:
                path = f"/user/{quote(name)}/about"
                response = session.call("GET", path, params={"raw_json": "1"}, ok=(403, 404))
                body = json_of(response) if response.status_code == 200 else {}
            except SourceError:
                break
            data = body.get("data")
            if not isinstance(data, dict) or data.get("is_suspended"):
                data = {}
            link, comment = count(data.get("link_karma")), count(data.get("comment_karma"))
            out[name] = None if link is None or comment is None else link + comment
            with self._lock:
                if len(self._karmas) >= MAX_KARMAS:
                    self._karmas.clear()
                self._karmas[key] = (out[name], now + KARMA_TTL)
        return out

    # --- replying -----------------------------------------------------------------------

    def reply(
        self, source: SourceConfig, post: Post, text: str, *, private: bool = False
    ) -> Delivered:
        """A comment under ``post`` (``POST /api/comment``), or a private message to its
        author (``POST /api/compose``). Signs in as the account (password grant). Before
        posting, the account's recent comments (or sent messages) are read: the same text
        already there answers a retry instead of posting it twice."""
        cfg = settings_of(source)
        if not cfg.as_user:
            why = "replying on Reddit needs the username and password of a script app's account"
            raise SourceError(why, permanent=True)
        body = text.strip()
        if not body:
            raise SourceError("a reply needs some text", permanent=True)
        with self._session(cfg) as session:
            if private:
                return self._message(session, post, body)
            thing = str(post.reply_ref.get("fullname") or post.external_id)
            if not FULLNAME.match(thing):
                raise SourceError(f"{thing!r} is not a Reddit fullname", permanent=True)
            done = self._commented(session, thing, body)
            if done:
                return done
            form = {"thing_id": thing, "text": body, "api_type": "json"}
            answer = api_answer(session.call("POST", "/api/comment", data=form))
            things = (answer.get("data") or {}).get("things") or []
            data = things[0].get("data") if things and isinstance(things[0], dict) else None
            if not isinstance(data, dict) or not data.get("name"):
                raise SourceError("Reddit took the comment but did not say its name")
            return delivered(data)

    def _commented(self, session: _Session, thing: str, body: str) -> Delivered | None:
        """Our account's comment with this text under ``thing``, among its latest."""
        path = f"/user/{quote(session.cfg.username)}/comments"
        params = {"sort": "new", "limit": str(PAGE), "raw_json": "1"}
        response = session.call("GET", path, params=params, ok=(404,))
        if response.status_code != 200:
            return None
        children, _ = listing(response)
        for _kind, data in children:
            if data.get("parent_id") == thing and same_text(str(data.get("body") or ""), body):
                return delivered(data)
        return None

    def _message(self, session: _Session, post: Post, body: str) -> Delivered:
        to = post.author_handle.strip().removeprefix("/").removeprefix("u/")
        if to in GONE:
            raise SourceError("the author's Reddit account is gone", permanent=True)
        about = post.title or str(post.raw.get("link_title") or "") or "your post on Reddit"
        subject = f"Re: {about}"[:100]
        sent = self._sent(session, to, subject, body)
        if sent:
            return sent
        form = {"to": to, "subject": subject, "text": body, "api_type": "json"}
        api_answer(session.call("POST", "/api/compose", data=form))
        sent = self._sent(session, to, subject, body)
        if sent:
            return sent
        digest = hashlib.sha256(f"{to.lower()}\0{subject}\0{body}".encode()).hexdigest()[:16]
        return Delivered(external_id=f"t4:{to}:{digest}", url=f"{WEB}/message/sent")

    def _sent(self, session: _Session, to: str, subject: str, body: str) -> Delivered | None:
        """The message with this subject and text sent to ``to`` lately, if any."""
        params = {"limit": str(PAGE), "raw_json": "1"}
        children, _ = listing(session.call("GET", "/message/sent", params=params))
        for _kind, data in children:
            same_dest = str(data.get("dest") or "").lower() == to.lower()
            same_subject = same_text(str(data.get("subject") or ""), subject)
            if same_dest and same_subject and same_text(str(data.get("body") or ""), body):
                url = f"{WEB}/message/messages/{data.get('id')}"
                return Delivered(external_id=str(data.get("name")), url=url)
        return None


class _Session:
    """One fetch's or reply's HTTP client, with the rate-limit headers last seen."""

    def __init__(self, owner: RedditConnector, cfg: RedditSettings, http: httpx.Client) -> None:
        self.owner = owner
        self.cfg = cfg
        self.http = http
        self.remaining: float | None = None
        self.reset: float | None = None

    def grant(self) -> tuple[str, float]:
        """A new access token and its lifetime in seconds."""
        cfg = self.cfg
        form = (
            {"grant_type": "password", "username": cfg.username, "password": cfg.password}
            if cfg.as_user
            else {"grant_type": "client_credentials"}
        )
        try:
            response = self.http.post(
                f"{cfg.auth}/api/v1/access_token",
                data=form,
                auth=(cfg.client_id, cfg.client_secret),
            )
        except httpx.HTTPError as exc:
            raise SourceError(f"Reddit could not be reached: {exc}") from exc
        self._note(response)
        if response.status_code in (400, 401, 403):
            why = "Reddit refused the app's client_id and client_secret"
            raise SourceError(why, permanent=True)
        if response.status_code >= 300:
            raise self._error(response, "an access token")
        body = json_of(response)
        error = body.get("error")
        if error == "invalid_grant":
            why = "Reddit refused the account's username and password"
            raise SourceError(why, permanent=True)
        if error or not body.get("access_token"):
            raise SourceError(f"Reddit gave no access token: {error}", permanent=bool(error))
        return str(body["access_token"]), number(body.get("expires_in")) or 3600.0

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        data: dict[str, str] | None = None,
        ok: tuple[int, ...] = (),
    ) -> httpx.Response:
        """An API request with the bearer token (renewed once on 401). Statuses in ``ok``
        are returned; other failures raise :class:`SourceError`."""
        for attempt in (0, 1):
            if self.remaining is not None and self.remaining < 1:
                why = "Reddit's allowance of requests is used up until its window resets"
                raise SourceError(why, retry_after=self.reset or 60.0)
            token = self.owner._token(self, renew=attempt == 1)
            headers = {"Authorization": f"bearer {token}"}
            try:
                response = self.http.request(
                    method, self.cfg.api + path, params=params, data=data, headers=headers
                )
            except httpx.HTTPError as exc:
                raise SourceError(f"Reddit could not be reached: {exc}") from exc
            self._note(response)
            if response.status_code != 401 or attempt == 1:
                break
        if response.status_code < 300 or response.status_code in ok:
            return response
        raise self._error(response, path)

    def _note(self, response: httpx.Response) -> None:
        remaining = number(response.headers.get("x-ratelimit-remaining"))
        reset = number(response.headers.get("x-ratelimit-reset"))
        if remaining is not None:
            self.remaining = remaining
        if reset is not None:
            self.reset = reset

    def _error(self, response: httpx.Response, what: str) -> SourceError:
        status = response.status_code
        if status == 429:
            wait = number(response.headers.get("retry-after")) or self.reset or 60.0
            return SourceError("Reddit asked to slow down (429)", retry_after=wait)
        if status == 401:
            return SourceError("Reddit refused the access token it gave", permanent=True)
        if status == 403:
            why = f"Reddit forbids {what} (a private or banned subreddit, or a missing scope)"
            return SourceError(why, permanent=True)
        if status == 404:
            return SourceError(f"Reddit has nothing at {what}", permanent=True)
        if status in (408, 409) or status >= 500:
            return SourceError(f"Reddit answered {status} for {what}")
        return SourceError(f"Reddit answered {status} for {what}", permanent=True)


# --- what Reddit answers ----------------------------------------------------------------
