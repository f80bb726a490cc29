"""What every connector hands the listening pipeline, and what it is handed.

A connector is stateless: it is given a source's configuration (with its credentials
decrypted), the position it stopped at (``cursor``, a JSON-able dict that the connector
alone understands) and the listening terms, and returns a :class:`Batch`: the posts it
heard and the position after them. The pipeline stores the posts and the new cursor in
one transaction, so a crash between the two repeats a batch (posts are unique per
network and id) and never skips one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

# The networks Accord listens on. ``webhook`` and ``import`` carry posts from any other
# listening tool (their own network name is kept in ``Post.network`` when they give one).
NETWORKS = ("bluesky", "mastodon", "reddit", "rss", "webhook", "import")


@dataclass(frozen=True)
class Post:
    """One public post (or comment, or feed entry) as a network describes it."""

    network: str  # "bluesky", "mastodon", "reddit", "rss" or the tool's network name
    external_id: str  # unique within the network: an at:// URI, a status URL, t3_/t1_ name...
    text: str
    posted_at: datetime  # timezone-aware (UTC)
    author_handle: str  # "alice.bsky.social", "alice@mastodon.social", "alice" (Reddit)
    url: str | None = None  # where a person reads it
    author_name: str | None = None
    author_id: str | None = None  # a DID, an account id, a Reddit t2_ name
    author_url: str | None = None
    followers: int | None = None  # None: the network did not say
    following: int | None = None
    author_posts: int | None = None
    likes: int = 0
    reposts: int = 0
    replies: int = 0
    lang: str | None = None  # BCP 47 as given ("en", "pt-BR")
    title: str | None = None  # a Reddit submission's or a feed entry's title
    reply_to: str | None = None  # external_id of the post this answers
    thread_root: str | None = None  # external_id of the thread's first post
    # What a reply needs later (Bluesky: uri and cid of the post and of its root;
    # Mastodon: the status id on the source's instance; Reddit: the fullname).
    reply_ref: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict)  # the payload as received (trimmed)


@dataclass
class Batch:
    """What one fetch heard, and where the next fetch starts."""

    posts: list[Post]
    cursor: dict[str, Any]
    more: bool = False  # True: more is waiting right now (fetch again without waiting)


@dataclass(frozen=True)
class SourceConfig:
    """A source as its connector needs it."""

    kind: str  # one of NETWORKS
    settings: dict[str, Any]  # instance URL, feed URL, subreddits, hashtags... (per kind)
    credentials: dict[str, str]  # decrypted: app password, access token, client secret...


@dataclass(frozen=True)
class Delivered:
    """A reply the network accepted: its id and where to read it."""

    external_id: str
    url: str | None = None


class SourceError(Exception):
    """A fetch or a reply that failed. ``permanent``: retrying will not help (bad
    credentials, an unknown feed); otherwise the poller backs off and tries again.
    ``retry_after``: seconds the network asked to wait (a rate limit)."""

    def __init__(
        self, message: str, *, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.retry_after = retry_after


class Connector(Protocol):
    kind: str

    def fetch(
        self, source: SourceConfig, cursor: dict[str, Any], terms: list[str], limit: int
    ) -> Batch:
        """At most about ``limit`` posts after ``cursor`` that may match ``terms`` (the
        connector may pre-filter by the terms; the pipeline decides what matches)."""
        ...


class Replier(Protocol):
    def reply(
        self, source: SourceConfig, post: Post, text: str, *, private: bool = False
    ) -> Delivered:
        """Answer ``post`` publicly, or (``private``) by a direct message to its author
        where the network has them. Raises :class:`SourceError`."""
        ...


class Streamer(Protocol):
    def stream(
        self,
        source: SourceConfig,
        cursor: dict[str, Any],
        terms: list[str],
        stopping: Callable[[], bool],
    ) -> Iterator[Batch]:
        """Batches as they are heard live, each with the cursor after it, until
        ``stopping()`` is true or the connection drops (then the caller resumes with
        ``fetch`` from the last cursor before streaming again)."""
        ...
