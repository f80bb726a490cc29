"""Mastodon's REST API for the Mastodon connector: a client that reads the rate-limit
headers (``X-RateLimit-Remaining``, ``X-RateLimit-Reset`` as an ISO timestamp, and
``Retry-After`` on a 429) and turns refusals into :class:`SourceError`, and the
``Status`` entity as a :class:`~accord.social.sources.base.Post`."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx

from accord.social.sources.base import Post, SourceConfig, SourceError
from accord.social.sources.mastodon_text import html_to_text

USER_AGENT = "Accord social listening"


def obj(value: Any) -> dict[str, Any]:
    """``value`` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def id_key(status_id: str) -> str:
    """A status id written so that text order is id order."""
    return status_id.zfill(24)


def id_of(key: str) -> str:
    """The status id an :func:`id_key` stands for."""
    return key.lstrip("0") or "0"


def newer(a: str, b: str | None) -> bool:
    """Whether status id ``a`` is after ``b`` (ids are decimal numbers in strings)."""
    return b is None or id_key(a) > id_key(b)


def retry_after(response: httpx.Response) -> float:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), else until
    ``X-RateLimit-Reset``, else a minute."""
    after = (response.headers.get("retry-after") or "").strip()
    if after.isdigit():
        return max(1.0, float(after))
    if after:
        try:
            return max(1.0, parsedate_to_datetime(after).timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    reset = reset_time(response)
    return max(1.0, reset - time.time()) if reset else 60.0


def reset_time(response: httpx.Response) -> float | None:
    """``X-RateLimit-Reset`` (an ISO 8601 timestamp) as epoch seconds."""
    value = response.headers.get("x-ratelimit-reset")
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp()


class MastodonError(SourceError):
    """A request the instance refused, with the HTTP ``status`` it answered."""

    def __init__(
        self,
        message: str,
        *,
        status: int,
        permanent: bool = False,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, permanent=permanent, retry_after=retry_after)
        self.status = status


def error_of(response: httpx.Response, what: str) -> MastodonError:
    """A refusal as a SourceError: 429 waits, other 4xx are permanent, 5xx are not."""
    try:
        body = response.json()
    except ValueError:
        body = {}
    text = body.get("error") if isinstance(body, dict) else None
    status = response.status_code
    message = f"Mastodon answered {status} to {what}" + (f": {text}" if text else "")
    if status == 429:
        return MastodonError(message, status=status, retry_after=retry_after(response))
    permanent = 400 <= status < 500 and status not in (408, 409)
    return MastodonError(message, status=status, permanent=permanent)


class Api:
    """One source's REST client for the length of one operation."""

    def __init__(self, source: SourceConfig, gate: Gate, timeout: float) -> None:
        self.base = http_url(source.settings.get("instance"), "instance")
        self.token = str(source.credentials.get("access_token") or "").strip()
        self.gate = gate
        self.host = urlsplit(self.base).netloc
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        self.http = httpx.Client(timeout=timeout, headers=headers, follow_redirects=False)

    def close(self) -> None:
        """Close the connections."""
        self.http.close()

    def spent(self) -> bool:
        """Whether the instance said its rate limit is spent for now."""
        return self.gate.wait_for(self.host) > 0

    def send(
        self,
        method: str,
        target: str,
        *,
        params: Any = None,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        """A request to a path, or to a full URL on the instance (a ``Link``)."""
        url = target if target.startswith(self.base + "/") else self.base + target
        wait = self.gate.wait_for(self.host)
        if wait > 0:
            raise SourceError(f"Mastodon's rate limit for {self.host} is spent", retry_after=wait)
        try:
            response = self.http.request(method, url, params=params, json=body, headers=headers)
        except httpx.HTTPError as exc:
            raise SourceError(f"Mastodon could not be reached: {exc}") from exc
        if response.status_code == 429:
            self.gate.block(self.host, time.time() + retry_after(response))
        elif (response.headers.get("x-ratelimit-remaining") or "").strip() == "0":
            reset = reset_time(response)
            if reset:
                self.gate.block(self.host, reset)
        if response.status_code >= 300:
            raise error_of(response, f"{method} {urlsplit(url).path}")
        return response

    def get(self, target: str, params: Any = None) -> tuple[Any, httpx.Response]:
        """A GET's JSON and its response (for the headers)."""
        response = self.send("GET", target, params=params)
        try:
            return response.json(), response
        except ValueError as exc:
            raise SourceError(f"Mastodon answered {target} with something not JSON") from exc


class Gate:
    """Hosts that asked to be left alone until a given time (shared between calls)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}
        self.accounts: dict[tuple[str, str], str] = {}  # (instance, token digest) -> acct

    def block(self, host: str, until: float) -> None:
        """Leave ``host`` alone until ``until`` (epoch seconds)."""
        with self._lock:
            self._until[host] = max(until, self._until.get(host, 0.0))

    def wait_for(self, host: str) -> float:
        """Seconds until ``host`` may be called again (0: now)."""
        with self._lock:
            return max(0.0, self._until.get(host, 0.0) - time.time())


def http_url(value: Any, name: str) -> str:
    """A setting that must be an http(s) base URL (without a trailing slash)."""
    url = str(value or "").strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(f"the Mastodon {name} must be an http(s) URL", permanent=True)
    return url


def qualified(acct: str, domain: str) -> str:
    """An account's ``acct`` with its domain: local accounts have none ("alice" on
    mastodon.social is "alice@mastodon.social")."""
    acct = acct.lstrip("@")
    return acct if "@" in acct or not acct or not domain else f"{acct}@{domain}"


def statuses(data: Any) -> list[dict[str, Any]]:
    """The statuses of a JSON list (anything without an id and a uri left out)."""
    items = data if isinstance(data, list) else []
    return [s for s in items if isinstance(s, dict) and s.get("id") and s.get("uri")]


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def to_post(status: dict[str, Any], domain: str, parents: dict[str, str]) -> Post:
    """A Mastodon ``Status`` as a Post (a reblog is the status it shares)."""
    status = obj(status.get("reblog")) or status
    account = obj(status.get("account"))
    acct = qualified(str(account.get("acct") or account.get("username") or ""), domain)
    try:
        created = datetime.fromisoformat(str(status.get("created_at")).replace("Z", "+00:00"))
    except ValueError:
        created = datetime.now(UTC)
    parent = status.get("in_reply_to_id")
    raw = {k: v for k, v in status.items() if k not in ("account", "emojis", "filtered")}
    raw["account"] = {
        k: account.get(k) for k in ("id", "username", "acct", "display_name", "url", "uri")
    }
    return Post(
        network="mastodon",
        external_id=str(status["uri"]),
        text=html_to_text(str(status.get("content") or "")),
        posted_at=(created if created.tzinfo else created.replace(tzinfo=UTC)).astimezone(UTC),
        author_handle=acct,
        url=str(status.get("url") or status["uri"]),
        author_name=str(account.get("display_name") or "") or None,
        author_id=str(account["id"]) if account.get("id") else None,
        author_url=str(account["url"]) if account.get("url") else None,
        followers=_count(account.get("followers_count")),
        following=_count(account.get("following_count")),
        author_posts=_count(account.get("statuses_count")),
        likes=_count(status.get("favourites_count")) or 0,
        reposts=_count(status.get("reblogs_count")) or 0,
        replies=_count(status.get("replies_count")) or 0,
        lang=str(status["language"]) if status.get("language") else None,
        title=str(status.get("spoiler_text") or "") or None,
        reply_to=parents.get(str(parent)) if parent else None,
        thread_root=None,
        reply_ref={"id": str(status["id"]), "acct": acct},
        raw=raw,
    )
