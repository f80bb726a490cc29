"""Reddit's API on loopback, answering as Reddit does: the OAuth token endpoint (basic
auth, ``client_credentials`` and ``password`` grants), listings newest first with
``after``/``before`` paging (text HTML-escaped unless ``raw_json=1``), search, a
subreddit's new comments, users' ``about``, ``/api/comment`` and ``/api/compose`` with
their ``{"json": {"errors": [...]}}`` answers, and the ``x-ratelimit-*`` headers. Things
are built from the real payloads in ``tests/social/fixtures``.

A test adds submissions, comments and users, reads the replies and messages received,
and can make the server throttle (429), run out of allowance, refuse a comment with
RATELIMIT, expire its tokens, or take a comment and lose the answer."""

from __future__ import annotations

import base64
import copy
import json
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from accord.social.sources.base import SourceConfig
from tests.helpers import free_port

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
EPOCH = 1_709_913_600.0  # the first thing's created_utc; each new one is 7 s later
GONE = {"[deleted]", "[removed]"}
Answer = tuple[int, dict[str, str], Any]


def fixture(name: str) -> dict[str, Any]:
    """A fixture's JSON (a thing as Reddit returns it)."""
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while number:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
    return out or "0"


def escaped(text: str) -> str:
    """Reddit's escaping of text in JSON answered without ``raw_json=1``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class RedditServer:
    port: int
    client_id: str = "accord-app-id"
    client_secret: str = "accord-app-secret-0123456789"
    username: str = "accord_support"
    password: str = "correct horse battery staple"
    token_lifetime: int = 3600
    things: list[dict[str, Any]] = field(default_factory=list)  # t3 and t1 children
    users: dict[str, dict[str, Any]] = field(default_factory=dict)  # by lower-case name
    messages: list[dict[str, Any]] = field(default_factory=list)  # t4 children we sent
    private: set[str] = field(default_factory=set)  # subreddits answering 403
    grants: list[str] = field(default_factory=list)  # the grant types of tokens given
    tokens: dict[str, bool] = field(default_factory=dict)  # token: signed in as the user
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    throttle: int = 0  # the next N API requests answered 429
    remaining: float = 598.0  # what x-ratelimit-remaining says
    reset: int = 420  # what x-ratelimit-reset says
    comment_ratelimit: str | None = None  # the next comment refused with this message
    lose_next_post: bool = False  # take the next comment or message, then answer 502
    lock: threading.RLock = field(default_factory=threading.RLock)
    clock: float = EPOCH
    serial: int = 2_900_000_000

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def source(self, *, user: bool = True, **settings: Any) -> SourceConfig:
        """A Reddit source using this server for both the API and the token endpoint."""
        credentials = {"client_id": self.client_id, "client_secret": self.client_secret}
        if user:
            credentials.update(username=self.username, password=self.password)
        return SourceConfig("reddit", {"api": self.url, "auth": self.url, **settings}, credentials)

    # --- what a test adds and reads ------------------------------------------------------

    def _next(self, created: float | None) -> tuple[str, float]:
        with self.lock:
            self.serial += 1
            self.clock += 7
            return base36(self.serial), self.clock if created is None else created

    def submit(
        self,
        subreddit: str,
        title: str,
        selftext: str = "",
        *,
        author: str = "quiet_harbor_42",
        created: float | None = None,
        score: int = 1,
        num_comments: int = 0,
    ) -> dict[str, Any]:
        """A new self post; returns its data."""
        ident, when = self._next(created)
        child = fixture("reddit_submission.json")
        slug = re.sub(r"[^a-z0-9]+", "_", title.lower()).strip("_")[:50]
        permalink = f"/r/{subreddit}/comments/{ident}/{slug}/"
        child["data"].update(
            id=ident,
            name=f"t3_{ident}",
            subreddit=subreddit,
            subreddit_name_prefixed=f"r/{subreddit}",
            title=title,
            selftext=selftext,
            selftext_html=None,
            author=author,
            author_fullname=None if author in GONE else f"t2_{self.user(author)['id']}",
            created=when,
            created_utc=when,
            score=score,
            ups=score,
            num_comments=num_comments,
            permalink=permalink,
            url="https://www.reddit.com" + permalink,
            domain=f"self.{subreddit}",
        )
        with self.lock:
            self.things.append(child)
        return dict(child["data"])

    def comment(
        self,
        parent: dict[str, Any],
        body: str,
        *,
        author: str = "maple_and_rust",
        created: float | None = None,
    ) -> dict[str, Any]:
        """A new comment under ``parent`` (a submission's or comment's data)."""
        ident, when = self._next(created)
        link = parent if parent["name"].startswith("t3_") else self.thing(parent["link_id"])
        child = fixture("reddit_comment.json")
        child["data"].update(
            id=ident,
            name=f"t1_{ident}",
            subreddit=link["subreddit"],
            subreddit_name_prefixed=f"r/{link['subreddit']}",
            link_title=link["title"],
            link_author=link["author"],
            link_id=link["name"],
            link_permalink="https://www.reddit.com" + link["permalink"],
            link_url=link["url"],
            parent_id=parent["name"],
            body=body,
            body_html=None,
            author=author,
            author_fullname=None if author in GONE else f"t2_{self.user(author)['id']}",
            created=when,
            created_utc=when,
            score=1,
            ups=1,
            permalink=f"{link['permalink']}{ident}/",
        )
        with self.lock:
            self.things.append(child)
        return dict(child["data"])

    def user(
        self, name: str, *, link_karma: int = 120, comment_karma: int = 30, suspended: bool = False
    ) -> dict[str, Any]:
        """The account named ``name``, made with this karma when it does not exist."""
        with self.lock:
            if name.lower() not in self.users:
                self.serial += 1
                data = fixture("reddit_user_about.json")["data"]
                data.update(
                    name=name,
                    id=base36(self.serial),
                    link_karma=link_karma,
                    comment_karma=comment_karma,
                    total_karma=link_karma + comment_karma,
                )
                if suspended:
                    data = {"name": name, "id": data["id"], "is_suspended": True}
                self.users[name.lower()] = data
            return self.users[name.lower()]

    def thing(self, name: str) -> dict[str, Any]:
        with self.lock:
            return next(t["data"] for t in self.things if t["data"]["name"] == name)

    def replies(self) -> list[dict[str, Any]]:
        """The comments our account posted."""
        with self.lock:
            return [t["data"] for t in self.things if t["data"]["author"] == self.username]

    def expire_tokens(self) -> None:
        with self.lock:
            self.tokens.clear()

    def asked(self, path: str) -> list[dict[str, str]]:
        """The parameters of each request made to ``path``."""
        with self.lock:
            return [params for _, p, params in self.requests if p == path]

    # --- the API ---------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: dict[str, str], body: str) -> Answer:
        split = urlsplit(target)
        path = unquote(split.path).rstrip("/") or "/"
        params = dict(parse_qsl(split.query))
        if method == "POST":
            params.update(parse_qsl(body))
        with self.lock:
            self.requests.append((method, path, params))
        if path == "/api/v1/access_token" and method == "POST":
            return self.access_token(headers.get("authorization", ""), params)
        as_user = self.tokens.get(headers.get("authorization", "").removeprefix("bearer "))
        if as_user is None:
            www = {"www-authenticate": 'Bearer realm="reddit", error="invalid_token"'}
            return 401, www, {"message": "Unauthorized", "error": 401}
        limits = {
            "x-ratelimit-used": "2",
            "x-ratelimit-remaining": f"{self.remaining:.1f}",
            "x-ratelimit-reset": str(self.reset),
        }
        with self.lock:
            if self.throttle > 0:
                self.throttle -= 1
                limits["x-ratelimit-remaining"] = "0.0"
                return 429, limits, {"message": "Too Many Requests", "error": 429}
        status, body_out = self.route(method, path, params, as_user)
        return status, limits, body_out

    def access_token(self, authorization: str, form: dict[str, str]) -> Answer:
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if authorization != f"Basic {expected}":
            return 401, {}, {"message": "Unauthorized", "error": 401}
        grant = form.get("grant_type", "")
        if grant == "password":
            if (form.get("username"), form.get("password")) != (self.username, self.password):
                return 200, {}, {"error": "invalid_grant"}
        elif grant != "client_credentials":
            return 200, {}, {"error": "unsupported_grant_type"}
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = grant == "password"
            self.grants.append(grant)
        answer = {"access_token": token, "token_type": "bearer"}
        return 200, {}, {**answer, "expires_in": self.token_lifetime, "scope": "*"}

    def route(
        self, method: str, path: str, params: dict[str, str], as_user: bool
    ) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "POST" and path == "/api/comment":
            return 200, self.post_comment(params, as_user)
        if method == "POST" and path == "/api/compose":
            return 200, self.compose(params, as_user)
        if method != "GET":
            return 405, {"message": "Method Not Allowed", "error": 405}
        if path == "/search":
            return 200, self.listing(self.search(params, None), params)
        if len(parts) == 3 and parts[0] == "r":
            sub = parts[1]
            if sub.lower() in self.private:
                return 403, {"reason": "private", "message": "Forbidden", "error": 403}
            if parts[2] == "search":
                restrict = params.get("restrict_sr") in ("1", "true", "on")
                return 200, self.listing(self.search(params, sub if restrict else None), params)
            if parts[2] in ("comments", "new"):
                kind = "t1" if parts[2] == "comments" else "t3"
                found = [t for t in self.things if t["kind"] == kind and same(t, sub)]
                return 200, self.listing(found, params)
        if len(parts) == 3 and parts[0] == "user":
            return self.user_route(parts[1], parts[2], params)
        if path == "/message/sent":
            return 200, self.listing(list(self.messages), params)
        return 404, {"message": "Not Found", "error": 404}

    def user_route(self, name: str, what: str, params: dict[str, str]) -> tuple[int, Any]:
        known = self.users.get(name.lower())
        if known is None:
            return 404, {"message": "Not Found", "error": 404}
        if what == "about":
            return 200, {"kind": "t2", "data": known}
        if what == "comments":
            mine = [
                t
                for t in self.things
                if t["kind"] == "t1" and t["data"]["author"].lower() == name.lower()
            ]
            return 200, self.listing(mine, params)
        return 404, {"message": "Not Found", "error": 404}

    def search(self, params: dict[str, str], subreddit: str | None) -> list[dict[str, Any]]:
        phrases = [a or b for a, b in re.findall(r'"([^"]+)"|(\S+)', params.get("q", ""))]
        phrases = [p.lower() for p in phrases if p != "OR"]
        out = []
        for thing in self.things:
            data = thing["data"]
            if thing["kind"] != "t3" or (subreddit and not same(thing, subreddit)):
                continue
            text = f"{data['title']} {data['selftext']}".lower()
            if any(p in text for p in phrases):
                out.append(thing)
        return out

    def listing(self, things: list[dict[str, Any]], params: dict[str, str]) -> dict[str, Any]:
        """A Listing, newest first, as deep as Reddit's (1,000) and paged like it."""
        ordered = sorted(
            things, key=lambda t: (t["data"]["created_utc"], int(t["data"]["id"], 36))
        )[::-1][:1000]
        names = [t["data"]["name"] for t in ordered]
        limit = max(1, min(int(params.get("limit") or 25), 100))
        after, before = params.get("after"), params.get("before")
        if after:
            start = names.index(after) + 1 if after in names else len(names)
        elif before:
            start = max(0, names.index(before) - limit) if before in names else len(names)
        else:
            start = 0
        end = names.index(before) if before in names and not after else start + limit
        page = ordered[start:end]
        raw = params.get("raw_json") == "1"
        children = [rendered(t, raw) for t in page]
        return {
            "kind": "Listing",
            "data": {
                "after": names[end - 1] if page and end < len(names) else None,
                "dist": len(children),
                "modhash": "",
                "geo_filter": "",
                "children": children,
                "before": names[start] if page and start > 0 else None,
            },
        }

    def post_comment(self, form: dict[str, str], as_user: bool) -> dict[str, Any]:
        if not as_user:
            return {"json": {"errors": [["USER_REQUIRED", "Please log in to do that.", None]]}}
        if not form.get("text", "").strip():
            return {"json": {"errors": [["NO_TEXT", "we need something here", "text"]]}}
        with self.lock:
            if self.comment_ratelimit:
                message, self.comment_ratelimit = self.comment_ratelimit, None
                return {"json": {"errors": [["RATELIMIT", message, "ratelimit"]]}}
            try:
                parent = self.thing(form.get("thing_id", ""))
            except StopIteration:
                error = ["NO_THING_ID", "couldn't find that thing", "parent"]
                return {"json": {"errors": [error]}}
            data = self.comment(parent, form["text"], author=self.username)
            self.user(self.username)
            if self.lose_next_post:
                self.lose_next_post = False
                raise Lost
        return {"json": {"errors": [], "data": {"things": [{"kind": "t1", "data": data}]}}}

    def compose(self, form: dict[str, str], as_user: bool) -> dict[str, Any]:
        if not as_user:
            return {"json": {"errors": [["USER_REQUIRED", "Please log in to do that.", None]]}}
        to = form.get("to", "").removeprefix("/").removeprefix("u/")
        if to.lower() not in self.users:
            return {"json": {"errors": [["USER_DOESNT_EXIST", "that user doesn't exist", "to"]]}}
        if not form.get("subject"):
            return {"json": {"errors": [["NO_SUBJECT", "please enter a subject", "subject"]]}}
        ident, when = self._next(None)
        message = fixture("reddit_message.json")
        message["data"].update(
            id=ident,
            name=f"t4_{ident}",
            author=self.username,
            dest=self.users[to.lower()]["name"],
            subject=form["subject"],
            body=form.get("text", ""),
            body_html=None,
            created=when,
            created_utc=when,
        )
        with self.lock:
            self.messages.append(message)
            if self.lose_next_post:
                self.lose_next_post = False
                raise Lost
        return {"json": {"errors": []}}


class Lost(Exception):
    """The server took a post and then failed before answering."""


def same(thing: dict[str, Any], subreddit: str) -> bool:
    return bool(thing["data"]["subreddit"].lower() == subreddit.lower())


def rendered(thing: dict[str, Any], raw: bool) -> dict[str, Any]:
    out = copy.deepcopy(thing)
    if not raw:
        for key in ("title", "selftext", "body", "link_title"):
            if isinstance(out["data"].get(key), str):
                out["data"][key] = escaped(out["data"][key])
    return out


@contextmanager
def reddit_server() -> Iterator[RedditServer]:
    """A Reddit API on a free loopback port, for the length of the block."""
    server = RedditServer(port=free_port())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def answer(self, method: str) -> None:
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            try:
                status, extra, payload = server.handle(method, self.path, headers, body)
                data = json.dumps(payload).encode()
                kind = "application/json; charset=UTF-8"
            except Lost:
                status, extra, kind = 502, {}, "text/html"
                data = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            for key, value in extra.items():
                self.send_header(key, value)
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:
            self.answer("GET")

        def do_POST(self) -> None:
            self.answer("POST")

        def log_message(self, format: str, *args: Any) -> None:
            return

    http = ThreadingHTTPServer(("127.0.0.1", server.port), Handler)
    thread = threading.Thread(target=http.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()
