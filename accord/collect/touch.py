"""Whether an event is a touch of the business's acquisition at all, and an attributed one
(tagged with a campaign, from another site, or on a channel of its own), read from the
event as it is collected: the rule in Python. ``analyze/acquisition/weigh.py`` writes the
same rule as SQL, for a person's whole history in the database;
``tests/analyze/test_acquisition_weigh.py`` holds the two to the same answers.

Each event is weighed once, when it is accepted, and stored with its ``touch`` bits
(``bits``): the acquisition touches that follow resolution read back only the events
that may move a person's touches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from accord.kit.jsonio import dumps

# The channels of events that are touches by themselves, and the group each counts in.
CHANNEL_TOUCHES = {
    "store": "offline",
    "call_center": "offline",
    "email": "email",
    "social": "social",
}
LINK_CLICKED = "Link Clicked"
CLICK_IDS_IN_URL = ("gclid=", "msclkid=", "gbraid=", "wbraid=")
UTM_IN_URL = ("utm_source=", "utm_medium=", "utm_campaign=")
PAGE_TYPES = ("page", "screen")
CAMPAIGN_KEYS = ("source", "medium", "name", "term", "content")
TAGS_IN_URL = (*UTM_IN_URL, *CLICK_IDS_IN_URL)  # each ends with "="

# An event's ``touch`` bits (``events.touch``; NULL: written before events were weighed).
TOUCH = 1  # a touch at all
ATTRIBUTED = 2  # an attributed one
LINK = 4  # a click on a tracked link


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


def bits(type_: str, name: str | None, channel: str | None, context: Any) -> int:
    """``weigh``'s answer as an event's ``touch`` bits."""
    weighed = weigh(type_, name, channel, context)
    out = 0
    if weighed.touch:
        out |= TOUCH
    if weighed.attributed:
        out |= ATTRIBUTED
    if name == LINK_CLICKED:
        out |= LINK
    return out
