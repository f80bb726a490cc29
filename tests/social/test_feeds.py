"""The feed connector against feeds served on loopback (tests/social/servers/feeds.py):
RSS 2.0, Atom and RDF read field by field, conditional GETs, resuming from a saved
cursor, reordered and republished feeds, entries without ids, redirects, size limits,
and XML that must be refused."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from accord.social.sources.base import Post, SourceError
from accord.social.sources.feed_text import html_to_text
from accord.social.sources.feeds import FeedConnector, feed_tag, parse_feed
from tests.social.servers.feeds import START, TYPES, FeedServer, feed_server


@pytest.fixture
def feeds() -> Iterator[FeedServer]:
    with feed_server() as server:
        yield server


def fetch(
    server: FeedServer,
    path: str,
    cursor: dict[str, Any] | None = None,
    limit: int = 50,
    **more: Any,
) -> tuple[list[Post], dict[str, Any], bool]:
    """One fetch by a new connector given only the cursor (as after a restart)."""
    batch = FeedConnector().fetch(server.source(path, **more), cursor or {}, ["accord"], limit)
    return batch.posts, batch.cursor, batch.more


def test_an_rss_2_feed_mapped_field_by_field(feeds: FeedServer) -> None:
    feeds.fixture("/reviews.rss", "feed_rss2.xml")
    posts, cursor, more = fetch(feeds, "/reviews.rss")

    assert not more
    older, newer = posts  # oldest first
    assert newer.network == "rss"
    tag = feed_tag(feeds.url + "/reviews.rss")
    assert newer.external_id == f"feed:{tag}:https://reviews.example.com/?p=48213"
    assert newer.title == "Great inbox, & the SMS add-on is a <must>"
    assert newer.text == (
        "We switched from a shared mailbox to Accord in January.\n\n"
        "Replies by SMS work well & setup took an afternoon."
    )
    assert newer.url == "https://reviews.example.com/products/accord/reviews/48213/"
    assert newer.author_handle == "Priya N."
    assert newer.author_name == "Priya N."
    assert newer.posted_at == datetime(2024, 3, 8, 17, 5, 12, tzinfo=UTC)
    assert newer.lang == "en-US"
    assert newer.raw["categories"] == ["Help desk", "5 stars"]
    assert newer.raw["media"] == [
        "https://reviews.example.com/wp-content/uploads/2024/03/inbox.png"
    ]
    assert newer.raw["comments"].endswith("/48213/#comments")
    assert newer.raw["feed"] == feeds.url + "/reviews.rss"
    assert newer.raw["feed_title"] == "Reviews of Accord \u2013 SoftwareReviews Example"
    assert newer.reply_ref == {"url": newer.url}
    assert (newer.likes, newer.reposts, newer.replies, newer.followers) == (0, 0, 0, None)

    assert older.author_handle == "Michael O."  # RSS author: "email (name)"
    assert older.text == "Good value. Reporting needs work — exports only CSV."
    assert older.posted_at == datetime(2024, 3, 7, 9, 30, tzinfo=UTC)
    assert older.raw["media"] == ["https://reviews.example.com/audio/48177.mp3"]
    assert len(cursor["seen"]) == 2


def test_an_atom_feed_mapped_field_by_field(feeds: FeedServer) -> None:
    feeds.fixture("/alerts.atom", "feed_atom.xml", TYPES["atom"])
    posts, _, _ = fetch(feeds, "/alerts.atom")

    german, alert = posts
    assert alert.title == "Why small teams pick Accord CRM for support"
    assert alert.text.startswith("The shared inbox in Accord CRM lets a team")
    assert alert.url == "https://news.example.org/2024/03/08/small-teams-accord/"  # unwrapped
    assert alert.raw["link"].startswith("https://www.google.com/url?")
    assert alert.author_handle == "news.example.org"  # no author: the site's host
    assert alert.author_name is None
    assert alert.posted_at == datetime(2024, 3, 8, 17, 42, 11, tzinfo=UTC)
    assert alert.external_id.endswith(":tag:google.com,2013:googlealerts/feed:15802817723091536102")

    assert german.url == feeds.url + "/blog/accord-im-test"  # relative to the feed
    assert german.text == "Erster Absatz.\n\nZweiter Absatz."  # xhtml summary
    assert german.lang == "de"
    assert german.author_handle == "Jonas K."
    assert german.author_url == "https://blog.example.de/autor/jonas"
    assert german.posted_at == datetime(2024, 3, 7, 7, 0, tzinfo=UTC)
    assert german.raw["categories"] == ["CRM-Software"]
    assert german.raw["media"] == ["https://blog.example.de/img/test.jpg"]


def test_an_rdf_feed_in_latin_1_mapped_field_by_field(feeds: FeedServer) -> None:
    feeds.fixture("/forum.rdf", "feed_rdf.xml", TYPES["rdf"])
    posts, _, _ = fetch(feeds, "/forum.rdf")

    older, newer = posts
    assert newer.title == "Accord : export des contacts ?"
    assert newer.text == "Bonjour, comment exporter mes contacts depuis Accord ? Merci d'avance."
    assert newer.external_id.endswith(":https://forum.example.net/t/9921")
    assert newer.author_handle == "céline_b"
    assert newer.posted_at == datetime(2024, 3, 8, 15, 20, tzinfo=UTC)
    assert newer.lang == "fr"
    assert newer.raw["categories"] == ["Aide"]
    assert older.text == "Nous hésitons entre plusieurs outils."


@pytest.mark.parametrize("format", ["rss", "atom", "rdf"])
def test_conditional_gets_and_a_restart_give_only_new_entries(
    feeds: FeedServer, format: str
) -> None:
    live = feeds.feed("/feed", format)
    first = [live.add(f"Accord review {n}") for n in range(3)]
    posts, cursor, _ = fetch(feeds, "/feed")
    assert [p.title for p in posts] == [i.title for i in first]

    again, same_cursor, more = fetch(feeds, "/feed", cursor)
    assert again == []
    assert not more
    assert same_cursor == cursor
    sent = feeds.asked("/feed")[-1]
    assert sent["if-none-match"] == cursor["etag"]
    assert sent["if-modified-since"] == cursor["last_modified"]

    new = live.add("Accord review, the newest")
    posts, cursor, _ = fetch(feeds, "/feed", cursor)
    assert [p.title for p in posts] == [new.title]
    assert posts[0].url == new.link


def test_if_modified_since_alone_gives_304(feeds: FeedServer) -> None:
    live = feeds.feed("/feed", "rss")
    live.add("Accord one")
    _, cursor, _ = fetch(feeds, "/feed")
    posts, kept, _ = fetch(feeds, "/feed", cursor | {"etag": None})
    assert posts == []
    assert kept["last_modified"] == cursor["last_modified"]
    assert "if-none-match" not in feeds.asked("/feed")[-1]


def test_a_reordered_or_republished_feed_repeats_nothing(feeds: FeedServer) -> None:
    live = feeds.feed("/feed", "atom")
    items = [live.add(f"Accord {n}") for n in range(5)]
    _, cursor, _ = fetch(feeds, "/feed")

    live.items.reverse()
    live.touch()
    assert fetch(feeds, "/feed", cursor)[0] == []

    items[0].published = START + timedelta(days=3)  # republished on top, same id
    live.items.remove(items[0])
    live.items.insert(0, items[0])
    live.touch()
    new = live.add("Accord 5")
    posts, _, _ = fetch(feeds, "/feed", cursor)
    assert [p.title for p in posts] == [new.title]


def test_entries_without_ids_are_known_by_link_and_title(feeds: FeedServer) -> None:
    live = feeds.feed("/feed", "rss")
    a = live.add("Accord without guid", guid=None)
    b = live.add("Accord without guid or link", guid=None, link=None)
    posts, cursor, _ = fetch(feeds, "/feed")
    assert [p.title for p in posts] == [a.title, b.title]
    assert len({p.external_id for p in posts}) == 2
    assert all(":sha256:" in p.external_id for p in posts)

    live.items.reverse()
    live.touch()
    c = live.add("Accord third", guid=None)
    again, _, _ = fetch(feeds, "/feed", cursor)
    assert [p.title for p in again] == [c.title]


def test_more_entries_than_the_limit_come_in_batches_oldest_first(feeds: FeedServer) -> None:
    live = feeds.feed("/feed", "rss")
    items = [live.add(f"Accord {n}") for n in range(25)]
    heard: list[Post] = []
    cursor: dict[str, Any] = {}
    for _ in range(10):
        posts, cursor, more = fetch(feeds, "/feed", cursor, limit=10)
        heard.extend(posts)
        if not more:
            break
    assert [p.title for p in heard] == [i.title for i in items]
    assert fetch(feeds, "/feed", cursor)[0] == []


def test_keywords_filter_entries(feeds: FeedServer) -> None:
    live = feeds.feed("/feed", "rss")
    live.add("Nothing to see", "<p>About something else</p>")
    hit = live.add("A review", "<p>We like <b>ACCORD</b>.</p>")
    live.add("Accordion lessons", "<p>music</p>")
    posts, cursor, _ = fetch(feeds, "/feed", keywords=["Accord"])
    assert [p.title for p in posts] == [hit.title]
    assert len(cursor["seen"]) == 3  # the others are passed over for good


def test_two_feeds_with_the_same_entries_never_collide(feeds: FeedServer) -> None:
    feeds.fixture("/a.rss", "feed_rss2.xml")
    feeds.fixture("/b.rss", "feed_rss2.xml")
    a = {p.external_id for p in fetch(feeds, "/a.rss")[0]}
    b = {p.external_id for p in fetch(feeds, "/b.rss")[0]}
    assert len(a) == 2
    assert not a & b


def test_redirects_are_followed_up_to_five(feeds: FeedServer) -> None:
    feeds.fixture("/final.rss", "feed_rss2.xml")
    feeds.redirects["/old.rss"] = (301, "/moved.rss")
    feeds.redirects["/moved.rss"] = (302, feeds.url + "/final.rss")
    posts, _, _ = fetch(feeds, "/old.rss")
    assert len(posts) == 2
    assert posts[0].external_id.startswith(f"feed:{feed_tag(feeds.url + '/old.rss')}:")

    for n in range(7):
        feeds.redirects[f"/loop{n}"] = (307, f"/loop{n + 1}")
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/loop0")
    assert caught.value.permanent
    assert "redirects more than 5" in caught.value.message

    feeds.redirects["/elsewhere"] = (302, "file:///etc/passwd")
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/elsewhere")
    assert caught.value.permanent
    assert "not an http(s) address" in caught.value.message


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_the_limit_is_refused(feeds: FeedServer, declared: bool) -> None:
    feeds.huge["/huge.rss"] = (6 * 1024 * 1024, declared)
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/huge.rss")
    assert "larger than 5242880 bytes" in caught.value.message
    feeds.fixture("/small.rss", "feed_rss2.xml")
    with pytest.raises(SourceError):
        fetch(feeds, "/small.rss", max_bytes=500)


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
  <!ENTITY a "accord accord accord accord accord accord accord accord accord accord">
  <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
  <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
  <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
  <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
]>
<rss version="2.0"><channel><title>t</title><item><title>&e;</title></item></channel></rss>"""

EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY secret SYSTEM "file:///etc/hostname">]>
<rss version="2.0"><channel><title>t</title><item><title>&secret;</title></item></channel></rss>"""

PARAMETER = b"""<?xml version="1.0"?>
<!DOCTYPE rss [<!ENTITY % remote SYSTEM "http://127.0.0.1:9/evil.dtd"> %remote;]>
<rss version="2.0"><channel><title>t</title></channel></rss>"""


@pytest.mark.parametrize("document", [BOMB, EXTERNAL, PARAMETER])
def test_entity_bombs_and_external_entities_are_refused(feeds: FeedServer, document: bytes) -> None:
    feeds.put("/evil.rss", document)
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/evil.rss")
    assert caught.value.permanent
    assert "refused" in caught.value.message


def test_an_external_dtd_is_never_loaded(feeds: FeedServer) -> None:
    legacy = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "' + feeds.url.encode() + b'/rss.dtd">\n'
        b'<rss version="0.91"><channel><title>t</title><link>https://old.example/</link>'
        b"<item><title>Accord &amp; us</title><link>https://old.example/1</link></item>"
        b"</channel></rss>"
    )
    feeds.put("/legacy.rss", legacy)
    posts, _, _ = fetch(feeds, "/legacy.rss")
    assert [p.title for p in posts] == ["Accord & us"]
    assert posts[0].author_handle == "old.example"
    assert feeds.asked("/rss.dtd") == []


def test_broken_or_foreign_documents(feeds: FeedServer) -> None:
    feeds.put("/broken.rss", b"<rss><channel><item></channel></rss>")
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/broken.rss")
    assert not caught.value.permanent  # a site may mend it
    assert "not well-formed" in caught.value.message

    feeds.put("/page.html", b"<html><body>hello</body></html>", "text/html")
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/page.html")
    assert "not an RSS or Atom feed" in caught.value.message


def test_http_errors(feeds: FeedServer) -> None:
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/missing.rss")
    assert caught.value.permanent

    feeds.statuses["/busy.rss"] = (503, {"Retry-After": "120"})
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/busy.rss")
    assert not caught.value.permanent
    assert caught.value.retry_after == 120

    feeds.statuses["/slow.rss"] = (429, {})
    with pytest.raises(SourceError) as caught:
        fetch(feeds, "/slow.rss")
    assert not caught.value.permanent
    assert caught.value.retry_after is None


def test_unreachable_and_unsupported_feeds() -> None:
    from accord.social.sources.base import SourceConfig
    from tests.helpers import free_port

    closed = SourceConfig("rss", {"url": f"http://127.0.0.1:{free_port()}/feed"}, {})
    with pytest.raises(SourceError) as caught:
        FeedConnector(timeout=2).fetch(closed, {}, [], 10)
    assert not caught.value.permanent
    for settings in ({}, {"url": "ftp://127.0.0.1/feed"}, {"url": "http://x", "keywords": [1]}):
        with pytest.raises(SourceError) as caught:
            FeedConnector().fetch(SourceConfig("rss", settings, {}), {}, [], 10)
        assert caught.value.permanent


def test_a_feed_entry_cannot_be_answered(feeds: FeedServer) -> None:
    feeds.fixture("/reviews.rss", "feed_rss2.xml")
    post = fetch(feeds, "/reviews.rss")[0][0]
    with pytest.raises(SourceError) as caught:
        FeedConnector().reply(feeds.source("/reviews.rss"), post, "thanks!")
    assert caught.value.permanent
    assert post.url is not None
    assert post.url in caught.value.message


def test_html_becomes_plain_text() -> None:
    html = (
        "<div><h2>Title</h2><p>One&nbsp;&amp; <a href='x'>two</a></p><style>p{}</style>"
        "<ul><li>a</li><li>b</li></ul>tail<br>end &lt;3</div>"
    )
    assert html_to_text(html) == "Title\n\nOne & two\n\na\nb\n\ntail\nend <3"


def test_undated_entries_come_after_dated_ones_bottom_first(feeds: FeedServer) -> None:
    feeds.put(
        "/undated.rss",
        b'<rss version="2.0"><channel><title>t</title>'
        b"<item><guid>u1</guid><title>Accord undated top</title></item>"
        b"<item><guid>u2</guid><title>Accord undated below</title></item>"
        b"<item><guid>d1</guid><title>Accord dated</title>"
        b"<pubDate>Fri, 08 Mar 2024 17:05:12 GMT</pubDate></item>"
        b"</channel></rss>",
    )
    posts, _, _ = fetch(feeds, "/undated.rss")
    assert [p.title for p in posts] == [
        "Accord dated",
        "Accord undated below",
        "Accord undated top",
    ]
    assert posts[-1].posted_at.tzinfo is not None
    assert posts[-1].posted_at > posts[0].posted_at
    assert (
        parse_feed(b"<rss><channel><item/></channel></rss>", "https://e.x/").entries[0].id is None
    )
