"""A Mastodon instance on loopback, answering its REST API as Mastodon does (hashtag
timelines paged with ``max_id``/``since_id``/``min_id`` and a ``Link`` header, full-text
search, several statuses by id, the token's account, posting with ``Idempotency-Key``)
and its streaming API as Server-Sent Events (``:)`` on connecting, ``:thump``
heartbeats, ``event: update`` with the status). Statuses are built from the real
payloads in ``tests/social/fixtures`` (``mastodon_*.json``), with Snowflake ids.

A test adds accounts and statuses (each also sent to the open streams it belongs to),
reads the statuses posted through the API, and can make the server throttle (429 with
``X-RateLimit-*`` and ``Retry-After``), fail (5xx), drop its streams, or refuse an
unknown token. Times are virtual: each status is 7 s after the last unless given."""

from __future__ import annotations

import asyncio
import copy
import html
import json
import re
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from accord.social.sources.base import SourceConfig
from tests.social.servers.loopback import Closing, serving

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
DOMAIN = "mastodon.example"  # the accounts' domain (the server is reached on 127.0.0.1)
START = datetime(2024, 11, 21, 16, 0, tzinfo=UTC)
TOKEN = "brand-token-0123456789abcdefghijklmnop"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def snowflake(moment: datetime, sequence: int) -> str:
    """Mastodon's ids: milliseconds since the epoch, shifted 16 bits, plus a sequence."""
    return str((int(moment.timestamp() * 1000) << 16) | (sequence & 0xFFFF))


def plain(content: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", content))


@dataclass
class Account:
    id: str
    username: str
    domain: str | None  # None: local to this instance
    display_name: str
    followers: int = 0
    following: int = 0
    statuses: int = 0

    @property
    def acct(self) -> str:
        return self.username if self.domain is None else f"{self.username}@{self.domain}"

    def entity(self) -> dict[str, Any]:
        out = copy.deepcopy(fixture("mastodon_tag_timeline.json")[0]["account"])
        host = self.domain or DOMAIN
        out.update(
            id=self.id,
            username=self.username,
            acct=self.acct,
            display_name=self.display_name,
            url=f"https://{host}/@{self.username}",
            uri=f"https://{host}/users/{self.username}",
            followers_count=self.followers,
            following_count=self.following,
            statuses_count=self.statuses,
        )
        return out


@dataclass
class MastodonServer:
    closing: Closing = field(default_factory=Closing)
    port: int = 0
    accounts: dict[str, Account] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)  # in id order
    tokens: dict[str, str] = field(default_factory=dict)  # token -> account id
    keys: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    posted: list[dict[str, Any]] = field(default_factory=list)  # every POST /statuses
    failures: list[tuple[str, int, dict[str, str]]] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    streams: list[tuple[str, str | None, asyncio.Queue[str]]] = field(default_factory=list)
    heartbeat: float = 0.1
    public_needs_auth: bool = False
    token_scopes: tuple[str, ...] = ("read", "write")  # read:accounts is within "read"
    dropped: int = 0  # streams ended by drop_streams (their generators count down)
    clock: datetime = START
    lock: threading.Lock = field(default_factory=threading.Lock)
    loop: asyncio.AbstractEventLoop | None = None
    brand: Account | None = None

    # --- what a test uses ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def account(
        self,
        username: str,
        name: str = "",
        *,
        domain: str | None = None,
        followers: int = 0,
        following: int = 0,
        statuses: int = 0,
    ) -> Account:
        with self.lock:
            number = 109_358_027_331_937_162 + len(self.accounts)
            account = Account(str(number), username, domain, name, followers, following, statuses)
            self.accounts[account.id] = account
            return account

    def source(self, *, token: str | None = TOKEN, **settings: Any) -> SourceConfig:
        return SourceConfig(
            kind="mastodon",
            settings={"instance": self.url, "domain": DOMAIN, **settings},
            credentials={"access_token": token} if token else {},
        )

    def status(
        self,
        author: Account,
        content: str,
        *,
        tags: list[str] | None = None,
        at: datetime | None = None,
        reply_to: dict[str, Any] | None = None,
        spoiler: str = "",
        language: str | None = "en",
        visibility: str = "public",
        favourites: int = 0,
        reblogs: int = 0,
        replies: int = 0,
    ) -> dict[str, Any]:
        """A new status (``content`` is its HTML; ``tags`` are appended as hashtags)."""
        with self.lock:
            return self._status(
                author,
                content,
                tags or [],
                at,
                reply_to,
                spoiler,
                language,
                visibility,
                favourites,
                reblogs,
                replies,
            )

    def _status(
        self,
        author: Account,
        content: str,
        tags: list[str],
        at: datetime | None,
        reply_to: dict[str, Any] | None,
        spoiler: str,
        language: str | None,
        visibility: str,
        favourites: int = 0,
        reblogs: int = 0,
        replies: int = 0,
    ) -> dict[str, Any]:
        if at is None:
            self.clock += timedelta(seconds=7)
            at = self.clock
        status = copy.deepcopy(fixture("mastodon_tag_timeline.json")[0])
        status_id = snowflake(at, len(self.statuses))
        host = author.domain or DOMAIN
        links = " ".join(
            f'<a href="https://{DOMAIN}/tags/{t}" class="mention hashtag" rel="tag">'
            f"#<span>{t}</span></a>"
            for t in tags
            if f"#<span>{t.lower()}</span>" not in content.lower()
        )
        status.update(
            id=status_id,
            created_at=iso(at),
            in_reply_to_id=reply_to["id"] if reply_to else None,
            in_reply_to_account_id=reply_to["account"]["id"] if reply_to else None,
            spoiler_text=spoiler,
            visibility=visibility,
            language=language,
            uri=f"https://{host}/users/{author.username}/statuses/{status_id}",
            url=f"https://{host}/@{author.username}/{status_id}",
            replies_count=replies,
            reblogs_count=reblogs,
            favourites_count=favourites,
            content=content
            if not links
            else content.replace("</p>", f" {links}</p>", 1)
            if "</p>" in content
            else f"{content} {links}",
            account=author.entity(),
            mentions=[],
            tags=[{"name": t.lower(), "url": f"https://{DOMAIN}/tags/{t.lower()}"} for t in tags],
        )
        author.statuses += 1
        status["account"]["statuses_count"] = author.statuses
        self.statuses.append(status)
        self._broadcast(status)
        return status

    def throttle(self, path: str = "/", reset_in: int = 120) -> None:
        """The next request under ``path`` is answered 429 until ``reset_in`` seconds."""
        reset = datetime.now(UTC) + timedelta(seconds=reset_in)
        headers = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            "Retry-After": str(reset_in),
        }
        self.failures.append((path, 429, headers))

    def fail(self, path: str = "/", status: int = 503) -> None:
        self.failures.append((path, status, {}))

    def asked(self, path: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["path"] == path]

    def drop_streams(self) -> None:
        """End every open stream, as a restart of the streaming server does."""
        with self.lock:
            streams, self.streams = self.streams, []
        for _, _, outbox in streams:
            self._put(outbox, "")

    # --- the API -------------------------------------------------------------------------

    def _put(self, outbox: asyncio.Queue[str], chunk: str) -> None:
        if self.loop is not None:
            self.loop.call_soon_threadsafe(outbox.put_nowait, chunk)

    def _broadcast(self, status: dict[str, Any]) -> None:
        if status["visibility"] != "public":
            return
        names = {t["name"] for t in status["tags"]}
        for kind, tag, outbox in self.streams:
            if kind == "public" or (tag or "").lower() in names:
                self._put(outbox, f"event: update\ndata: {json.dumps(status)}\n\n")

    def _json(
        self, body: Any, status: int = 200, headers: dict[str, str] | None = None
    ) -> Response:
        reset = (datetime.now(UTC) + timedelta(minutes=5)).replace(second=0, microsecond=0)
        out = {
            "X-RateLimit-Limit": "300",
            "X-RateLimit-Remaining": str(max(1, 300 - len(self.requests))),
            "X-RateLimit-Reset": reset.isoformat(timespec="microseconds").replace("+00:00", "Z"),
            **(headers or {}),
        }
        return JSONResponse(body, status_code=status, headers=out)

    def _error(self, name: str, headers: dict[str, str] | None = None) -> Response:
        error = fixture("mastodon_errors.json")[name]
        return self._json(error["body"], error["status"], headers)

    def _caller(self, request: Request) -> tuple[Account | None, Response | None]:
        header = request.headers.get("authorization", "")
        if not header:
            return None, None
        account_id = self.tokens.get(header.removeprefix("Bearer "))
        if account_id is None:
            return None, self._error("invalid_token")
        return self.accounts[account_id], None

    async def api(self, request: Request) -> Response:
        path = request.url.path
        raw = await request.body() if request.method == "POST" else b""
        self.requests.append(
            {
                "method": request.method,
                "path": path,
                "params": list(request.query_params.multi_items()),
                "headers": dict(request.headers),
                "body": json.loads(raw) if raw else {},
            }
        )
        with self.lock:
            for i, (prefix, status, headers) in enumerate(self.failures):
                if path.startswith(prefix):
                    del self.failures[i]
                    return self._error("too_many" if status == 429 else "unavailable", headers)
            caller, refused = self._caller(request)
            if refused is not None:
                return refused
            return self.route(request, path, caller)

    def route(self, request: Request, path: str, caller: Account | None) -> Response:
        params = request.query_params
        if path.startswith("/api/v1/timelines/tag/"):
            if caller is None and self.public_needs_auth:
                return self._error("needs_login")
            tag = path.rsplit("/", 1)[1].lower()
            found = [s for s in self.statuses if tag in {t["name"] for t in s["tags"]}]
            return self.page(request, [s for s in found if s["visibility"] == "public"])
        if path == "/api/v2/search":
            out = fixture("mastodon_search.json")
            if caller is not None and params.get("type") in (None, "statuses"):
                out["statuses"] = self.search(params)
            return self._json(out)
        if path == "/api/v1/statuses" and request.method == "GET":
            ids = params.getlist("id[]")[:20]
            return self._json([s for s in self.statuses if s["id"] in ids])
        if path == "/api/v1/accounts/verify_credentials":
            if caller is None:
                return self._error("invalid_token")
            if not {"read", "read:accounts"} & set(self.token_scopes):
                return self._error("outside_scopes")
            out = fixture("mastodon_credential_account.json")
            out.update(caller.entity())
            return self._json(out)
        if path == "/api/v1/statuses" and request.method == "POST":
            if caller is None:
                return self._error("needs_login")
            return self.post_status(request, caller)
        return self._error("not_found")

    def page(self, request: Request, found: list[dict[str, Any]]) -> Response:
        """A timeline page as Mastodon pages: newest first, ``limit`` at most 40."""
        params = request.query_params
        limit = min(int(params.get("limit") or 20), 40)
        key = lambda s: int(s["id"])  # noqa: E731
        ordered = sorted(found, key=key)
        if params.get("max_id"):
            ordered = [s for s in ordered if key(s) < int(params["max_id"])]
        if params.get("since_id"):
            ordered = [s for s in ordered if key(s) > int(params["since_id"])]
        if params.get("min_id"):
            chosen = [s for s in ordered if key(s) > int(params["min_id"])][:limit]
        else:
            chosen = ordered[-limit:]
        chosen.reverse()
        headers = {}
        if chosen:
            base = f"{self.url}{request.url.path}"
            newer = urlencode({"min_id": chosen[0]["id"]})
            older = urlencode({"max_id": chosen[-1]["id"]})
            headers["Link"] = f'<{base}?{older}>; rel="next", <{base}?{newer}>; rel="prev"'
        return self._json(chosen, headers=headers)

    def search(self, params: Any) -> list[dict[str, Any]]:
        words = [
            re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)", re.I) for w in params["q"].split()
        ]
        hits = [s for s in self.statuses if all(w.search(plain(s["content"])) for w in words)]
        hits = [s for s in hits if s["visibility"] == "public"]
        if params.get("min_id"):
            hits = [s for s in hits if int(s["id"]) > int(params["min_id"])]
        if params.get("max_id"):
            hits = [s for s in hits if int(s["id"]) < int(params["max_id"])]
        hits.sort(key=lambda s: int(s["id"]), reverse=True)
        offset = int(params.get("offset") or 0)
        return hits[offset : offset + min(int(params.get("limit") or 20), 40)]

    def post_status(self, request: Request, caller: Account) -> Response:
        body = self.requests[-1]["body"]
        key = request.headers.get("idempotency-key")
        if key and (caller.id, key) in self.keys:
            # A repeated key within the hour: the first status again, nothing posted.
            status = self.keys[(caller.id, key)]
            self.posted.append({"body": body, "key": key, "status": status})
            return self._json(status)
        text = str(body.get("status") or "")
        if not text.strip():
            return self._error("blank")
        if len(text) > 500:
            return self._error("too_long")
        parent = None
        if body.get("in_reply_to_id"):
            parent = next((s for s in self.statuses if s["id"] == body["in_reply_to_id"]), None)
            if parent is None:
                return self._error("not_found")
        visibility = body.get("visibility") or "public"
        if visibility not in ("public", "unlisted", "private", "direct"):
            return self._json(
                {"error": "Validation failed: Visibility is not included in the list"}, 422
            )
        content = "<p>" + html.escape(text).replace("\n", "<br />") + "</p>"
        status = self._status(caller, content, [], None, parent, "", "en", visibility)
        self.posted.append({"body": body, "key": key, "status": status})
        if key:
            self.keys[(caller.id, key)] = status
        return self._json(status)

    # --- streaming -----------------------------------------------------------------------

    async def stream(self, request: Request) -> Response:
        kind = request.url.path.rsplit("/", 1)[1]
        self.requests.append(
            {
                "method": "GET",
                "path": request.url.path,
                "params": list(request.query_params.multi_items()),
                "headers": dict(request.headers),
                "body": {},
            }
        )
        token = request.headers.get("authorization", "").removeprefix(
            "Bearer "
        ) or request.query_params.get("access_token")
        if token and token not in self.tokens:
            return self._error("invalid_token")
        if kind not in ("public", "hashtag"):
            return self._error("not_found")
        self.loop = asyncio.get_running_loop()
        outbox: asyncio.Queue[str] = asyncio.Queue()
        with self.lock:
            self.streams.append((kind, request.query_params.get("tag"), outbox))

        async def events() -> AsyncIterator[str]:
            yield ":)\n"
            while not self.closing:
                try:
                    chunk = await asyncio.wait_for(outbox.get(), timeout=self.heartbeat)
                except TimeoutError:
                    yield ":thump\n"
                    continue
                if not chunk:
                    return  # dropped
                yield chunk

        return StreamingResponse(events(), media_type="text/event-stream")

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/api/v1/streaming/{kind}", self.stream, methods=["GET"]),
                Route("/api/{rest:path}", self.api, methods=["GET", "POST"]),
            ]
        )


@contextmanager
def mastodon_server() -> Iterator[MastodonServer]:
    """A Mastodon instance on a free loopback port, with the brand's account
    (``brand``) and its access token."""
    server = MastodonServer()
    server.brand = server.account("brand", "Brand Example", followers=5000)
    server.tokens[TOKEN] = server.brand.id
    with serving(server.app(), server.closing) as port:
        server.port = port
        yield server
