"""Posts exported by another listening tool, as CSV or JSON Lines, and the mapping of one
exported record to a :class:`Post` that the signed webhook shares.

A record's fields are ``network``, ``id``, ``text``, ``posted_at`` (ISO 8601, or Unix
seconds), ``author`` (a handle), and optionally ``author_name``, ``url``, ``followers``,
``likes``, ``reposts``, ``replies``, ``lang``, ``title`` and ``reply_to``; common names
other tools use are accepted too (``created_at``, ``date``, ``username``, ``handle``,
``content``, ``body``, ``link``... see :data:`ALIASES`). A record with no network is of
the ``import`` (or ``webhook``) network. Its ``external_id`` is the id as given on one of
Accord's own networks, else ``"{network}:{id}"``; a record without an id gets a stable
hash of its network, author, text and time, so importing a file twice repeats nothing.

Parsing never stops at a bad record: each is reported as a :class:`RowError` (its line,
the field at fault, a message) and the good ones are kept."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from accord.social.sources.base import Post

OWN_NETWORKS = frozenset({"bluesky", "mastodon", "reddit", "rss"})  # whose ids are kept
REQUIRED = ("text", "posted_at", "author")
COUNTS = ("followers", "likes", "reposts", "replies")
ALIASES: dict[str, tuple[str, ...]] = {
    "network": ("network", "platform", "source_network", "site", "channel"),
    "id": ("id", "post_id", "external_id", "mention_id", "status_id", "guid"),
    "text": ("text", "content", "body", "message", "snippet", "full_text"),
    "posted_at": (
        "posted_at",
        "created_at",
        "date",
        "published",
        "published_at",
        "timestamp",
        "time",
        "created",
    ),
    "author": ("author", "username", "handle", "screen_name", "user", "author_handle"),
    "author_name": ("author_name", "name", "display_name", "full_name"),
    "url": ("url", "link", "permalink", "post_url"),
    "followers": ("followers", "followers_count", "author_followers"),
    "likes": ("likes", "like_count", "favorites", "favourites", "reactions"),
    "reposts": ("reposts", "shares", "retweets", "repost_count", "boosts"),
    "replies": ("replies", "reply_count", "comments", "comment_count"),
    "lang": ("lang", "language"),
    "title": ("title", "headline", "subject"),
    "reply_to": ("reply_to", "in_reply_to", "parent_id", "in_reply_to_id"),
}
MAX_TEXT = 100_000
NETWORK = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,39}$")
LANG = re.compile(r"^[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*$")


@dataclass(frozen=True)
class RowError:
    """A record that was not taken: where it is (``line`` in a file, 1-based, or
    ``index`` in a webhook's list, 0-based), the field at fault as the record names it
    (None: the record as a whole), a message, and a machine-readable ``code``:
    ``missing``, ``invalid``, ``not_json``, ``not_object``, ``not_csv`` or ``extra_values``."""

    message: str
    field: str | None = None
    line: int | None = None
    index: int | None = None
    code: str = "invalid"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class RecordError(Exception):
    """Why one record cannot be a post."""

    def __init__(self, field: str | None, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.code = code


def _key(name: str) -> str:
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def _fields(record: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """Each field's value with the name the record gives it: the first of its names
    (its own, then the aliases in order) with a value that is not empty."""
    given = {_key(str(k)): (str(k), v) for k, v in record.items()}
    out: dict[str, tuple[str, Any]] = {}
    for name, aliases in ALIASES.items():
        for alias in aliases:
            found = given.get(alias)
            if found is not None and found[1] is not None and str(found[1]).strip() != "":
                out[name] = found
                break
    return out


def _string(field: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise RecordError(field, f"{field} must be text, not {type(value).__name__}")
    return str(value).strip()


def _count(field: str, value: Any) -> int:
    if isinstance(value, bool):
        raise RecordError(field, f"{field} must be a whole number, not {value}")
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, str):
        cleaned = re.sub(r"[\s,_]", "", value)
        value = int(cleaned) if cleaned.isdigit() else value
    if not isinstance(value, int) or value < 0:
        raise RecordError(field, f"{field} must be a whole number of 0 or more, not {value!r}")
    return value


def parse_time(field: str, value: Any) -> datetime:
    """An ISO 8601 time (UTC when it names no zone), Unix seconds (or milliseconds), or
    an RFC 2822 date, in UTC."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value) / (1000 if abs(value) > 1e11 else 1)
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            raise RecordError(field, f"{field} is not a time: {value!r}") from None
    text = _string(field, value)
    if re.fullmatch(r"-?\d+(?:\.\d+)?", text):
        return parse_time(field, float(text))
    when: datetime | None = None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            message = f"{field} is not a time: {text!r} (ISO 8601 is expected)"
            raise RecordError(field, message) from None
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC)


def qualified(network: str, ident: str) -> str:
    """An id as Accord stores it: as given on its own networks, else prefixed."""
    if network in OWN_NETWORKS or ident.startswith(f"{network}:"):
        return ident
    return f"{network}:{ident}"


def post_from_record(record: Mapping[str, Any], default_network: str) -> Post:
    """One exported record as a post, or :class:`RecordError` for its first fault."""
    fields = _fields(record)
    for name in REQUIRED:
        if name not in fields:
            present = {_key(str(k)): str(k) for k in record}
            column = next((present[a] for a in ALIASES[name] if a in present), name)
            names = ", ".join(ALIASES[name][:4])
            message = f"{name} is missing or empty (read from any of {names}...)"
            raise RecordError(column, message, "missing")

    def text_of(name: str) -> str | None:
        return _string(fields[name][0], fields[name][1]) if name in fields else None

    network = (text_of("network") or default_network).lower()
    if not NETWORK.match(network):
        raise RecordError(fields["network"][0], f"{network!r} is not a network's name")
    text = (text_of("text") or "").replace("\r\n", "\n").replace("\r", "\n")
    if len(text) > MAX_TEXT:
        raise RecordError(fields["text"][0], f"the text is longer than {MAX_TEXT} characters")
    posted_at = parse_time(*fields["posted_at"])
    author = (text_of("author") or "").removeprefix("@")
    if not author:
        raise RecordError(fields["author"][0], "the author is empty", "missing")
    url = text_of("url")
    if url and (urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).netloc):
        raise RecordError(fields["url"][0], f"url must be an http(s) address, not {url!r}")
    lang = text_of("lang")
    if lang and not LANG.match(lang):
        message = f"lang must be a language tag like en or pt-BR, not {lang!r}"
        raise RecordError(fields["lang"][0], message)
    counts = {name: _count(*fields[name]) for name in COUNTS if name in fields}
    ident = text_of("id")
    if ident:
        external_id = qualified(network, ident)
    else:
        basis = "\x1f".join((network, author.lower(), text, posted_at.isoformat()))
        external_id = f"{network}:sha256:{hashlib.sha256(basis.encode()).hexdigest()[:32]}"
    reply_to = text_of("reply_to")
    return Post(
        network=network,
        external_id=external_id,
        text=text,
        posted_at=posted_at,
        author_handle=author,
        url=url or None,
        author_name=text_of("author_name") or None,
        followers=counts.get("followers"),
        likes=counts.get("likes", 0),
        reposts=counts.get("reposts", 0),
        replies=counts.get("replies", 0),
        lang=lang or None,
        title=text_of("title") or None,
        reply_to=qualified(network, reply_to) if reply_to else None,
        raw={str(k): v for k, v in record.items()},
    )


def _delimiter(first_line: str) -> str:
    """The most frequent of , ; tab and | in the header line (a comma when none)."""
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def parse_csv(text: str, default_network: str = "import") -> tuple[list[Post], list[RowError]]:
    """The posts of a CSV export (its first line the header; the delimiter found from
    it), and an error per bad row with the line the row starts on."""
    text = text.removeprefix("\ufeff")
    first = next((line for line in text.splitlines() if line.strip()), "")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first))
    posts: list[Post] = []
    errors: list[RowError] = []
    header: list[str] | None = None
    end = 0  # the last line read so far
    while True:
        start = end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(f"the line is not valid CSV: {exc}", line=start, code="not_csv"))
            if reader.line_num <= end:
                break
            end = reader.line_num
            continue
        end = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [cell.strip() for cell in row]
            missing = [n for n in REQUIRED if not set(ALIASES[n]) & {_key(h) for h in header}]
            if missing:
                names = ", ".join(missing)
                message = f"the header has no column for {names}"
                errors.append(RowError(message, field=missing[0], line=start, code="missing"))
                return [], errors
            continue
        if len(row) > len(header) and any(cell.strip() for cell in row[len(header) :]):
            message = f"the row has {len(row)} values but the header {len(header)} columns"
            errors.append(RowError(message, line=start, code="extra_values"))
            continue
        _take(dict(zip(header, row, strict=False)), default_network, posts, errors, line=start)
    return posts, errors


def parse_jsonl(text: str, default_network: str = "import") -> tuple[list[Post], list[RowError]]:
    """The posts of a JSON Lines export (one JSON object per line; blank lines skipped),
    and an error per bad line with its number."""
    posts: list[Post] = []
    errors: list[RowError] = []
    for number, line in enumerate(text.removeprefix("\ufeff").split("\n"), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            message = f"the line is not JSON: {exc.msg} (column {exc.colno})"
            errors.append(RowError(message, line=number, code="not_json"))
            continue
        except RecursionError:
            message = "the line is nested too deeply to read"
            errors.append(RowError(message, line=number, code="not_json"))
            continue
        if not isinstance(record, dict):
            message = "each line must be a JSON object"
            errors.append(RowError(message, line=number, code="not_object"))
            continue
        _take(record, default_network, posts, errors, line=number)
    return posts, errors


def _take(
    record: Mapping[str, Any],
    default_network: str,
    posts: list[Post],
    errors: list[RowError],
    *,
    line: int | None = None,
    index: int | None = None,
) -> None:
    try:
        posts.append(post_from_record(record, default_network))
    except RecordError as exc:
        errors.append(RowError(exc.message, field=exc.field, line=line, index=index, code=exc.code))


def take_all(records: Iterable[Any], default_network: str) -> tuple[list[Post], list[RowError]]:
    """Records of a list (a webhook's), errors by index."""
    posts: list[Post] = []
    errors: list[RowError] = []
    for index, record in enumerate(records):
        if not isinstance(record, dict):
            message = "each post must be a JSON object"
            errors.append(RowError(message, index=index, code="not_object"))
            continue
        _take(record, default_network, posts, errors, index=index)
    return posts, errors
