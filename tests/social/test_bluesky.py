"""The Bluesky connector against a loopback PDS, AppView and Jetstream speaking XRPC."""

from __future__ import annotations

import bisect
import random
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accord.social.sources.base import Batch, Post, SourceError
from accord.social.sources.bluesky import BlueskyConnector
from accord.social.sources.bluesky_posts import TID_SHAPE
from accord.social.sources.positions import TIE_PAGES, Found, Window, advance
from tests.social.servers.bluesky import CHAT, Account, BlueskyServer, bluesky_server, fixture


@pytest.fixture
def server() -> Iterator[BlueskyServer]:
    with bluesky_server() as running:
        yield running


@pytest.fixture
def robin(server: BlueskyServer) -> Account:
    return server.account(
        "robin.example.social", "Robin Example", followers=1843, follows=412, posts=5120
    )


def drain(
    connector: BlueskyConnector,
    server: BlueskyServer,
    cursor: dict[str, Any],
    terms: list[str],
    limit: int,
    **settings: Any,
) -> tuple[list[Post], dict[str, Any], int]:
    """Fetch until nothing more is waiting: every post, the last cursor, the calls made."""
    posts: list[Post] = []
    calls = 0
    while True:
        batch = connector.fetch(server.source(**settings), cursor, terms, limit)
        calls += 1
        assert len(batch.posts) <= limit
        posts.extend(batch.posts)
        cursor = batch.cursor
        if not batch.more:
            return posts, cursor, calls
        assert calls < 100, "fetch never caught up"


# --- search ------------------------------------------------------------------------------


def test_a_searched_post_is_mapped_field_by_field(server: BlueskyServer, robin: Account) -> None:
    assert server.brand is not None
    original = server.post(server.brand, "Our export is back: thanks for waiting.")
    question = server.post(robin, "Is the brand down again?", likes=2)
    text = "Still waiting on @brand.example.com to answer my ticket about the export."
    facet = {
        "index": {"byteStart": 17, "byteEnd": 35},
        "features": [{"$type": "app.bsky.richtext.facet#mention", "did": server.brand.did}],
    }
    reply = server.post(
        robin,
        text,
        reply_to=question,
        langs=["en", "fr"],
        likes=7,
        reposts=1,
        replies=2,
        facets=[facet],
    )
    connector = BlueskyConnector(timeout=5)

    first = connector.fetch(server.source(), {}, ["brand"], 50)

    # The brand's own post is not heard; the other two come oldest first.
    assert [p.external_id for p in first.posts] == [question["uri"], reply["uri"]]
    post = first.posts[1]
    rkey = reply["uri"].rsplit("/", 1)[1]
    assert post.network == "bluesky"
    assert post.external_id == f"at://{robin.did}/app.bsky.feed.post/{rkey}"
    assert post.text == text
    assert post.posted_at == datetime.fromisoformat(reply["record"]["createdAt"])
    assert post.posted_at.tzinfo is not None
    assert post.author_handle == "robin.example.social"
    assert post.url == f"https://bsky.app/profile/robin.example.social/post/{rkey}"
    assert post.author_name == "Robin Example"
    assert post.author_id == robin.did
    assert post.author_url == "https://bsky.app/profile/robin.example.social"
    assert (post.followers, post.following) == (1843, 412)
    assert post.author_posts == robin.posts
    assert (post.likes, post.reposts, post.replies) == (7, 1, 2)
    assert post.lang == "en"
    assert post.title is None
    assert post.reply_to == question["uri"]
    assert post.thread_root == question["uri"]
    assert post.reply_ref == {
        "uri": reply["uri"],
        "cid": reply["cid"],
        "root_uri": question["uri"],
        "root_cid": question["cid"],
    }
    assert post.raw["record"]["facets"] == [facet]
    assert "viewer" not in post.raw
    # A post that starts a thread is its own root.
    assert first.posts[0].reply_to is None
    assert first.posts[0].thread_root is None
    assert first.posts[0].reply_ref["root_uri"] == question["uri"]
    assert original["uri"] not in {p.external_id for p in first.posts}
    # Followers came from getProfiles, asked once for the batch's authors.
    asked = server.asked("app.bsky.actor.getProfiles")
    assert len(asked) == 1
    assert [v for k, v in asked[0]["params"] if k == "actors"] == [robin.did]


def test_search_asks_the_way_the_api_is_asked(server: BlueskyServer, robin: Account) -> None:
    server.post(robin, "brand one")
    first = BlueskyConnector(timeout=5).fetch(server.source(), {}, ["brand"], 10)
    server.post(robin, "brand two")
    BlueskyConnector(timeout=5).fetch(server.source(), first.cursor, ["brand"], 10)

    searches = server.asked("app.bsky.feed.searchPosts")
    params = dict(searches[-1]["params"])
    assert params["q"] == "brand"
    assert params["sort"] == "latest"
    assert params["limit"] == "100"
    # Resuming asks only for what is at or after the mark.
    assert datetime.fromisoformat(params["since"]) == first.posts[0].posted_at
    assert searches[-1]["headers"]["authorization"].startswith("Bearer eyJ")


def test_resume_after_a_restart_has_no_gap_and_no_duplicate(
    server: BlueskyServer, robin: Account
) -> None:
    for n in range(3):
        server.post(robin, f"brand early {n}")
    first = BlueskyConnector(timeout=5).fetch(server.source(), {}, ["brand"], 50)
    assert [p.text for p in first.posts] == [f"brand early {n}" for n in range(3)]

    # Far more than a page arrives while the poller is down, some at one same instant.
    expected = []
    for n in range(230):
        expected.append(server.post(robin, f"brand late {n}")["uri"])
    same = server.clock + timedelta(seconds=3)
    for n in range(4):
        expected.append(server.post(robin, f"brand tied {n}", at=same)["uri"])

    # A new connector object, given only the saved cursor.
    posts, cursor, calls = drain(BlueskyConnector(timeout=5), server, first.cursor, ["brand"], 40)
    assert sorted(p.external_id for p in posts) == sorted(expected)
    assert len(posts) == len(set(p.external_id for p in posts)) == 234
    assert [p.posted_at for p in posts] == sorted(p.posted_at for p in posts)
    assert calls >= 6

    # Posts that arrive between fetches, one at the very instant of the mark.
    late_tie = server.post(robin, "brand tied late", at=same)
    newer = server.post(robin, "brand newest")
    again, cursor, _ = drain(BlueskyConnector(timeout=5), server, cursor, ["brand"], 40)
    assert [p.external_id for p in again] == [late_tie["uri"], newer["uri"]]
    nothing, _, _ = drain(BlueskyConnector(timeout=5), server, cursor, ["brand"], 40)
    assert nothing == []


def test_a_backlog_beyond_the_page_budget_is_walked_down_in_bounded_calls(
    server: BlueskyServer, robin: Account
) -> None:
    first = BlueskyConnector(timeout=5).fetch(server.source(), {}, ["brand"], 10)
    assert first.posts == []
    server.post(robin, "brand zero")
    start = BlueskyConnector(timeout=5).fetch(server.source(), first.cursor, ["brand"], 10)
    expected = [server.post(robin, f"brand {n}")["uri"] for n in range(450)]

    before = len(server.asked("app.bsky.feed.searchPosts"))
    posts, _, calls = drain(
        BlueskyConnector(timeout=5), server, start.cursor, ["brand"], 100, pages=2
    )
    asked = len(server.asked("app.bsky.feed.searchPosts")) - before
    assert [p.external_id for p in posts] == expected
    assert asked <= 2 * calls  # never more than the budget of pages per call


def test_a_post_heard_under_two_terms_is_returned_once(
    server: BlueskyServer, robin: Account
) -> None:
    connector = BlueskyConnector(timeout=5)
    first = connector.fetch(server.source(), {}, ["brand", "export"], 50)
    both = server.post(robin, "the brand export is broken")
    one = server.post(robin, "export only")
    other = server.post(robin, "brand only")
    posts, _, _ = drain(BlueskyConnector(timeout=5), server, first.cursor, ["brand", "export"], 1)
    assert sorted(p.external_id for p in posts) == sorted([both["uri"], one["uri"], other["uri"]])


def test_profiles_are_asked_25_at_a_time(server: BlueskyServer) -> None:
    people = [server.account(f"person{n}.example.social", followers=n) for n in range(30)]
    connector = BlueskyConnector(timeout=5)
    first = connector.fetch(server.source(), {}, ["brand"], 50)
    for person in people:
        server.post(person, "brand please")
    batch = connector.fetch(server.source(), first.cursor, ["brand"], 50)
    assert [p.followers for p in batch.posts] == list(range(30))
    calls = server.asked("app.bsky.actor.getProfiles")[-2:]
    assert sorted(len([1 for k, _ in c["params"] if k == "actors"]) for c in calls) == [5, 25]


# --- sessions and errors -----------------------------------------------------------------


def test_an_expired_token_is_refreshed_and_the_call_made_again(
    server: BlueskyServer, robin: Account
) -> None:
    connector = BlueskyConnector(timeout=5)
    first = connector.fetch(server.source(), {}, ["brand"], 10)
    server.post(robin, "brand after expiry")
    server.expire_tokens()
    batch = connector.fetch(server.source(), first.cursor, ["brand"], 10)
    assert [p.text for p in batch.posts] == ["brand after expiry"]
    assert len(server.asked("com.atproto.server.createSession")) == 1
    assert len(server.asked("com.atproto.server.refreshSession")) == 1


def test_a_refused_refresh_logs_in_again(server: BlueskyServer, robin: Account) -> None:
    connector = BlueskyConnector(timeout=5)
    first = connector.fetch(server.source(), {}, ["brand"], 10)
    server.post(robin, "brand after a long night")
    server.expire_tokens()
    server.refresh_tokens.clear()  # the refresh token has expired too
    batch = connector.fetch(server.source(), first.cursor, ["brand"], 10)
    assert [p.text for p in batch.posts] == ["brand after a long night"]
    assert len(server.asked("com.atproto.server.createSession")) == 2


def test_bad_credentials_are_permanent(server: BlueskyServer) -> None:
    source = server.source()
    source.credentials["app_password"] = "wrong"
    with pytest.raises(SourceError) as caught:
        BlueskyConnector(timeout=5).fetch(source, {}, ["brand"], 10)
    assert caught.value.permanent
    assert "credentials" in caught.value.message


def test_search_without_an_account_is_refused_for_good(server: BlueskyServer) -> None:
    with pytest.raises(SourceError) as caught:
        BlueskyConnector(timeout=5).fetch(server.source(signed_in=False), {}, ["brand"], 10)
    assert caught.value.permanent
    assert "account" in caught.value.message


def test_search_without_an_account_where_the_appview_allows_it(
    server: BlueskyServer, robin: Account
) -> None:
    server.search_needs_auth = False
    server.post(robin, "brand in public")
    batch = BlueskyConnector(timeout=5).fetch(server.source(signed_in=False), {}, ["brand"], 10)
    assert [p.text for p in batch.posts] == ["brand in public"]
    assert batch.posts[0].followers == 1843
    assert server.asked("com.atproto.server.createSession") == []


def test_a_rate_limit_gives_retry_after_and_holds_later_calls(
    server: BlueskyServer, robin: Account
) -> None:
    connector = BlueskyConnector(timeout=5)
    first = connector.fetch(server.source(), {}, ["brand"], 10)
    server.throttle("app.bsky.feed.searchPosts", reset_in=120)
    with pytest.raises(SourceError) as caught:
        connector.fetch(server.source(), first.cursor, ["brand"], 10)
    assert not caught.value.permanent
    assert caught.value.retry_after is not None
    assert 60 < caught.value.retry_after <= 120
    asked = len(server.asked("app.bsky.feed.searchPosts"))
    with pytest.raises(SourceError) as again:
        connector.fetch(server.source(), first.cursor, ["brand"], 10)
    assert again.value.retry_after is not None
    assert len(server.asked("app.bsky.feed.searchPosts")) == asked  # not sent


def test_a_server_error_is_transient(server: BlueskyServer) -> None:
    server.fail("app.bsky.feed.searchPosts", 502)
    with pytest.raises(SourceError) as caught:
        BlueskyConnector(timeout=5).fetch(server.source(), {}, ["brand"], 10)
    assert not caught.value.permanent
    assert caught.value.retry_after is None


def test_an_unreachable_server_is_transient(server: BlueskyServer) -> None:
    source = server.source(service="http://127.0.0.1:9")
    with pytest.raises(SourceError) as caught:
        BlueskyConnector(timeout=2).fetch(source, {}, ["brand"], 10)
    assert not caught.value.permanent


def test_settings_must_be_web_addresses(server: BlueskyServer) -> None:
    with pytest.raises(SourceError) as caught:
        BlueskyConnector().fetch(server.source(service="file:///etc/passwd"), {}, ["x"], 10)
    assert caught.value.permanent
    with pytest.raises(SourceError):
        BlueskyConnector().fetch(
            server.source(mode="jetstream", jetstream="http://127.0.0.1:1"), {}, ["x"], 10
        )


def test_a_setting_that_is_not_a_number_is_permanent(server: BlueskyServer) -> None:
    with pytest.raises(SourceError) as caught:
        BlueskyConnector().fetch(server.source(pages="many"), {}, ["brand"], 10)
    assert caught.value.permanent
    assert "pages" in caught.value.message


# --- replies -----------------------------------------------------------------------------


def heard(
    server: BlueskyServer, author: Account, text: str, reply_to: dict[str, Any] | None = None
) -> Post:
    view = server.post(author, text, reply_to=reply_to)
    batch = BlueskyConnector(timeout=5).fetch(server.source(), {}, [text.split()[0]], 10)
    return next(p for p in batch.posts if p.external_id == view["uri"])


def test_a_public_reply_is_a_post_in_the_thread(server: BlueskyServer, robin: Account) -> None:
    question = server.post(robin, "Hello brand, is the export down?")
    post = heard(server, robin, "brand? the export still fails", reply_to=question)
    text = "@robin.example.social sorry: fixed now, see https://status.example.com/x"

    delivered = BlueskyConnector(timeout=5).reply(server.source(), post, text)

    [written] = server.written()
    record = written["value"]
    assert record["$type"] == "app.bsky.feed.post"
    assert record["text"] == text
    assert datetime.fromisoformat(record["createdAt"]).tzinfo is not None
    assert record["reply"] == {
        "root": {"uri": question["uri"], "cid": question["cid"]},
        "parent": {"uri": post.external_id, "cid": post.reply_ref["cid"]},
    }
    mention, link = record["facets"]
    assert mention["features"] == [{"$type": "app.bsky.richtext.facet#mention", "did": robin.did}]
    encoded = text.encode()
    assert encoded[mention["index"]["byteStart"] : mention["index"]["byteEnd"]] == (
        b"@robin.example.social"
    )
    assert link["features"][0]["uri"] == "https://status.example.com/x"
    assert encoded[link["index"]["byteStart"] : link["index"]["byteEnd"]] == (
        b"https://status.example.com/x"
    )
    rkey = written["uri"].rsplit("/", 1)[1]
    assert TID_SHAPE.match(rkey)
    assert delivered.external_id == written["uri"]
    assert delivered.url == f"https://bsky.app/profile/brand.example.com/post/{rkey}"


def test_a_retried_reply_is_posted_once(server: BlueskyServer, robin: Account) -> None:
    post = heard(server, robin, "brand help please")
    connector = BlueskyConnector(timeout=5)
    # The PDS writes the record but the answer is lost on the way back: the record is
    # found under its key.
    server.fail("com.atproto.repo.createRecord", 502, perform=True)
    first = connector.reply(server.source(), post, "On it!")
    assert len(server.asked("com.atproto.repo.getRecord")) == 1
    # Sent again (the delivery queue retries): the PDS refuses the taken key.
    second = BlueskyConnector(timeout=5).reply(server.source(), post, "On it!")
    assert len(server.asked("com.atproto.repo.createRecord")) == 2
    assert len(server.written()) == 1
    assert first == second
    assert first.external_id == server.written()[0]["uri"]
    # Another text to the same post is another reply.
    other = connector.reply(server.source(), post, "Fixed now.")
    assert other.external_id != first.external_id
    assert len(server.written()) == 2


def test_a_private_reply_is_a_chat_message(server: BlueskyServer, robin: Account) -> None:
    post = heard(server, robin, "brand my order number is private")
    connector = BlueskyConnector(timeout=5)

    delivered = connector.reply(
        server.source(), post, "Hi Robin, we will write today.", private=True
    )
    again = connector.reply(server.source(), post, "Hi Robin, we will write today.", private=True)

    assert server.written() == []
    [(members, convo_id)] = server.convos.items()
    assert members == frozenset({robin.did, server.brand.did if server.brand else ""})
    [message] = server.messages[convo_id]
    assert message["text"] == "Hi Robin, we will write today."
    assert delivered == again
    assert delivered.external_id == f"{convo_id}:{message['id']}"
    chat_calls = [r for r in server.requests if r["nsid"].startswith("chat.")]
    assert chat_calls
    assert all(r["headers"]["atproto-proxy"] == CHAT for r in chat_calls)


# --- Jetstream ---------------------------------------------------------------------------


# Jetstream mode; a second without an event is the live edge.
JET: dict[str, Any] = {"mode": "jetstream", "idle_seconds": 1.0, "fetch_seconds": 5}


def test_jetstream_keeps_new_posts_naming_a_term(server: BlueskyServer, robin: Account) -> None:
    sam = server.account("sam.example.net", "Sam", followers=12)
    first = BlueskyConnector(timeout=5).fetch(server.source(**JET), {}, ["brand"], 10)
    assert first.posts == []
    assert not first.more
    assert isinstance(first.cursor["time_us"], int)

    server.post(robin, "Nothing to see")
    wanted = server.post(robin, "Is #Brand down?", langs=["en"])
    server.post(sam, "The brandname is not it")
    also = server.post(sam, "cc @brand.example.com")
    last = server.events[-1]["time_us"]
    deleted = dict(fixture("bluesky_jetstream_events.json")[1], did=robin.did, time_us=last + 1)
    deleted["commit"] = dict(deleted["commit"], rkey=wanted["uri"].rsplit("/", 1)[1])
    server.event(deleted)
    last += 1
    server.event(
        {
            "did": sam.did,
            "time_us": last + 1,
            "kind": "identity",
            "identity": {"did": sam.did, "handle": sam.handle},
        }
    )

    batch = BlueskyConnector(timeout=5).fetch(server.source(**JET), first.cursor, ["brand"], 10)
    assert [p.external_id for p in batch.posts] == [wanted["uri"], also["uri"]]
    post = batch.posts[0]
    assert post.author_handle == "robin.example.social"
    assert post.followers == 1843
    assert (
        post.url
        == f"https://bsky.app/profile/robin.example.social/post/{wanted['uri'].rsplit('/', 1)[1]}"
    )
    assert post.reply_ref["cid"] == wanted["cid"]
    assert post.posted_at == datetime.fromisoformat(wanted["record"]["createdAt"])
    assert post.raw["kind"] == "commit"
    assert not batch.more


def test_jetstream_resumes_at_its_cursor_without_repeats(
    server: BlueskyServer, robin: Account
) -> None:
    source = server.source(**JET)
    start = BlueskyConnector(timeout=5).fetch(source, {}, ["brand"], 10)
    tied = start.cursor["time_us"] + 1000
    uris = [server.post(robin, f"brand {n}", time_us=tied + n // 2)["uri"] for n in range(6)]

    # Three at a time: the cursor stops inside a pair of events sharing one time_us.
    seen: list[str] = []
    cursor = start.cursor
    for _ in range(5):
        batch = BlueskyConnector(timeout=5).fetch(source, cursor, ["brand"], 3)
        seen.extend(p.external_id for p in batch.posts)
        cursor = batch.cursor
        if not batch.more:
            break
    assert seen == uris
    # The resumed subscription asked from the saved instant.
    assert cursor["time_us"] == tied + 2
    later = server.post(robin, "brand later", time_us=tied + 10)
    batch = BlueskyConnector(timeout=5).fetch(source, cursor, ["brand"], 3)
    assert [p.external_id for p in batch.posts] == [later["uri"]]


def test_jetstream_streams_batches_until_told_to_stop(
    server: BlueskyServer, robin: Account
) -> None:
    source = server.source(**JET, flush_seconds=0.2)
    start = BlueskyConnector(timeout=5).fetch(source, {}, ["brand"], 10)
    expected = [server.post(robin, f"brand live {n}")["uri"] for n in range(3)]
    heard_uris: list[str] = []
    batches: list[Batch] = []
    added = threading.Event()

    def stopping() -> bool:
        if not added.is_set():
            added.set()
            expected.append(server.post(robin, "brand while streaming")["uri"])
        return len(heard_uris) >= 4

    for batch in BlueskyConnector(timeout=5).stream(source, start.cursor, ["brand"], stopping):
        batches.append(batch)
        heard_uris.extend(p.external_id for p in batch.posts)
    assert heard_uris == expected
    # The last cursor resumes after everything streamed.
    after = BlueskyConnector(timeout=5).fetch(source, batches[-1].cursor, ["brand"], 10)
    assert after.posts == []


def test_search_mode_does_not_stream(server: BlueskyServer) -> None:
    with pytest.raises(SourceError) as caught:
        next(iter(BlueskyConnector().stream(server.source(), {}, ["brand"], lambda: True)))
    assert caught.value.permanent


def test_a_reply_key_is_a_valid_tid_and_stable() -> None:
    from accord.social.sources.bluesky_posts import reply_rkey

    post = Post(
        network="bluesky",
        external_id="at://did:plc:abc/app.bsky.feed.post/3lbqxnbq6hc2c",
        text="x",
        posted_at=datetime(2024, 11, 21, 16, 4, 51, tzinfo=UTC),
        author_handle="a.example",
    )
    key = reply_rkey(post, "thanks")
    assert TID_SHAPE.match(key)
    assert key == reply_rkey(post, "thanks")
    assert key != reply_rkey(post, "thanks!")


# --- the search window, against a newest-first engine ------------------------------------


class Engine:
    """A search that answers newest first, ``since`` inclusive and ``until`` exclusive
    (both rounded down to ``grain`` key units, as coarse servers do), paged by offset.
    Items arrive in key order."""

    def __init__(self, grain: int = 1) -> None:
        self.items: list[Found] = []
        self.keys: list[int] = []
        self.grain = grain
        self.asked = 0

    def add(self, key: int) -> Found:
        item = Found(key=f"{key:012d}", id=f"i{len(self.items)}", data={})
        self.items.append(item)
        self.keys.append(key)
        return item

    def page(
        self, since: str | None, upper: str | None, token: str | None, size: int
    ) -> tuple[list[Found], str | None]:
        self.asked += 1
        low = bisect.bisect_left(self.keys, int(since) // self.grain * self.grain) if since else 0
        high = (
            bisect.bisect_left(self.keys, int(upper) // self.grain * self.grain)
            if upper
            else len(self.keys)
        )
        offset = int(token or 0)
        end = max(high - offset, low)
        hits = self.items[max(end - size, low) : end][::-1]
        return hits, (str(offset + size) if end - size > low else None)


@pytest.mark.parametrize("seed", range(30))
def test_the_window_walk_misses_nothing_and_repeats_nothing(seed: int) -> None:
    rng = random.Random(seed)
    engine = Engine(grain=rng.choice([1, 1, 5]))
    clock = 1000
    for _ in range(rng.randint(0, 30)):
        clock += rng.choice([0, 0, 1, 2])
        engine.add(clock)
    window = Window()
    returned: list[Found] = []
    first = True
    for _ in range(150):
        for _ in range(rng.choice([0, 0, 0, 5, 40, 150])):
            clock += rng.choice([0, 0, 1, 3])
            engine.add(clock)
        pages = rng.randint(1, 3)
        before = engine.asked
        found, window, more = advance(
            Window.load(window.dump()),
            engine.page,
            room=rng.randint(1, 60),
            page_size=rng.choice([7, 20]),
            pages=pages,
        )
        assert engine.asked - before <= pages * TIE_PAGES
        if first:
            # Listening starts at the newest results (the rest of their instant is new).
            below = {i.id for i in engine.items if i.key < (window.mark or "")}
            start = below - {i.id for i in found}
            first = False
        returned.extend(found)
        if not more and rng.random() < 0.2:
            break
    while True:  # no more arrivals: catch up
        found, window, more = advance(window, engine.page, room=50, page_size=20, pages=2)
        returned.extend(found)
        if not more:
            break
    ids = [i.id for i in returned]
    assert len(ids) == len(set(ids))
    assert set(ids) == {i.id for i in engine.items} - start
