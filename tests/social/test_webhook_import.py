"""The generic signed webhook (signatures, bodies) and CSV / JSON Lines imports of posts
from other listening tools: good records kept, bad ones reported by line or index."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from accord.social.sources import webhook
from accord.social.sources.imports import RowError, parse_csv, parse_jsonl
from accord.social.sources.webhook import SignatureError, parse, sign, verify

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SECRET = "whsec_0123456789abcdef0123456789abcdef"
NOW = 1_709_913_600
BODY = b'{"network":"x","id":"1","text":"Accord!","posted_at":"2024-03-08T17:00:00Z","author":"a"}'


def where(errors: list[RowError]) -> list[tuple[int | None, str | None, str]]:
    return [(e.line if e.line is not None else e.index, e.field, e.code) for e in errors]


# --- signatures -------------------------------------------------------------------------


def test_a_good_signature_passes() -> None:
    header = sign(SECRET, NOW, BODY)
    assert header.startswith(f"t={NOW},v1=")
    verify(SECRET, header, BODY, now=NOW + 10)
    verify(SECRET, header, BODY, now=NOW - 10)  # a sender's clock a little ahead


def test_the_signature_is_the_hmac_of_time_dot_body() -> None:
    import hashlib
    import hmac

    expected = hmac.new(SECRET.encode(), f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    verify(SECRET, f"t={NOW},v1={expected}", BODY, now=NOW)
    verify(SECRET, f" t={NOW} , v1={expected.upper()} ", BODY, now=NOW)


@pytest.mark.parametrize(
    ("header", "body"),
    [
        (sign(SECRET, NOW, BODY), BODY + b" "),  # the body changed
        (sign("another-secret", NOW, BODY), BODY),
        (sign(SECRET, NOW, BODY).replace(f"t={NOW}", f"t={NOW + 1}"), BODY),  # time changed
        (f"t={NOW}", BODY),  # no signature
        (f"v1={webhook.signature(SECRET, NOW, BODY)}", BODY),  # no time
        ("", BODY),
        ("garbage", BODY),
        (f"t=soon,v1={webhook.signature(SECRET, NOW, BODY)}", BODY),
        (f"t={NOW},v1=ünïcode", BODY),
    ],
)
def test_bad_signatures_are_refused(header: str, body: bytes) -> None:
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, header, body, now=NOW)
    assert caught.value.code == "bad_signature"


def test_old_or_post_dated_signatures_are_stale() -> None:
    header = sign(SECRET, NOW, BODY)
    verify(SECRET, header, BODY, now=NOW + 300)
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, header, BODY, now=NOW + 301)
    assert caught.value.code == "stale_signature"
    assert "301 seconds ago" in caught.value.message
    with pytest.raises(SignatureError) as caught:
        verify(SECRET, header, BODY, now=NOW - 3600)
    assert caught.value.code == "stale_signature"
    verify(SECRET, header, BODY, now=NOW + 3000, tolerance=3600)


def test_a_rotated_secret_is_accepted_with_either_signature() -> None:
    old, new = "old-secret-aaaaaaaa", "new-secret-bbbbbbbb"
    header = sign([old, new], NOW, BODY)
    assert header.count("v1=") == 2
    verify(new, header, BODY, now=NOW)
    verify(old, header, BODY, now=NOW)
    with pytest.raises(SignatureError) as caught:
        verify("unrelated-secret", header, BODY, now=NOW)
    assert caught.value.code == "bad_signature"


def test_an_empty_secret_is_a_mistake() -> None:
    with pytest.raises(ValueError, match="empty"):
        verify("", sign("x", NOW, BODY), BODY, now=NOW)


# --- webhook bodies ---------------------------------------------------------------------


def test_one_post_a_list_or_posts() -> None:
    one = json.loads(BODY)
    for body in (BODY, json.dumps([one]).encode(), json.dumps({"posts": [one]}).encode()):
        posts, errors = parse(body)
        assert errors == []
        (post,) = posts
        assert post.network == "x"
        assert post.external_id == "x:1"
        assert post.posted_at == datetime(2024, 3, 8, 17, 0, tzinfo=UTC)


def test_every_field_of_a_webhook_post() -> None:
    item = {
        "network": "Mastodon",
        "id": "https://mastodon.social/@kim/112233445566778899",
        "text": "Accord's inbox is great",
        "posted_at": "2024-03-08T18:30:00+01:00",
        "author": "@kim@mastodon.social",
        "author_name": "Kim",
        "url": "https://mastodon.social/@kim/112233445566778899",
        "followers": 1200,
        "likes": 4,
        "reposts": 2,
        "replies": 1,
        "lang": "en",
        "title": None,
        "reply_to": "https://mastodon.social/@ana/112233445566770000",
    }
    (post,), errors = parse(json.dumps(item).encode())
    assert errors == []
    assert post.network == "mastodon"
    assert post.external_id == item["id"]  # one of Accord's networks: the id as given
    assert post.text == item["text"]
    assert post.posted_at == datetime(2024, 3, 8, 17, 30, tzinfo=UTC)
    assert post.author_handle == "kim@mastodon.social"
    assert post.author_name == "Kim"
    assert post.url == item["url"]
    assert (post.followers, post.likes, post.reposts, post.replies) == (1200, 4, 2, 1)
    assert post.lang == "en"
    assert post.title is None
    assert post.reply_to == item["reply_to"]
    assert post.raw == item


def test_bad_webhook_posts_are_reported_by_index_and_the_good_kept() -> None:
    good = json.loads(BODY)
    items = [
        good,
        {**good, "id": "2", "posted_at": "last tuesday"},
        "not an object",
        {**good, "id": "4", "likes": -1},
        {**good, "id": "5", "text": ""},
        {**good, "id": "6", "network": "no spaces allowed"},
        {**good, "id": "7", "text": {"nested": True}},
        {**good, "id": "8", "lang": "english please"},
        {**good, "id": "9", "followers": "1,234", "network": "webhook-tool"},
    ]
    posts, errors = parse(json.dumps({"posts": items}).encode())
    assert [p.external_id for p in posts] == ["x:1", "webhook-tool:9"]
    assert posts[1].followers == 1234
    assert where(errors) == [
        (1, "posted_at", "invalid"),
        (2, None, "not_object"),
        (3, "likes", "invalid"),
        (4, "text", "missing"),
        (5, "network", "invalid"),
        (6, "text", "invalid"),
        (7, "lang", "invalid"),
    ]
    assert "last tuesday" in errors[0].message
    assert errors[0].as_dict()["index"] == 1


def test_bodies_that_are_not_posts() -> None:
    for body, code in [
        (b"{not json", "not_json"),
        (b"\xff\xfe\x00", "not_json"),
        (b"[" * 100_000, "not_json"),
        (b'"a string"', "not_object"),
        (b'{"posts": {"a": 1}}', "invalid"),
    ]:
        posts, errors = parse(body)
        assert posts == []
        assert [e.code for e in errors] == [code]
        assert errors[0].index is None


def test_a_post_without_network_or_id_gets_a_stable_id() -> None:
    item = {"text": "Accord", "posted_at": "2024-03-08T17:00:00Z", "author": "a"}
    (first,), _ = parse(json.dumps(item).encode())
    (again,), _ = parse(json.dumps({**item, "posted_at": 1709917200}).encode())
    (other,), _ = parse(json.dumps({**item, "text": "Accord!"}).encode())
    assert first.network == "webhook"
    assert first.external_id.startswith("webhook:sha256:")
    assert again.external_id == first.external_id  # the same post, its time written otherwise
    assert other.external_id != first.external_id


# --- CSV and JSON Lines -----------------------------------------------------------------


def test_a_csv_export_with_bad_rows_reported_by_line() -> None:
    with (FIXTURES / "listening_export.csv").open(newline="") as file:
        text = file.read()
    posts, errors = parse_csv(text)

    assert [p.external_id for p in posts] == [
        "x:1766123456789012345",
        "facebook:1029384756_5647382910",
        "t1_kq3v7zd",  # Reddit is one of Accord's networks: the fullname as given
        posts[3].external_id,
    ]
    x, facebook, reddit, forum = posts
    assert x.network == "x"
    assert x.author_handle == "quietharbor"
    assert x.author_name == "Quiet Harbor"
    assert (x.followers, x.likes, x.reposts, x.replies) == (12400, 14, 3, 2)
    assert x.url == "https://x.com/quietharbor/status/1766123456789012345"
    assert x.lang == "en"
    assert x.posted_at == datetime(2024, 3, 8, 17, 5, 12, tzinfo=UTC)
    assert x.raw["Sentiment"] == "positive"
    assert facebook.text == "Anyone using Accord?\nWe need SMS + email in one inbox."
    assert facebook.posted_at == datetime(2024, 3, 8, 9, 30, tzinfo=UTC)  # no zone: UTC
    assert facebook.author_name == "Maple & Rust Co."
    assert reddit.network == "reddit"
    assert reddit.followers is None
    assert reddit.posted_at == datetime(2024, 3, 7, 7, 0, tzinfo=UTC)
    assert forum.external_id.startswith("forum:sha256:")
    assert forum.text == 'No id here, Accord "rocks"'

    assert where(errors) == [
        (5, "Date", "invalid"),  # after a row over two lines
        (8, "Author", "missing"),  # after a blank line
        (9, None, "extra_values"),
        (10, "Followers", "invalid"),
        (11, "URL", "invalid"),
    ]
    assert parse_csv(text)[0] == posts  # the same file again: the same ids


def test_csv_delimiters_bom_and_headers() -> None:
    text = "\ufeffcreated_at;username;body;link\n2024-03-08T10:00:00Z;ana;Accord rocks;\n"
    (post,), errors = parse_csv(text)
    assert errors == []
    assert post.network == "import"
    assert post.author_handle == "ana"
    assert post.url is None

    posts, errors = parse_csv("when,who,what\n2024-03-08,ana,hi\n")
    assert posts == []
    assert where(errors) == [(1, "text", "missing")]
    assert "posted_at" in errors[0].message

    assert parse_csv("") == ([], [])


def test_a_jsonl_export_with_bad_lines_reported_by_number() -> None:
    text = (FIXTURES / "listening_export.jsonl").read_text()
    posts, errors = parse_jsonl(text)

    assert [p.network for p in posts] == ["x", "bluesky", "news"]
    x, bluesky, news = posts
    assert (x.followers, x.likes, x.reposts, x.replies) == (12400, 14, 3, 2)
    assert x.author_name == "Quiet Harbor"
    assert bluesky.external_id.startswith("at://did:plc:")
    assert bluesky.reply_to is not None
    assert bluesky.reply_to.startswith("at://")
    assert bluesky.likes == 7
    assert news.external_id.startswith("news:sha256:")
    assert news.title == "Accord raises a seed round"
    assert news.posted_at == datetime(2024, 3, 8, 11, 0, tzinfo=UTC)

    assert where(errors) == [
        (3, "text", "missing"),
        (5, None, "not_json"),
        (6, None, "not_object"),
        (7, "followers", "invalid"),
    ]
    assert "column 1" in errors[1].message
    assert parse_jsonl(text)[0] == posts
