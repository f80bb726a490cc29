"""Whether an event is a touch at all, and an attributed one (tagged with a campaign,
from another site, or on a channel of its own), with what it says. One rule, written
twice: as SQL (``TouchSql``), for picking a person's touches among all their events in
the database, and in Python (``weigh``), for a batch's own events, read once, each
context parsed once (``#>>`` on a ``json`` column parses the document again for every
path). ``tests/analyze/test_acquisition_weigh.py`` holds the two to the same answers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, not_, or_

from accord.analyze.acquisition.channels import CHANNEL_TOUCHES, LINK_CLICKED
from accord.kit.jsonio import dumps

CLICK_IDS_IN_URL = ("gclid=", "msclkid=", "gbraid=", "wbraid=")
UTM_IN_URL = ("utm_source=", "utm_medium=", "utm_campaign=")
PAGE_TYPES = ("page", "screen")
CAMPAIGN_KEYS = ("source", "medium", "name", "term", "content")
TAGS_IN_URL = (*UTM_IN_URL, *CLICK_IDS_IN_URL)  # each ends with "="


class TouchSql:
    """The expressions that read a touch out of an event's context, for one dialect."""

    def __init__(self, dialect: str, event: Any) -> None:
        self.pg = dialect == "postgresql"
        self.e = event

    def text(self, *path: str) -> ColumnElement[Any]:
        return self.e.context[path].as_string()  # type: ignore[no-any-return]

    def _position(self, needle: str, haystack: ColumnElement[Any]) -> ColumnElement[Any]:
        if self.pg:
            return func.strpos(haystack, needle)
        return func.instr(haystack, needle)

    def host(self, url: ColumnElement[Any]) -> ColumnElement[Any]:
        """A URL's host, lower-cased, without ``www.`` (a port stays; with no scheme,
        what comes before the first ``/``)."""
        low = func.lower(url, type_=String)
        scheme = self._position("://", low)
        rest = case((scheme > 0, func.substr(low, scheme + 3, type_=String)), else_=low)
        plain = func.replace(func.replace(rest, "?", "/", type_=String), "#", "/", type_=String)
        ended = plain.concat("/")
        host = func.substr(ended, 1, self._position("/", ended) - 1, type_=String)
        return case((host.like("www.%"), func.substr(host, 5, type_=String)), else_=host)

    def parts(self) -> tuple[ColumnElement[bool], ColumnElement[bool]]:
        """(attributed: tagged with a campaign, from another site or on a channel of its
        own; a touch at all)."""
        e = self.e
        ref = self.text("page", "referrer")
        url = self.text("page", "url")
        search = self.text("page", "search")
        tagged_url = func.lower(
            func.coalesce(url, "", type_=String).concat(func.coalesce(search, "", type_=String)),
            type_=String,
        )
        tagged = or_(
            *(
                func.coalesce(self.text("campaign", key), "", type_=String) != ""
                for key in ("source", "medium", "name")
            ),
            *(tagged_url.contains(p, autoescape=True) for p in (*UTM_IN_URL, *CLICK_IDS_IN_URL)),
        )
        has_ref = func.coalesce(ref, "", type_=String) != ""
        external = and_(has_ref, or_(url.is_(None), self.host(ref) != self.host(url)))
        attributed = or_(tagged, external, e.channel.in_(list(CHANNEL_TOUCHES)))
        touch = or_(
            attributed,
            e.name == LINK_CLICKED,
            and_(e.type.in_(PAGE_TYPES), not_(has_ref)),
        )
        return attributed, touch


@dataclass(frozen=True)
class Weighed:
    """One event weighed: whether it is a touch and an attributed one, and what its
    context says (the campaign's keys given, the page's referrer, URL and search)."""

    touch: bool
    attributed: bool
    campaign: dict[str, str]
    referrer: str | None
    url: str | None
    search: str | None


def _object(value: Any) -> Mapping[str, Any] | None:
    """``value`` if it is a JSON object (a parsed context's are plain dicts), else None."""
    if type(value) is dict:
        return value
    if value is None:  # most often: no context, no page (before the costlier check)
        return None
    return value if isinstance(value, Mapping) else None


def _leaf(value: Any) -> str | None:
    """A value as ``TouchSql.text`` reads it: a string as it is, another value as its
    JSON text, None where there is none."""
    if value is None or isinstance(value, str):
        return value
    return dumps(value)


def host(url: str) -> str:
    """``TouchSql.host`` in Python, to the character."""
    low = url.lower()
    found = low.find("://")
    rest = low[found + 3 :] if found >= 0 else low
    ended = rest.replace("?", "/").replace("#", "/") + "/"
    name = ended[: ended.find("/")]
    return name[4:] if name.startswith("www.") else name


def weigh(type_: str, name: str | None, channel: str | None, context: Any) -> Weighed:
    """``TouchSql.parts`` for one event, with what grouping its touch reads (each path of
    the context read as ``TouchSql.text`` reads it, each object looked up once)."""
    root = _object(context)
    page = _object(root.get("page")) if root is not None else None
    ref = url = search = None
    if page is not None:
        ref, url, search = (
            _leaf(page.get("referrer")),
            _leaf(page.get("url")),
            _leaf(page.get("search")),
        )
    tags = _object(root.get("campaign")) if root is not None else None
    campaign = (
        {k: v for k in CAMPAIGN_KEYS if (v := _leaf(tags.get(k))) is not None} if tags else {}
    )
    tagged_url = ((url or "") + (search or "")).lower()
    tagged = (bool(campaign) and any(campaign.get(k) for k in ("source", "medium", "name"))) or (
        "=" in tagged_url and any(p in tagged_url for p in TAGS_IN_URL)
    )
    has_ref = bool(ref)
    external = has_ref and (url is None or host(ref or "") != host(url))
    attributed = tagged or external or channel in CHANNEL_TOUCHES
    touch = attributed or name == LINK_CLICKED or (type_ in PAGE_TYPES and not has_ref)
    return Weighed(touch, attributed, campaign, ref, url, search)
