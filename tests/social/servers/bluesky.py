"""Bluesky on loopback: one server standing for the PDS (sessions, repo writes, the
chat proxy) and the AppView (search, profiles), answering XRPC as they do, plus a
Jetstream websocket at ``/subscribe``. Payloads are built from the real ones in
``tests/social/fixtures`` (``bluesky_*.json``).

Posts are held in memory; a test adds accounts and posts (each post is also a Jetstream
``commit`` event), reads the records and chat messages received, and can make the
server throttle (429 with ``ratelimit-*`` headers), fail (5xx), expire its tokens, or
take a write and lose the answer. Times are virtual: each post is 7 s after the last
unless the test gives its time."""

from __future__ import annotations

import asyncio
import copy
import hashlib
import json
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from accord.social.sources.base import SourceConfig
from tests.social.servers.loopback import Closing, serving

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
POST = "app.bsky.feed.post"
CHAT = "did:web:api.bsky.chat#bsky_chat"
B32 = "abcdefghijklmnopqrstuvwxyz234567"
TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
START = datetime(2024, 11, 21, 16, 0, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def iso(moment: datetime) -> str:
    """How the AppView writes times: milliseconds and "Z"."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def did_for(handle: str) -> str:
    digest = hashlib.sha256(handle.encode()).digest()
    return "did:plc:" + "".join(B32[b % 32] for b in digest[:24])


def cid_for(*parts: str) -> str:
    digest = hashlib.sha256("\n".join(parts).encode()).digest() * 2
    return "bafyrei" + "".join(B32[b % 32] for b in digest[:52])


def tid_at(moment: datetime, clock: int = 0) -> str:
    value = (int(moment.timestamp() * 1_000_000) << 10) | (clock & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(TID_CHARS[value & 31])
        value >>= 5
    return "".join(reversed(chars))


@dataclass
class Account:
    did: str
    handle: str
    display_name: str
    password: str | None = None
    followers: int = 0
    follows: int = 0
    posts: int = 0


@dataclass
class Failure:
    nsid: str | None
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    perform: bool = False  # do the work, then answer with the failure (a lost answer)


@dataclass
class BlueskyServer:
    closing: Closing = field(default_factory=Closing)
    port: int = 0
    accounts: dict[str, Account] = field(default_factory=dict)
    views: list[dict[str, Any]] = field(default_factory=list)  # postViews, oldest first
    events: list[dict[str, Any]] = field(default_factory=list)  # Jetstream, by time_us
    records: dict[tuple[str, str, str], dict[str, Any]] = field(default_factory=dict)
    convos: dict[frozenset[str], str] = field(default_factory=dict)
    messages: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # access token -> did
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    failures: list[Failure] = field(default_factory=list)
    requests: list[dict[str, Any]] = field(default_factory=list)
    search_needs_auth: bool = True
    duplicate_status: int = 500  # what a create under a taken record key answers
    clock: datetime = START
    lock: threading.Lock = field(default_factory=threading.Lock)
    brand: Account | None = None

    # --- what a test uses ----------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def account(
        self,
        handle: str,
        name: str = "",
        *,
        password: str | None = None,
        followers: int = 0,
        follows: int = 0,
        posts: int = 0,
    ) -> Account:
        with self.lock:
            account = Account(did_for(handle), handle, name, password, followers, follows, posts)
            self.accounts[account.did] = account
            return account

    def source(self, *, signed_in: bool = True, **settings: Any) -> SourceConfig:
        """The brand's source: this server as PDS, AppView and Jetstream."""
        assert self.brand is not None
        credentials = (
            {"identifier": self.brand.handle, "app_password": self.brand.password or ""}
            if signed_in
            else {}
        )
        return SourceConfig(
            kind="bluesky",
            settings={
                "service": self.url,
                "appview": self.url,
                "jetstream": self.ws_url,
                "handle": self.brand.handle,
                **settings,
            },
            credentials=credentials,
        )

    def post(
        self,
        author: Account,
        text: str,
        *,
        at: datetime | None = None,
        indexed: datetime | None = None,
        reply_to: dict[str, Any] | None = None,
        langs: list[str] | None = None,
        likes: int = 0,
        reposts: int = 0,
        replies: int = 0,
        time_us: int | None = None,
        facets: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        """A new post (a postView for search and a commit event for Jetstream)."""
        with self.lock:
            if at is None:
                self.clock += timedelta(seconds=7)
                at = self.clock
            else:
                self.clock = max(self.clock, at)
            record: dict[str, Any] = {"$type": POST, "createdAt": iso(at), "text": text}
            record["langs"] = langs if langs is not None else ["en"]
            if facets:
                record["facets"] = facets
            if reply_to is not None:
                parent = {"cid": reply_to["cid"], "uri": reply_to["uri"]}
                root = reply_to["record"].get("reply", {}).get("root") or parent
                record["reply"] = {"parent": parent, "root": dict(root)}
            rkey = tid_at(at, len(self.views))
            return self._add(
                author,
                rkey,
                record,
                indexed or at + timedelta(milliseconds=600),
                likes,
                reposts,
                replies,
                time_us,
            )

    def _add(
        self,
        author: Account,
        rkey: str,
        record: dict[str, Any],
        indexed: datetime,
        likes: int = 0,
        reposts: int = 0,
        replies: int = 0,
        time_us: int | None = None,
    ) -> dict[str, Any]:
        uri = f"at://{author.did}/{POST}/{rkey}"
        cid = cid_for(uri, record["text"])
        view = copy.deepcopy(fixture("bluesky_search_posts.json")["posts"][1])
        view.update(
            uri=uri,
            cid=cid,
            record=record,
            indexedAt=iso(indexed),
            likeCount=likes,
            repostCount=reposts,
            replyCount=replies,
        )
        view["author"].update(did=author.did, handle=author.handle, displayName=author.display_name)
        self.views.append(view)
        author.posts += 1
        last = self.events[-1]["time_us"] if self.events else 0
        event = copy.deepcopy(fixture("bluesky_jetstream_events.json")[0])
        # Jetstream stamps an event with the time it heard it.
        event.update(did=author.did, time_us=time_us or max(last + 1, time.time_ns() // 1000))
        event["commit"].update(rkey=rkey, cid=cid, rev=tid_at(indexed, 7), record=record)
        self.events.append(event)
        return view

    def event(self, raw: dict[str, Any]) -> None:
        """Any other Jetstream event (a delete, an identity or account event)."""
        with self.lock:
            self.events.append(raw)

    def throttle(self, nsid: str | None = None, reset_in: int = 120) -> None:
        """The next call (to ``nsid``) is answered 429 until ``reset_in`` seconds."""
        reset = str(int(time.time()) + reset_in)
        headers = {"ratelimit-remaining": "0", "ratelimit-reset": reset}
        body = fixture("bluesky_repo.json")["errors"]["RateLimitExceeded"]["body"]
        self.failures.append(Failure(nsid, 429, body, headers))

    def fail(self, nsid: str | None = None, status: int = 502, *, perform: bool = False) -> None:
        """The next call (to ``nsid``) fails with a 5xx (after doing its work: ``perform``)."""
        name = "InternalServerError" if status == 500 else "UpstreamFailure"
        body = fixture("bluesky_repo.json")["errors"][name]["body"]
        self.failures.append(Failure(nsid, status, body, perform=perform))

    def expire_tokens(self) -> None:
        with self.lock:
            self.expired.update(self.tokens)

    def asked(self, nsid: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["nsid"] == nsid]

    def written(self) -> list[dict[str, Any]]:
        """The records written to repos (replies), in order."""
        return list(self.records.values())

    # --- XRPC ------------------------------------------------------------------------------

    def _failure(self, nsid: str) -> Failure | None:
        for i, failure in enumerate(self.failures):
            if failure.nsid in (None, nsid):
                return self.failures.pop(i)
        return None

    def _who(self, request: Request) -> tuple[str | None, Response | None]:
        header = request.headers.get("authorization", "")
        if not header.startswith("Bearer "):
            return None, self._error("AuthMissing")
        token = header.removeprefix("Bearer ")
        if token in self.expired:
            return None, self._error("ExpiredToken")
        did = self.tokens.get(token)
        if did is None:
            return None, self._error("InvalidToken")
        return did, None

    @staticmethod
    def _error(name: str, message: str | None = None, status: int | None = None) -> Response:
        known = fixture("bluesky_repo.json")["errors"].get(name)
        body = dict(known["body"]) if known else {"error": name, "message": message or name}
        if message:
            body["message"] = message
        return JSONResponse(body, status_code=status or (known or {}).get("status", 400))

    def _session(self, account: Account) -> dict[str, Any]:
        out = fixture("bluesky_create_session.json")
        access, refresh = "eyJ" + secrets.token_urlsafe(24), "eyJ" + secrets.token_urlsafe(24)
        self.tokens[access] = account.did
        self.refresh_tokens[refresh] = account.did
        out.update(did=account.did, handle=account.handle, accessJwt=access, refreshJwt=refresh)
        out["didDoc"]["id"] = account.did
        out["didDoc"]["alsoKnownAs"] = [f"at://{account.handle}"]
        return out

    async def xrpc(self, request: Request) -> Response:
        nsid = request.path_params["nsid"]
        body: dict[str, Any] = {}
        if request.method == "POST":
            raw = await request.body()
            body = json.loads(raw) if raw else {}
        self.requests.append(
            {
                "nsid": nsid,
                "method": request.method,
                "params": list(request.query_params.multi_items()),
                "headers": dict(request.headers),
                "body": body,
            }
        )
        with self.lock:
            failure = self._failure(nsid)
            if failure is not None and not failure.perform:
                return JSONResponse(failure.body, failure.status, headers=failure.headers)
            response = self.route(nsid, request, body)
            if failure is not None:
                return JSONResponse(failure.body, failure.status, headers=failure.headers)
        reset = int(time.time()) + 300
        response.headers.update(
            {
                "ratelimit-limit": "3000",
                "ratelimit-remaining": str(max(0, 3000 - len(self.requests))),
                "ratelimit-reset": str(reset),
                "ratelimit-policy": "3000;w=300",
            }
        )
        return response

    def route(self, nsid: str, request: Request, body: dict[str, Any]) -> Response:
        params = request.query_params
        if nsid == "com.atproto.server.createSession":
            for account in self.accounts.values():
                known = body.get("identifier") in (account.handle, account.did)
                if known and account.password and body.get("password") == account.password:
                    return JSONResponse(self._session(account))
            return self._error("AuthenticationRequired")
        if nsid == "com.atproto.server.refreshSession":
            token = request.headers.get("authorization", "").removeprefix("Bearer ")
            did = self.refresh_tokens.pop(token, None)
            if did is None:
                return self._error("ExpiredToken")
            out = self._session(self.accounts[did])
            return JSONResponse({k: out[k] for k in ("accessJwt", "refreshJwt", "handle", "did")})
        if nsid == "com.atproto.repo.getRecord":
            key = (params.get("repo", ""), params.get("collection", ""), params.get("rkey", ""))
            repo = next((a.did for a in self.accounts.values() if key[0] in (a.did, a.handle)), "")
            found = self.records.get((repo, key[1], key[2]))
            if found is None:
                return self._error(
                    "RecordNotFound", f"Could not locate record: at://{'/'.join(key)}"
                )
            return JSONResponse(found)
        needs_auth = nsid.startswith(("com.atproto.repo.", "chat.")) or (
            nsid == "app.bsky.feed.searchPosts" and self.search_needs_auth
        )
        did = None
        if needs_auth or request.headers.get("authorization"):
            did, refused = self._who(request)
            if refused is not None:
                if not request.headers.get("authorization") and nsid.startswith("app.bsky."):
                    return Response("Forbidden", status_code=403)  # the public AppView
                return refused
        if nsid == "app.bsky.feed.searchPosts":
            return self.search(params)
        if nsid == "app.bsky.actor.getProfiles":
            return self.profiles(params.getlist("actors"))
        if nsid == "com.atproto.repo.createRecord":
            assert did is not None
            return self.create_record(did, body)
        if nsid.startswith("chat.bsky.convo."):
            if request.headers.get("atproto-proxy") != CHAT:
                return self._error("XRPCNotSupported", status=404)
            assert did is not None
            return self.chat(did, nsid.removeprefix("chat.bsky.convo."), params, body)
        return self._error("MethodNotImplemented", "Method Not Implemented", 501)

    def search(self, params: Any) -> Response:
        q = params.get("q", "")
        limit = int(params.get("limit", "25"))
        if not q or not 1 <= limit <= 100:
            return self._error("InvalidRequest", 'Error: Params must have the property "q"')
        words = [re.compile(r"(?<!\w)" + re.escape(w) + r"(?!\w)", re.I) for w in q.split()]

        def sort_at(view: dict[str, Any]) -> datetime:
            return min(parse(view["indexedAt"]), parse(view["record"]["createdAt"]))

        since = parse(params["since"]) if params.get("since") else None
        until = parse(params["until"]) if params.get("until") else None
        hits = [
            (sort_at(v), i, v)
            for i, v in enumerate(self.views)
            if all(w.search(v["record"]["text"]) for w in words)
            and (since is None or sort_at(v) >= since)
            and (until is None or sort_at(v) < until)
        ]
        hits.sort(key=lambda hit: (hit[0], hit[1]), reverse=True)
        offset = int(params.get("cursor") or 0)
        page = [copy.deepcopy(v) for _, _, v in hits[offset : offset + limit]]
        out: dict[str, Any] = {"hitsTotal": len(hits), "posts": page}
        if offset + limit < len(hits):
            out["cursor"] = str(offset + limit)
        return JSONResponse(out)

    def profile(self, account: Account) -> dict[str, Any]:
        out = copy.deepcopy(fixture("bluesky_get_profiles.json")["profiles"][0])
        out.update(
            did=account.did,
            handle=account.handle,
            displayName=account.display_name,
            followersCount=account.followers,
            followsCount=account.follows,
            postsCount=account.posts,
        )
        return out

    def profiles(self, actors: list[str]) -> Response:
        if len(actors) > 25:
            return self._error(
                "InvalidRequest", "Error: actors must not have more than 25 elements"
            )
        found = [
            self.profile(a) for a in self.accounts.values() if a.did in actors or a.handle in actors
        ]
        return JSONResponse({"profiles": found})

    def create_record(self, did: str, body: dict[str, Any]) -> Response:
        record = body.get("record") or {}
        rkey = body.get("rkey") or tid_at(datetime.now(UTC))
        if body.get("repo") not in (did, self.accounts[did].handle):
            return self._error("InvalidRequest", "Input/repo must be the session's DID")
        if body.get("collection") != POST or record.get("$type") != POST:
            return self._error("InvalidRequest", "Invalid collection")
        if not TID.match(rkey):
            return self._error("InvalidRequest", f"Invalid record key: {rkey}")
        problem = self._invalid_post(record)
        if problem:
            return self._error("InvalidRecord", f"Invalid app.bsky.feed.post record: {problem}")
        if (did, POST, rkey) in self.records:
            return self._error(
                "InternalServerError" if self.duplicate_status == 500 else "RecordAlreadyExists",
                status=self.duplicate_status,
            )
        uri = f"at://{did}/{POST}/{rkey}"
        cid = cid_for(uri, record["text"])
        self.records[(did, POST, rkey)] = {"uri": uri, "cid": cid, "value": record}
        self._add(self.accounts[did], rkey, record, datetime.now(UTC))
        out = fixture("bluesky_repo.json")["createRecord"]
        out.update(uri=uri, cid=cid)
        return JSONResponse(out)

    @staticmethod
    def _invalid_post(record: dict[str, Any]) -> str | None:
        text = record.get("text")
        if not isinstance(text, str) or len(text.encode()) > 3000 or len(text) > 300:
            return "Record/text must be a string of at most 300 graphemes"
        try:
            parse(record["createdAt"])
        except (KeyError, ValueError):
            return "Record/createdAt must be a valid datetime"
        reply = record.get("reply")
        if reply is not None:
            for part in ("root", "parent"):
                ref = reply.get(part) or {}
                if not str(ref.get("uri", "")).startswith("at://") or not ref.get("cid"):
                    return f"Record/reply/{part} must be a strongRef"
        for facet in record.get("facets") or []:
            index = facet.get("index") or {}
            start, end = index.get("byteStart"), index.get("byteEnd")
            if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end):
                return "Record/facets/index must be a byteSlice"
            if end > len(text.encode()):
                return "Record/facets/index is beyond the text"
        return None

    def chat(self, did: str, method: str, params: Any, body: dict[str, Any]) -> Response:
        chat = fixture("bluesky_chat.json")
        if method == "getConvoForMembers":
            members = frozenset([did, *params.getlist("members")])
            if not all(m in self.accounts for m in members):
                return self._error("InvalidRequest", "Could not find all members")
            convo_id = self.convos.setdefault(members, tid_at(datetime.now(UTC), len(self.convos)))
            self.messages.setdefault(convo_id, [])
            out = chat["getConvoForMembers"]
            out["convo"]["id"] = convo_id
            template = out["convo"]["members"][0]
            out["convo"]["members"] = [
                {**template, "did": m, "handle": self.accounts[m].handle} for m in sorted(members)
            ]
            return JSONResponse(out)
        convo_id = params.get("convoId") or body.get("convoId")
        if convo_id not in self.messages:
            return self._error("InvalidRequest", "Convo not found")
        if method == "getMessages":
            newest_first = list(reversed(self.messages[convo_id]))
            return JSONResponse({"messages": newest_first[: int(params.get("limit", "50"))]})
        if method == "sendMessage":
            text = (body.get("message") or {}).get("text")
            if not text:
                return self._error("InvalidRequest", "Input/message/text is required")
            message = chat["messageView"]
            message.update(
                id=tid_at(datetime.now(UTC), len(self.messages[convo_id]) + 1),
                text=text,
                sender={"did": did},
                sentAt=iso(datetime.now(UTC)),
            )
            if body["message"].get("facets"):
                message["facets"] = body["message"]["facets"]
            self.messages[convo_id].append(message)
            return JSONResponse(message)
        return self._error("MethodNotImplemented", "Method Not Implemented", 501)

    # --- Jetstream -----------------------------------------------------------------------

    async def jetstream(self, ws: WebSocket) -> None:
        await ws.accept()
        wanted = ws.query_params.getlist("wantedCollections")
        cursor = ws.query_params.get("cursor")
        with self.lock:
            sent = 0 if cursor else len(self.events)
        since = int(cursor) if cursor else 0
        try:
            while not self.closing:
                with self.lock:
                    fresh = self.events[sent:]
                    sent = len(self.events)
                for event in fresh:
                    commit = event.get("commit")
                    if event["time_us"] < since:
                        continue
                    if wanted and commit and commit.get("collection") not in wanted:
                        continue
                    await ws.send_text(json.dumps(event))
                try:
                    message = await asyncio.wait_for(ws.receive(), timeout=0.02)
                except TimeoutError:
                    continue
                if message["type"] == "websocket.disconnect":
                    return
            await ws.close()
        except WebSocketDisconnect:
            return

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/xrpc/{nsid}", self.xrpc, methods=["GET", "POST"]),
                WebSocketRoute("/subscribe", self.jetstream),
            ]
        )


@contextmanager
def bluesky_server() -> Iterator[BlueskyServer]:
    """A Bluesky PDS, AppView and Jetstream on a free loopback port, with the brand's
    account (``brand.example.com``, app password ``app-pass-1234``)."""
    server = BlueskyServer()
    server.brand = server.account(
        "brand.example.com", "Brand Example", password="app-pass-1234", followers=5000
    )
    with serving(server.app(), server.closing) as port:
        server.port = port
        yield server
