"""The Reddit connector against Reddit's API on loopback (tests/social/servers/reddit.py):
OAuth, paging, resuming from a saved cursor, the mapping to posts, karma, replies and
messages, rate limits and refusals."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from accord.social.sources.base import Post, SourceError
from accord.social.sources.reddit import WINDOW, RedditConnector
from tests.social.servers.reddit import EPOCH, RedditServer, fixture, reddit_server


@pytest.fixture
def reddit() -> Iterator[RedditServer]:
    with reddit_server() as server:
        yield server


def drain(
    server: RedditServer, cursor: dict[str, Any], limit: int, **settings: Any
) -> tuple[list[Post], dict[str, Any], int]:
    """Fetch until nothing more is waiting, each time with a new connector given only the
    saved cursor (as after a restart); the posts, the last cursor, how many fetches."""
    posts: list[Post] = []
    for rounds in range(1, 50):
        batch = RedditConnector().fetch(server.source(**settings), cursor, [], limit)
        posts.extend(batch.posts)
        cursor = batch.cursor
        if not batch.more:
            return posts, cursor, rounds
    raise AssertionError("the fetches never ended")


def test_a_submission_and_a_comment_mapped_field_by_field(reddit: RedditServer) -> None:
    reddit.user("quiet_harbor_42", link_karma=1204, comment_karma=4187)
    reddit.user("maple_and_rust", link_karma=10, comment_karma=5)
    expected = fixture("reddit_submission.json")["data"]
    post = reddit.submit(
        "smallbusiness", expected["title"], expected["selftext"], score=42, num_comments=7
    )
    reply = reddit.comment(post, "Accord's SMS replies work well & setup took 10 minutes.")
    reddit.comment(post, "unrelated chatter about invoices")

    batch = RedditConnector().fetch(
        reddit.source(subreddits=["smallbusiness"], keywords=["Accord"]), {}, [], 50
    )

    assert [p.external_id for p in batch.posts] == [post["name"], reply["name"]]
    submission, comment = batch.posts
    assert submission.network == "reddit"
    assert submission.text == expected["title"] + "\n\n" + expected["selftext"]
    assert "&amp;" not in submission.text
    assert "<thoughts>" in submission.text  # raw_json=1
    assert submission.title == expected["title"]
    assert submission.url == "https://www.reddit.com" + post["permalink"]
    assert submission.author_handle == "quiet_harbor_42"
    assert submission.author_id == post["author_fullname"]
    assert submission.author_url == "https://www.reddit.com/user/quiet_harbor_42"
    assert submission.posted_at == datetime.fromtimestamp(post["created_utc"], UTC)
    assert submission.posted_at.tzinfo is UTC
    assert (submission.likes, submission.replies) == (42, 7)
    assert submission.followers == 1204 + 4187  # karma: Reddit has no followers
    assert submission.reply_to is None
    assert submission.thread_root is None
    assert submission.reply_ref == {"fullname": post["name"]}
    assert submission.raw["subreddit"] == "smallbusiness"
    assert submission.raw["kind"] == "t3"
    assert "selftext_html" not in submission.raw
    assert "media_embed" not in submission.raw

    assert comment.text == "Accord's SMS replies work well & setup took 10 minutes."
    assert comment.title is None
    assert comment.reply_to == post["name"]
    assert comment.thread_root == post["name"]
    assert comment.author_handle == "maple_and_rust"
    assert comment.followers == 15
    assert comment.url == "https://www.reddit.com" + reply["permalink"]
    assert comment.raw["subreddit"] == "smallbusiness"
    assert comment.raw["link_title"] == expected["title"]
    assert comment.replies == 0
    assert comment.likes == 1

    search = reddit.asked("/r/smallbusiness/search")[0]
    assert search["q"] == '"Accord"'
    assert search["restrict_sr"] == "1"
    assert (search["sort"], search["limit"], search["type"]) == ("new", "100", "link")
    assert reddit.asked("/r/smallbusiness/comments")


def test_a_restart_resumes_with_only_the_new_posts(reddit: RedditServer) -> None:
    old = [reddit.submit("acme", f"Accord question {n}") for n in range(3)]
    first = RedditConnector().fetch(reddit.source(keywords=["accord"]), {}, [], 50)
    assert [p.external_id for p in first.posts] == [p["name"] for p in old]
    assert not first.more

    new = [reddit.submit("acme", f"accord again {n}") for n in range(2)]
    again = RedditConnector().fetch(reddit.source(keywords=["accord"]), first.cursor, [], 50)
    assert [p.external_id for p in again.posts] == [p["name"] for p in new]

    quiet = RedditConnector().fetch(reddit.source(keywords=["accord"]), again.cursor, [], 50)
    assert quiet.posts == []
    assert not quiet.more
    assert reddit.asked("/search")[0]["q"] == '"accord"'


def test_more_new_posts_than_a_page_come_oldest_first_without_gaps(
    reddit: RedditServer,
) -> None:
    reddit.submit("acme", "accord before we started")
    start = RedditConnector().fetch(reddit.source(keywords=["accord"]), {}, [], 50)
    new = [reddit.submit("acme", f"accord mention {n}") for n in range(250)]

    posts, _, rounds = drain(reddit, start.cursor, 60, keywords=["accord"])

    assert [p.external_id for p in posts] == [p["name"] for p in new]
    assert rounds == 5  # 60 + 60 + 60 + 60 + 10
    assert any("after" in params for params in reddit.asked("/search"))


def test_a_post_indexed_late_is_still_heard_once(reddit: RedditServer) -> None:
    first = reddit.submit("acme", "accord one")
    batch = RedditConnector().fetch(reddit.source(keywords=["accord"]), {}, [], 50)
    late = reddit.submit("acme", "accord late", created=first["created_utc"] - WINDOW / 2)
    newer = reddit.submit("acme", "accord newer")
    later = RedditConnector().fetch(reddit.source(keywords=["accord"]), batch.cursor, [], 50)
    assert [p.external_id for p in later.posts] == [late["name"], newer["name"]]
    last = RedditConnector().fetch(reddit.source(keywords=["accord"]), later.cursor, [], 50)
    assert last.posts == []


def test_new_comments_are_filtered_by_the_keywords_and_terms(reddit: RedditServer) -> None:
    post = reddit.submit("acme", "Weekly thread")
    source = reddit.source(subreddits=["r/acme"], keywords=["Accord"])
    start = RedditConnector().fetch(source, {}, [], 50)
    assert start.posts == []
    hits = [
        reddit.comment(post, "I love ACCORD."),
        reddit.comment(post, "what about Beacon CRM?"),
    ]
    for n in range(130):
        reddit.comment(post, f"noise {n} about accordion music")
    reddit.comment(post, "accord, again")

    batch = RedditConnector().fetch(source, start.cursor, ["beacon crm"], 50)

    names = [p.external_id for p in batch.posts]
    assert names == [hits[0]["name"], hits[1]["name"], batch.posts[-1].external_id]
    assert batch.posts[-1].text == "accord, again"


def test_the_token_is_reused_and_renewed_on_401(reddit: RedditServer) -> None:
    connector = RedditConnector()
    source = reddit.source(user=False, keywords=["accord"])
    cursor = connector.fetch(source, {}, [], 10).cursor
    connector.fetch(source, cursor, [], 10)
    assert reddit.grants == ["client_credentials"]

    reddit.expire_tokens()
    reddit.submit("acme", "accord after expiry")
    batch = connector.fetch(source, cursor, [], 10)
    assert [p.title for p in batch.posts] == ["accord after expiry"]
    assert reddit.grants == ["client_credentials", "client_credentials"]


def test_a_wrong_secret_or_password_is_permanent(reddit: RedditServer) -> None:
    source = reddit.source(keywords=["accord"])
    wrong_secret = source.credentials | {"client_secret": "nope"}
    with pytest.raises(SourceError) as caught:
        RedditConnector().fetch(type(source)("reddit", source.settings, wrong_secret), {}, [], 10)
    assert caught.value.permanent
    assert "client_secret" in caught.value.message

    wrong_password = source.credentials | {"password": "nope"}
    with pytest.raises(SourceError) as caught:
        RedditConnector().fetch(type(source)("reddit", source.settings, wrong_password), {}, [], 10)
    assert caught.value.permanent
    assert "password" in caught.value.message


def test_rate_limits_are_transient_with_the_wait(reddit: RedditServer) -> None:
    reddit.throttle = 1
    reddit.reset = 321
    with pytest.raises(SourceError) as caught:
        RedditConnector().fetch(reddit.source(keywords=["accord"]), {}, [], 10)
    assert not caught.value.permanent
    assert caught.value.retry_after == 321

    reddit.remaining = 0
    reddit.reset = 77
    with pytest.raises(SourceError) as caught:
        RedditConnector().fetch(reddit.source(subreddits=["acme"], keywords=["x"]), {}, [], 10)
    assert not caught.value.permanent
    assert caught.value.retry_after == 77


def test_a_private_subreddit_is_permanent(reddit: RedditServer) -> None:
    reddit.private.add("secret")
    with pytest.raises(SourceError) as caught:
        RedditConnector().fetch(reddit.source(subreddits=["secret"]), {}, [], 10)
    assert caught.value.permanent


def test_karma_is_asked_once_per_author_and_gone_authors_are_tolerated(
    reddit: RedditServer,
) -> None:
    reddit.user("banned_one", suspended=True)
    reddit.submit("acme", "accord a", author="alice_r")
    reddit.submit("acme", "accord b", author="alice_r")
    reddit.submit("acme", "accord c", author="[deleted]")
    reddit.submit("acme", "accord d", author="banned_one")
    post = reddit.submit("acme", "accord e", author="ghost_user")
    reddit.users.pop("ghost_user")  # the account is gone since

    batch = RedditConnector().fetch(reddit.source(keywords=["accord"]), {}, [], 10)

    followers = {p.title: p.followers for p in batch.posts}
    assert followers == {
        "accord a": 150,
        "accord b": 150,
        "accord c": None,
        "accord d": None,
        "accord e": None,
    }
    deleted = next(p for p in batch.posts if p.title == "accord c")
    assert deleted.author_handle == "[deleted]"
    assert deleted.author_url is None
    asked = sorted(path for _, path, _ in reddit.requests if path.endswith("/about"))
    assert asked == ["/user/alice_r/about", "/user/banned_one/about", "/user/ghost_user/about"]
    assert post["name"] in {p.external_id for p in batch.posts}


def test_karma_is_kept_between_fetches_and_spared_when_the_allowance_is_low(
    reddit: RedditServer,
) -> None:
    connector = RedditConnector()
    source = reddit.source(keywords=["accord"])
    reddit.submit("acme", "accord 1", author="alice_r")
    first = connector.fetch(source, {}, [], 10)
    reddit.submit("acme", "accord 2", author="alice_r")
    reddit.submit("acme", "accord 3", author="bob_r")
    reddit.remaining = 5  # enough to listen, too little to spend on karma
    second = connector.fetch(source, first.cursor, [], 10)
    assert [p.followers for p in second.posts] == [150, None]
    assert len(reddit.asked("/user/alice_r/about")) == 1
    assert reddit.asked("/user/bob_r/about") == []


def heard(server: RedditServer, **settings: Any) -> list[Post]:
    return RedditConnector().fetch(server.source(**settings), {}, [], 50).posts


def test_a_reply_is_a_comment_on_the_thing(reddit: RedditServer) -> None:
    post = reddit.submit("acme", "accord help?")
    found = heard(reddit, keywords=["accord"])[0]

    delivered = RedditConnector().reply(reddit.source(), found, "Happy to help!  ")

    (form,) = reddit.asked("/api/comment")
    assert form == {"thing_id": post["name"], "text": "Happy to help!", "api_type": "json"}
    (mine,) = reddit.replies()
    assert delivered.external_id == mine["name"]
    assert mine["parent_id"] == post["name"]
    assert delivered.url == "https://www.reddit.com" + mine["permalink"]
    assert reddit.grants == ["password", "password"]  # each connector signs in once


def test_a_retried_reply_is_posted_once(reddit: RedditServer) -> None:
    reddit.submit("acme", "accord broke my inbox")
    found = heard(reddit, keywords=["accord"])[0]
    connector = RedditConnector()
    reddit.lose_next_post = True
    with pytest.raises(SourceError) as caught:
        connector.reply(reddit.source(), found, "Sorry! We're on it.")
    assert not caught.value.permanent

    delivered = connector.reply(reddit.source(), found, "Sorry! We're on it.")

    assert len(reddit.replies()) == 1
    assert delivered.external_id == reddit.replies()[0]["name"]
    assert len(reddit.asked("/api/comment")) == 1


def test_reddit_errors_on_a_reply(reddit: RedditServer) -> None:
    reddit.submit("acme", "accord?")
    found = heard(reddit, keywords=["accord"])[0]
    reddit.comment_ratelimit = (
        "Looks like you've been doing that a lot. Take a break for 9 minutes before trying again."
    )
    with pytest.raises(SourceError) as caught:
        RedditConnector().reply(reddit.source(), found, "hello")
    assert not caught.value.permanent
    assert caught.value.retry_after == 540

    gone = Post(**{**found.__dict__, "reply_ref": {"fullname": "t3_zzzzzz"}})
    with pytest.raises(SourceError) as caught:
        RedditConnector().reply(reddit.source(), gone, "hello")
    assert caught.value.permanent
    assert "NO_THING_ID" in caught.value.message

    with pytest.raises(SourceError) as caught:
        RedditConnector().reply(reddit.source(user=False), found, "hello")
    assert caught.value.permanent
    assert "password" in caught.value.message
    assert reddit.replies() == []


def test_a_private_reply_is_a_message_to_the_author_sent_once(reddit: RedditServer) -> None:
    reddit.submit("acme", "accord pricing?", author="quiet_harbor_42")
    found = heard(reddit, keywords=["accord"])[0]
    reddit.lose_next_post = True
    with pytest.raises(SourceError):
        RedditConnector().reply(reddit.source(), found, "Sent you our prices.", private=True)

    delivered = RedditConnector().reply(
        reddit.source(), found, "Sent you our prices.", private=True
    )

    (form,) = reddit.asked("/api/compose")
    assert form == {
        "to": "quiet_harbor_42",
        "subject": "Re: accord pricing?",
        "text": "Sent you our prices.",
        "api_type": "json",
    }
    (message,) = reddit.messages
    assert delivered.external_id == message["data"]["name"]
    assert delivered.url == f"https://www.reddit.com/message/messages/{message['data']['id']}"

    reddit.submit("acme", "accord pricing, again?", author="quiet_harbor_42")
    newer = heard(reddit, keywords=["accord"])[-1]
    RedditConnector().reply(reddit.source(), newer, "Sent you our prices.", private=True)
    assert len(reddit.messages) == 2  # the same text about another post is sent
    assert reddit.messages[1]["data"]["subject"] == "Re: accord pricing, again?"

    other = Post(**{**found.__dict__, "author_handle": "nobody_here"})
    with pytest.raises(SourceError) as caught:
        RedditConnector().reply(reddit.source(), other, "hi", private=True)
    assert caught.value.permanent
    assert "USER_DOESNT_EXIST" in caught.value.message


def test_settings_are_checked() -> None:
    from accord.social.sources.base import SourceConfig

    good = {"client_id": "a", "client_secret": "b"}
    cases: list[tuple[dict[str, Any], dict[str, str]]] = [
        ({"subreddits": ["not a sub!"]}, good),
        ({"api": "ftp://example"}, good),
        ({"keywords": [1, 2]}, good),
        ({"keywords": ["x"]}, {"client_id": "a"}),
        ({}, good),
    ]
    for settings, credentials in cases:
        with pytest.raises(SourceError) as caught:
            RedditConnector().fetch(SourceConfig("reddit", settings, credentials), {}, [], 5)
        assert caught.value.permanent


def test_a_listing_empty_at_first_gives_everything_that_appears_later(
    reddit: RedditServer,
) -> None:
    source = reddit.source(keywords=["accord"])
    empty = RedditConnector().fetch(source, {}, [], 10)
    assert empty.posts == []
    old = reddit.submit("acme", "accord indexed late", created=EPOCH - 86_400)
    fresh = reddit.submit("acme", "accord now")
    batch = RedditConnector().fetch(source, empty.cursor, [], 10)
    assert [p.external_id for p in batch.posts] == [old["name"], fresh["name"]]


def test_the_first_fetch_takes_only_the_newest_page(reddit: RedditServer) -> None:
    made = [reddit.submit("acme", f"accord {n}") for n in range(130)]
    first, cursor, rounds = drain(reddit, {}, 40, keywords=["accord"])
    assert [p.external_id for p in first] == [p["name"] for p in made[30:]]
    assert rounds == 3
    newer = reddit.submit("acme", "accord newest")
    batch = RedditConnector().fetch(reddit.source(keywords=["accord"]), cursor, [], 40)
    assert [p.external_id for p in batch.posts] == [newer["name"]]
