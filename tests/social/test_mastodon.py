"""The Mastodon connector against a loopback instance speaking its REST and streaming
APIs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from accord.social.sources.base import Batch, Post, SourceError
from accord.social.sources.mastodon import MastodonConnector
from accord.social.sources.mastodon_api import qualified, to_post
from accord.social.sources.mastodon_text import html_to_text, links, sse_events
from tests.social.servers.mastodon import TOKEN, Account, MastodonServer, mastodon_server

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TAG = "BrandExample"


@pytest.fixture
def server() -> Iterator[MastodonServer]:
    with mastodon_server() as running:
        yield running


@pytest.fixture
def robin(server: MastodonServer) -> Account:
    return server.account("robin", "Robin Example", followers=1843, following=412, statuses=5119)


def drain(
    server: MastodonServer, cursor: dict[str, Any], limit: int, **settings: Any
) -> tuple[list[Post], dict[str, Any], int]:
    """Fetch (each time with a new connector) until nothing more is waiting."""
    posts: list[Post] = []
    calls = 0
    while True:
        batch = MastodonConnector(timeout=5).fetch(server.source(**settings), cursor, [], limit)
        calls += 1
        assert len(batch.posts) <= limit
        posts.extend(batch.posts)
        cursor = batch.cursor
        if not batch.more:
            return posts, cursor, calls
        assert calls < 100, "fetch never caught up"


def tagged(**more: Any) -> dict[str, Any]:
    return {"hashtags": [f"#{TAG}"], "keywords": [], **more}


# --- mapping -----------------------------------------------------------------------------


def test_a_status_is_mapped_field_by_field(server: MastodonServer, robin: Account) -> None:
    recorded = json.loads((FIXTURES / "mastodon_tag_timeline.json").read_text())
    kim = server.account("kim", "Kim", domain="fosstodon.example", followers=88)
    assert server.brand is not None
    parent = server.status(server.brand, "<p>The export is back.</p>")
    question = server.status(kim, recorded[1]["content"], tags=[TAG], language="de")
    status = server.status(
        robin,
        recorded[0]["content"],
        tags=[TAG],
        reply_to=parent,
        spoiler="export bug",
        favourites=7,
        reblogs=1,
        replies=2,
    )

    batch = MastodonConnector(timeout=5).fetch(server.source(**tagged()), {}, [], 40)

    assert [p.external_id for p in batch.posts] == [question["uri"], status["uri"]]
    post = batch.posts[1]
    assert post.network == "mastodon"
    assert post.external_id == f"https://mastodon.example/users/robin/statuses/{status['id']}"
    assert post.url == f"https://mastodon.example/@robin/{status['id']}"
    assert post.text == (
        "@brand still waiting on my ticket & the export fails:\n"
        "see https://status.example.com/incidents/2024-11-21/export\n\n"
        "Any news? #BrandExample"
    )
    assert post.posted_at == datetime.fromisoformat(status["created_at"])
    assert post.author_handle == "robin@mastodon.example"
    assert post.author_name == "Robin Example"
    assert post.author_id == robin.id
    assert post.author_url == "https://mastodon.example/@robin"
    assert (post.followers, post.following, post.author_posts) == (1843, 412, 5120)
    assert (post.likes, post.reposts, post.replies) == (7, 1, 2)
    assert post.lang == "en"
    assert post.title == "export bug"
    assert post.reply_to == parent["uri"]  # the parent's uri, asked by its local id
    assert post.thread_root is None
    assert post.reply_ref == {"id": status["id"], "acct": "robin@mastodon.example"}
    assert post.raw["in_reply_to_id"] == parent["id"]
    assert post.raw["account"]["acct"] == "robin"
    # A remote account keeps its own domain; no spoiler is no title.
    other = batch.posts[0]
    assert other.author_handle == "kim@fosstodon.example"
    assert other.title is None
    assert other.lang == "de"
    assert other.reply_to is None
    assert other.text == "Hat jemand #BrandExample schon ausprobiert?"
    [asked] = server.asked("/api/v1/statuses")
    assert asked["params"] == [("id[]", parent["id"])]


def test_handles_are_qualified_with_the_instance() -> None:
    assert qualified("alice", "mastodon.social") == "alice@mastodon.social"
    assert qualified("bob@other.example", "mastodon.social") == "bob@other.example"
    assert qualified("@carol", "mastodon.social") == "carol@mastodon.social"


def test_the_domain_defaults_to_the_instance_host(server: MastodonServer, robin: Account) -> None:
    server.status(robin, "<p>hello</p>", tags=[TAG])
    source = server.source(**tagged())
    del source.settings["domain"]
    batch = MastodonConnector(timeout=5).fetch(source, {}, [], 40)
    assert batch.posts[0].author_handle == "robin@127.0.0.1"


def test_a_reblog_is_the_status_it_shares() -> None:
    wrapper = json.loads((FIXTURES / "mastodon_reblog.json").read_text())
    post = to_post(wrapper, "mastodon.example", {})
    assert post.external_id == wrapper["reblog"]["uri"]
    assert post.author_handle == "kim@fosstodon.example"
    assert post.reposts == 1
    assert post.reply_ref == {"id": wrapper["reblog"]["id"], "acct": "kim@fosstodon.example"}


def test_html_becomes_text() -> None:
    assert html_to_text("<p>One &amp; two</p><p>three<br>four<br />five</p>") == (
        "One & two\n\nthree\nfour\nfive"
    )
    assert html_to_text('<p>Go <a href="https://x.example/a">x.example/a</a> &lt;3</p>') == (
        "Go x.example/a <3"
    )
    assert (
        html_to_text(
            '<p><a href="https://example.com/a/b"><span class="invisible">https://</span>'
            '<span class="ellipsis">example.com/a</span><span class="invisible">/b</span></a></p>'
        )
        == "https://example.com/a/b"
    )
    assert html_to_text("<p>a</p>\n<ul><li>x</li><li>y</li></ul>") == "a\n\n- x\n- y"
    assert html_to_text("<p>caf&eacute; &#128512; &quot;q&quot;</p>") == 'café 😀 "q"'
    assert html_to_text("") == ""


def test_link_headers_and_event_streams_are_read() -> None:
    header = (
        '<https://m.example/api/v1/timelines/tag/x?max_id=7>; rel="next", '
        '<https://m.example/api/v1/timelines/tag/x?min_id=9>; rel="prev"'
    )
    assert links(header) == {
        "next": "https://m.example/api/v1/timelines/tag/x?max_id=7",
        "prev": "https://m.example/api/v1/timelines/tag/x?min_id=9",
    }
    recorded = (FIXTURES / "mastodon_stream.txt").read_text().splitlines()
    events = [(e, d) for e, d in sse_events(recorded) if e]
    assert [e for e, _ in events] == ["update", "delete"]
    assert json.loads(events[0][1])["id"] == "113521874039582204"
    assert events[1][1] == "113521860012234593"


# --- hashtags ------------------------------------------------------------------------------


def test_hashtag_resume_after_a_restart_has_no_gap_and_no_duplicate(
    server: MastodonServer, robin: Account
) -> None:
    for n in range(3):
        server.status(robin, f"<p>early {n}</p>", tags=[TAG])
    first = MastodonConnector(timeout=5).fetch(server.source(**tagged()), {}, [], 40)
    assert [p.text for p in first.posts] == [f"early {n} #{TAG}" for n in range(3)]

    expected = [server.status(robin, f"<p>late {n}</p>", tags=[TAG])["uri"] for n in range(95)]
    server.status(robin, "<p>not tagged</p>")
    posts, cursor, calls = drain(server, first.cursor, 30, **tagged())
    assert [p.external_id for p in posts] == expected
    assert calls == 4

    # The timeline was asked forward from the saved id, then along its Link header.
    asked = server.asked(f"/api/v1/timelines/tag/{TAG}")
    forward = [dict(a["params"]) for a in asked[1:]]
    assert forward[0]["min_id"] == first.cursor["tags"][TAG]
    assert all(int(f["limit"]) <= 30 for f in forward)
    assert [int(f["min_id"]) for f in forward] == sorted(int(f["min_id"]) for f in forward)

    # Statuses that arrive between fetches.
    newer = [server.status(robin, f"<p>newer {n}</p>", tags=[TAG])["uri"] for n in range(2)]
    again, cursor, _ = drain(server, cursor, 30, **tagged())
    assert [p.external_id for p in again] == newer
    nothing, _, _ = drain(server, cursor, 30, **tagged())
    assert nothing == []


def test_one_fetch_follows_the_link_header_across_pages(
    server: MastodonServer, robin: Account
) -> None:
    first = MastodonConnector(timeout=5).fetch(server.source(**tagged()), {}, [], 40)
    expected = [server.status(robin, f"<p>n{n}</p>", tags=[TAG])["uri"] for n in range(100)]
    batch = MastodonConnector(timeout=5).fetch(server.source(**tagged()), first.cursor, [], 200)
    assert [p.external_id for p in batch.posts] == expected
    assert not batch.more
    asked = [dict(a["params"]) for a in server.asked(f"/api/v1/timelines/tag/{TAG}")[1:]]
    assert len(asked) == 3  # 40, 40 and the last 20


def test_a_status_under_two_hashtags_is_returned_once(
    server: MastodonServer, robin: Account
) -> None:
    settings = {"hashtags": [TAG, "BrandHelp"], "keywords": []}
    first = MastodonConnector(timeout=5).fetch(server.source(**settings), {}, [], 40)
    both = server.status(robin, "<p>both</p>", tags=[TAG, "BrandHelp"])
    one = server.status(robin, "<p>one</p>", tags=["BrandHelp"])
    posts, _, _ = drain(server, first.cursor, 1, **settings)
    assert sorted(p.external_id for p in posts) == sorted([both["uri"], one["uri"]])


def test_the_brands_own_statuses_are_not_heard(server: MastodonServer, robin: Account) -> None:
    assert server.brand is not None
    server.status(server.brand, "<p>ours</p>", tags=[TAG])
    theirs = server.status(robin, "<p>theirs</p>", tags=[TAG])
    batch = MastodonConnector(timeout=5).fetch(server.source(**tagged()), {}, [], 40)
    assert [p.external_id for p in batch.posts] == [theirs["uri"]]


def test_a_token_that_may_not_read_its_account_still_listens(
    server: MastodonServer, robin: Account
) -> None:
    server.token_scopes = ("read:statuses", "write:statuses")
    theirs = server.status(robin, "<p>theirs</p>", tags=[TAG])
    batch = MastodonConnector(timeout=5).fetch(server.source(**tagged()), {}, [], 40)
    assert [p.external_id for p in batch.posts] == [theirs["uri"]]


def test_hashtags_are_read_without_a_token(server: MastodonServer, robin: Account) -> None:
    status = server.status(robin, "<p>public</p>", tags=[TAG])
    batch = MastodonConnector(timeout=5).fetch(server.source(token=None, **tagged()), {}, [], 40)
    assert [p.external_id for p in batch.posts] == [status["uri"]]
    assert "authorization" not in server.asked(f"/api/v1/timelines/tag/{TAG}")[0]["headers"]


# --- search ------------------------------------------------------------------------------


def test_keyword_search_resumes_without_gaps_or_duplicates(
    server: MastodonServer, robin: Account
) -> None:
    settings = {"keywords": ["export"]}
    server.status(robin, "<p>the export is slow</p>")
    first = MastodonConnector(timeout=5).fetch(server.source(**settings), {}, [], 40)
    assert [p.text for p in first.posts] == ["the export is slow"]

    expected = []
    for n in range(130):
        expected.append(server.status(robin, f"<p>export issue {n}</p>")["uri"])
        server.status(robin, f"<p>unrelated {n}</p>")
    posts, cursor, _ = drain(server, first.cursor, 25, pages=2, **settings)
    assert [p.external_id for p in posts] == expected

    searches = [dict(a["params"]) for a in server.asked("/api/v2/search")]
    assert all(s["type"] == "statuses" and s["resolve"] == "false" for s in searches)
    assert all("min_id" in s for s in searches[1:])
    assert all(
        a["headers"]["authorization"] == f"Bearer {TOKEN}" for a in server.asked("/api/v2/search")
    )

    later = server.status(robin, "<p>one more export</p>")
    again, _, _ = drain(server, cursor, 25, **settings)
    assert [p.external_id for p in again] == [later["uri"]]


def test_the_listening_terms_are_searched_when_no_keywords_are_set(
    server: MastodonServer, robin: Account
) -> None:
    status = server.status(robin, "<p>Brand Example is down</p>")
    batch = MastodonConnector(timeout=5).fetch(server.source(), {}, ["brand"], 40)
    assert [p.external_id for p in batch.posts] == [status["uri"]]
    # Without a token the terms are not searched (search needs one) ...
    quiet = MastodonConnector(timeout=5).fetch(server.source(token=None), {}, ["brand"], 40)
    assert quiet.posts == []
    # ... and keywords set on purpose without one are a mistake to fix.
    with pytest.raises(SourceError) as caught:
        MastodonConnector(timeout=5).fetch(
            server.source(token=None, keywords=["brand"]), {}, [], 40
        )
    assert caught.value.permanent


# --- errors ------------------------------------------------------------------------------


def test_a_rate_limit_gives_retry_after_and_holds_later_calls(
    server: MastodonServer, robin: Account
) -> None:
    connector = MastodonConnector(timeout=5)
    first = connector.fetch(server.source(**tagged()), {}, [], 40)
    server.throttle("/api/v1/timelines/", reset_in=120)
    with pytest.raises(SourceError) as caught:
        connector.fetch(server.source(**tagged()), first.cursor, [], 40)
    assert not caught.value.permanent
    assert caught.value.retry_after is not None
    assert 60 < caught.value.retry_after <= 120
    before = len(server.requests)
    with pytest.raises(SourceError) as again:
        connector.fetch(server.source(**tagged()), first.cursor, [], 40)
    assert again.value.retry_after is not None
    assert len(server.requests) == before


def test_a_server_error_is_transient(server: MastodonServer) -> None:
    server.fail("/api/v1/timelines/", 503)
    with pytest.raises(SourceError) as caught:
        MastodonConnector(timeout=5).fetch(server.source(**tagged()), {}, [], 40)
    assert not caught.value.permanent
    assert caught.value.retry_after is None


def test_a_bad_token_is_permanent(server: MastodonServer) -> None:
    with pytest.raises(SourceError) as caught:
        MastodonConnector(timeout=5).fetch(server.source(token="nope", **tagged()), {}, [], 40)
    assert caught.value.permanent
    assert "access token is invalid" in caught.value.message


def test_the_instance_must_be_a_web_address(server: MastodonServer) -> None:
    source = server.source(**tagged())
    source.settings["instance"] = "ftp://mastodon.example"
    with pytest.raises(SourceError) as caught:
        MastodonConnector().fetch(source, {}, [], 40)
    assert caught.value.permanent


# --- replies -----------------------------------------------------------------------------


def heard(server: MastodonServer, author: Account) -> Post:
    status = server.status(author, "<p>help?</p>", tags=[TAG])
    batch = MastodonConnector(timeout=5).fetch(server.source(**tagged()), {}, [], 40)
    return next(p for p in batch.posts if p.external_id == status["uri"])


def test_a_public_reply_mentions_the_author_and_posts_once(
    server: MastodonServer, robin: Account
) -> None:
    post = heard(server, robin)
    connector = MastodonConnector(timeout=5)

    delivered = connector.reply(server.source(), post, "We are on it.")
    again = MastodonConnector(timeout=5).reply(server.source(), post, "We are on it.")

    first, second = server.posted
    assert first["body"] == {
        "status": "@robin@mastodon.example We are on it.",
        "in_reply_to_id": post.reply_ref["id"],
        "visibility": "public",
    }
    assert first["key"]
    assert second["key"] == first["key"]
    assert first["status"] is second["status"]  # the instance gave the first one back
    replies = [s for s in server.statuses if s["in_reply_to_id"] == post.reply_ref["id"]]
    assert len(replies) == 1
    assert delivered == again
    assert delivered.external_id == replies[0]["uri"]
    assert delivered.url == replies[0]["url"]
    # Another text is another reply; a text that mentions them already is kept as is.
    connector.reply(server.source(), post, "@robin@mastodon.example fixed now")
    assert server.posted[-1]["body"]["status"] == "@robin@mastodon.example fixed now"
    assert server.posted[-1]["key"] != first["key"]


def test_a_private_reply_is_a_direct_status(server: MastodonServer, robin: Account) -> None:
    post = heard(server, robin)
    delivered = MastodonConnector(timeout=5).reply(
        server.source(), post, "Could you send us your order number?", private=True
    )
    [sent] = server.posted
    assert sent["body"]["visibility"] == "direct"
    assert sent["body"]["status"].startswith("@robin@mastodon.example ")
    assert delivered.external_id == sent["status"]["uri"]
    public = MastodonConnector(timeout=5).reply(
        server.source(), post, "Could you send us your order number?"
    )
    assert public.external_id != delivered.external_id  # not the same key


def test_a_reply_needs_a_token(server: MastodonServer, robin: Account) -> None:
    post = heard(server, robin)
    with pytest.raises(SourceError) as caught:
        MastodonConnector().reply(server.source(token=None), post, "hi")
    assert caught.value.permanent
    assert server.posted == []


# --- streaming ---------------------------------------------------------------------------


def test_statuses_stream_as_they_are_posted(server: MastodonServer, robin: Account) -> None:
    connector = MastodonConnector(timeout=5)
    settings = {"hashtags": [TAG, "BrandHelp"], "keywords": []}
    start = connector.fetch(server.source(**settings), {}, [], 40)
    expected: list[str] = []
    batches: list[Batch] = []

    def stopping() -> bool:
        if not expected and len([s for s in server.streams if s[0] == "hashtag"]) == 2:
            expected.append(server.status(robin, "<p>live one</p>", tags=[TAG])["uri"])
            expected.append(server.status(robin, "<p>live two</p>", tags=["BrandHelp"])["uri"])
            expected.append(
                server.status(robin, "<p>live both</p>", tags=[TAG, "BrandHelp"])["uri"]
            )
            server.status(robin, "<p>other tag</p>", tags=["Elsewhere"])
        return sum(len(b.posts) for b in batches) >= 3

    for batch in connector.stream(server.source(**settings), start.cursor, [], stopping):
        batches.append(batch)
    # One batch a status; the two connections' order between them is theirs.
    assert all(len(b.posts) == 1 for b in batches)
    assert sorted(p.external_id for b in batches for p in b.posts) == sorted(expected)
    streams = server.asked("/api/v1/streaming/hashtag")
    assert sorted(dict(s["params"])["tag"] for s in streams) == ["BrandExample", "BrandHelp"]
    assert all(s["headers"]["authorization"] == f"Bearer {TOKEN}" for s in streams)
    assert batches[0].posts[0].author_handle == "robin@mastodon.example"

    # The stream's cursor resumes after what it returned.
    later = server.status(robin, "<p>after the stream</p>", tags=[TAG])
    after = connector.fetch(server.source(**settings), batches[-1].cursor, [], 40)
    assert [p.external_id for p in after.posts] == [later["uri"]]


def test_the_public_stream_is_filtered_by_keywords(server: MastodonServer, robin: Account) -> None:
    connector = MastodonConnector(timeout=5)
    settings = {"keywords": ["export"]}
    start = connector.fetch(server.source(**settings), {}, [], 40)
    expected: list[str] = []
    heard_posts: list[Post] = []
    last: list[Batch] = []

    def stopping() -> bool:
        if not expected and any(s[0] == "public" for s in server.streams):
            server.status(robin, "<p>nothing to see</p>")
            expected.append(server.status(robin, "<p>the Export broke</p>")["uri"])
        return len(heard_posts) >= 1

    for batch in connector.stream(server.source(**settings), start.cursor, [], stopping):
        heard_posts.extend(batch.posts)
        last.append(batch)
    assert [p.external_id for p in heard_posts] == expected
    assert server.asked("/api/v1/streaming/public")
    # Resuming search from the stream's cursor does not return the streamed status.
    again = connector.fetch(server.source(**settings), last[-1].cursor, [], 40)
    assert again.posts == []


def test_hashtags_and_keywords_stream_together(server: MastodonServer, robin: Account) -> None:
    connector = MastodonConnector(timeout=5)
    settings = {"hashtags": [TAG], "keywords": ["export"]}
    start = connector.fetch(server.source(**settings), {}, [], 40)
    expected: list[str] = []
    heard_posts: list[Post] = []

    def stopping() -> bool:
        if not expected and len(server.streams) == 2:
            expected.append(server.status(robin, "<p>tagged</p>", tags=[TAG])["uri"])
            expected.append(server.status(robin, "<p>export without a tag</p>")["uri"])
            expected.append(server.status(robin, "<p>export, tagged</p>", tags=[TAG])["uri"])
        return len(heard_posts) >= 3

    for batch in connector.stream(server.source(**settings), start.cursor, [], stopping):
        heard_posts.extend(batch.posts)
    assert sorted(p.external_id for p in heard_posts) == sorted(expected)
    assert {s[0] for s in server.streams} == {"hashtag", "public"}


def test_a_dropped_stream_ends_and_the_gap_is_fetched(
    server: MastodonServer, robin: Account
) -> None:
    connector = MastodonConnector(timeout=5)
    start = connector.fetch(server.source(**tagged()), {}, [], 40)
    dropped: list[str] = []

    def stopping() -> bool:
        if not dropped and server.streams:
            server.drop_streams()
            dropped.append(server.status(robin, "<p>while down</p>", tags=[TAG])["uri"])
        return False

    batches = list(connector.stream(server.source(**tagged()), start.cursor, [], stopping))
    assert batches == []
    gap = connector.fetch(server.source(**tagged()), start.cursor, [], 40)
    assert [p.external_id for p in gap.posts] == dropped


def test_a_stream_with_a_bad_token_fails_for_good(server: MastodonServer) -> None:
    source = server.source(token="nope", **tagged())
    with pytest.raises(SourceError) as caught:
        list(MastodonConnector(timeout=5).stream(source, {}, [], lambda: False))
    assert caught.value.permanent
