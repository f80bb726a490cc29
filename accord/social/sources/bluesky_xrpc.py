"""XRPC over HTTP for the Bluesky connector: sessions, errors and rate limits.

Reads (``app.bsky.*`` queries) go to the account's PDS (``service``) with the session's
bearer token when the source has credentials (the PDS proxies them to its AppView), and
to the public AppView (``appview``) without a token when it has none. Writes go to the
PDS, chat calls too with the ``atproto-proxy`` header naming the chat service.

A session comes from ``com.atproto.server.createSession`` (handle and app password) and
is kept between calls by :class:`Sessions`, since that method is strictly rate-limited;
an ``ExpiredToken`` answer is met with ``com.atproto.server.refreshSession`` and the
call made again once. Rate limits are read from ``ratelimit-remaining`` and
``ratelimit-reset`` (epoch seconds): once a host says nothing remains, calls to it fail
with ``retry_after`` until the reset instead of being sent."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from accord.social.sources.base import SourceConfig, SourceError

DEFAULT_SERVICE = "https://bsky.social"
DEFAULT_APPVIEW = "https://public.api.bsky.app"
CHAT_PROXY = "did:web:api.bsky.chat#bsky_chat"
USER_AGENT = "Accord social listening"

# Errors of the session itself: log in again (once) before giving up.
_BAD_TOKEN = frozenset({"InvalidToken", "AuthenticationRequired", "AuthMissing"})


def http_url(value: Any, default: str, name: str) -> str:
    """A setting that must be an http(s) base URL (without a trailing slash)."""
    url = str(value or default).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(f"the Bluesky {name} must be an http(s) URL", permanent=True)
    return url


class XrpcError(SourceError):
    """An XRPC call the server refused: its HTTP ``status`` and XRPC ``error`` name."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        error: str | None,
        permanent: bool,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, retry_after=retry_after)
        self.status = status
        self.error = error


@dataclass(frozen=True)
class Session:
    """A logged-in account: its DID and handle, and the two tokens."""

    did: str
    handle: str
    access: str
    refresh: str


class Sessions:
    """Sessions kept between calls (per PDS and identifier) and the hosts that asked
    to be left alone until a given time. Safe to share between threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[tuple[str, str], Session] = {}
        self._blocked: dict[str, float] = {}

    def get(self, key: tuple[str, str]) -> Session | None:
        """The session kept for (PDS, identifier), if any."""
        with self._lock:
            return self._sessions.get(key)

    def put(self, key: tuple[str, str], session: Session | None) -> None:
        """Keep ``session`` for (PDS, identifier), or forget it (None)."""
        with self._lock:
            if session is None:
                self._sessions.pop(key, None)
            else:
                self._sessions[key] = session

    def block(self, host: str, until: float) -> None:
        """Leave ``host`` alone until ``until`` (epoch seconds)."""
        with self._lock:
            self._blocked[host] = max(until, self._blocked.get(host, 0.0))

    def wait_for(self, host: str) -> float:
        """Seconds until ``host`` may be called again (0: now)."""
        with self._lock:
            until = self._blocked.get(host, 0.0)
        return max(0.0, until - time.time())


def _retry_after(response: httpx.Response) -> float:
    reset = response.headers.get("ratelimit-reset")
    if reset and reset.strip().isdigit():
        return max(1.0, float(reset) - time.time())
    after = response.headers.get("retry-after")
    if after and after.strip().isdigit():
        return max(1.0, float(after))
    return 60.0


def _error(response: httpx.Response, what: str) -> XrpcError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    name = body.get("error") if isinstance(body, dict) else None
    text = body.get("message") if isinstance(body, dict) else None
    status = response.status_code
    message = f"Bluesky answered {status} to {what}"
    if name or text:
        message += ": " + ": ".join(str(p) for p in (name, text) if p)
    if status == 429:
        return XrpcError(
            message, status=status, error=name, permanent=False, retry_after=_retry_after(response)
        )
    permanent = 400 <= status < 500 and status not in (408, 409)
    return XrpcError(message, status=status, error=name, permanent=permanent)


class Xrpc:
    """One source's XRPC client for the length of one operation (a fetch, a reply)."""

    def __init__(
        self,
        source: SourceConfig,
        sessions: Sessions,
        *,
        timeout: float = 15.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        settings = source.settings
        self.service = http_url(settings.get("service"), DEFAULT_SERVICE, "service")
        self.appview = http_url(settings.get("appview"), DEFAULT_APPVIEW, "AppView")
        self.identifier = str(source.credentials.get("identifier") or "").strip().lstrip("@")
        self.password = str(source.credentials.get("app_password") or "")
        self.sessions = sessions
        self._key = (self.service, self.identifier.lower())
        self._http = httpx.Client(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )

    def __enter__(self) -> Xrpc:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    @property
    def signed_in(self) -> bool:
        """Whether the source has credentials (reads then go through the PDS)."""
        return bool(self.identifier and self.password)

    @property
    def reads_host(self) -> str:
        """The host that answers reads."""
        return urlsplit(self.service if self.signed_in else self.appview).netloc

    def reads_spent(self) -> bool:
        """Whether the host that answers reads said its budget is spent for now."""
        return self.sessions.wait_for(self.reads_host) > 0

    # --- sending ---------------------------------------------------------------------------

    def _send(
        self,
        method: str,
        base: str,
        nsid: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        host = urlsplit(base).netloc
        wait = self.sessions.wait_for(host)
        if wait > 0:
            raise SourceError(f"Bluesky's rate limit for {host} is spent for now", retry_after=wait)
        try:
            response = self._http.request(
                method, f"{base}/xrpc/{nsid}", params=params, json=body, headers=headers
            )
        except httpx.HTTPError as exc:
            raise SourceError(f"Bluesky could not be reached ({nsid}): {exc}") from exc
        remaining = response.headers.get("ratelimit-remaining")
        reset = response.headers.get("ratelimit-reset")
        if response.status_code == 429:
            self.sessions.block(host, time.time() + _retry_after(response))
        elif remaining is not None and remaining.strip() == "0" and reset and reset.isdigit():
            self.sessions.block(host, float(reset))
        return response

    @staticmethod
    def _json(response: httpx.Response, nsid: str) -> dict[str, Any]:
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError as exc:
            raise SourceError(f"Bluesky answered {nsid} with something not JSON") from exc
        if not isinstance(data, dict):
            raise SourceError(f"Bluesky answered {nsid} with something not an object")
        return data

    # --- sessions ------------------------------------------------------------------------

    def session(self) -> Session:
        """The account's session, logging in when there is none yet."""
        session = self.sessions.get(self._key)
        return session or self._login()

    def _login(self) -> Session:
        if not self.signed_in:
            raise SourceError(
                "this Bluesky source has no account (identifier and app password)",
                permanent=True,
            )
        nsid = "com.atproto.server.createSession"
        body = {"identifier": self.identifier, "password": self.password}
        response = self._send("POST", self.service, nsid, body=body)
        if response.status_code >= 300:
            error = _error(response, nsid)
            if response.status_code in (400, 401):
                error.message = f"Bluesky refused the account's credentials: {error.message}"
                error.args = (error.message,)
                error.permanent = True
            raise error
        return self._keep(self._json(response, nsid), nsid)

    def _keep(self, data: dict[str, Any], nsid: str) -> Session:
        try:
            session = Session(
                did=str(data["did"]),
                handle=str(data.get("handle") or self.identifier),
                access=str(data["accessJwt"]),
                refresh=str(data["refreshJwt"]),
            )
        except KeyError as exc:
            raise SourceError(f"Bluesky's {nsid} answer lacks {exc}") from exc
        self.sessions.put(self._key, session)
        return session

    def _refreshed(self, stale: Session) -> Session:
        """New tokens from the refresh token; a new login when it is refused too."""
        current = self.sessions.get(self._key)
        if current is not None and current.access != stale.access:
            return current  # another call refreshed it meanwhile
        nsid = "com.atproto.server.refreshSession"
        headers = {"Authorization": f"Bearer {stale.refresh}"}
        response = self._send("POST", self.service, nsid, headers=headers)
        if response.status_code < 300:
            return self._keep(self._json(response, nsid), nsid)
        if response.status_code in (400, 401):
            self.sessions.put(self._key, None)
            return self._login()
        raise _error(response, nsid)

    # --- calls ---------------------------------------------------------------------------

    def call(
        self,
        method: str,
        nsid: str,
        *,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        auth: bool = True,
        base: str | None = None,
        proxy: str | None = None,
    ) -> dict[str, Any]:
        """One XRPC call (``auth``: with the session's token, refreshed or renewed once
        when the server says it is expired or unknown); the answer's JSON object."""
        base = base or self.service
        session = self.session() if auth else None
        for attempt in range(2):
            headers: dict[str, str] = {}
            if session is not None:
                headers["Authorization"] = f"Bearer {session.access}"
            if proxy:
                headers["atproto-proxy"] = proxy
            response = self._send(method, base, nsid, params=params, body=body, headers=headers)
            if response.status_code < 300:
                return self._json(response, nsid)
            error = _error(response, nsid)
            if session is not None and attempt == 0:
                if error.error == "ExpiredToken":
                    session = self._refreshed(session)
                    continue
                if response.status_code == 401 and error.error in _BAD_TOKEN:
                    self.sessions.put(self._key, None)
                    session = self._login()
                    continue
            raise error
        raise AssertionError("unreachable")  # pragma: no cover

    def read(self, nsid: str, params: dict[str, Any]) -> dict[str, Any]:
        """An ``app.bsky`` query: through the PDS when signed in, else the AppView."""
        if self.signed_in:
            return self.call("GET", nsid, params=params)
        try:
            return self.call("GET", nsid, params=params, auth=False, base=self.appview)
        except XrpcError as exc:
            if exc.status in (401, 403):
                exc.message += " (this needs a Bluesky account: set an identifier and app password)"
                exc.args = (exc.message,)
            raise

    def profiles(self, actors: list[str]) -> dict[str, dict[str, Any]]:
        """``app.bsky.actor.getProfiles`` for these DIDs (25 a call), by DID."""
        unique = list(dict.fromkeys(a for a in actors if a))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(unique), 25):
            chunk = unique[start : start + 25]
            data = self.read("app.bsky.actor.getProfiles", {"actors": chunk})
            for profile in data.get("profiles") or []:
                if isinstance(profile, dict) and profile.get("did"):
                    found[str(profile["did"])] = profile
        return found

    def get_record(self, repo: str, collection: str, rkey: str) -> dict[str, Any] | None:
        """``com.atproto.repo.getRecord`` from the PDS, or None when there is none."""
        params = {"repo": repo, "collection": collection, "rkey": rkey}
        try:
            return self.call("GET", "com.atproto.repo.getRecord", params=params, auth=False)
        except XrpcError as exc:
            if exc.status == 404 or exc.error == "RecordNotFound":
                return None
            raise
