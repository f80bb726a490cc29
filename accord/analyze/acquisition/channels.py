"""How a touch is read and grouped into a channel. Pure: no database.

A touch is one event that says how a person reached the business: a visit tagged with a
campaign (UTM parameters in ``context.campaign``, or ``utm_*`` / a click id in the page's
URL), a visit from another site (``context.page.referrer`` on another host), a page or
screen view without either (a direct visit), a click on one of Accord's short links, or
an interaction on an offline or service channel (a store, a call, an email, a social
message). Navigation inside a site (a referrer on the page's own host) is not a touch.

Values are trimmed and lower-cased (``Google`` and ``google`` are one source). The
channel group of a touch is decided by the first rule that holds:

1. Tagged with a campaign, by its medium (and source):

   - ``offline``: medium ``qr``, ``print``, ``offline``, ``poster``, ``flyer``, ``radio``,
     ``tv``, ``podcast``, ``event``, ``store``, ``outdoor``, ``billboard``,
     ``direct_mail``, ``magazine``, ``newspaper``, ``packaging`` (or source ``qr``);
   - ``paid_social``: medium ``paid_social`` (and its spellings) or ``sponsored``, or a
     paid medium (``cpc``, ``ppc``, ``paid``...) from a social network;
   - ``paid_search``: a paid medium (``cpc``, ``ppc``, ``paid``, ``paidsearch``,
     ``paid_search``, ``sem``), or a search ad's click id (``gclid``, ``msclkid``,
     ``gbraid``, ``wbraid``) with no medium;
   - ``display``: ``display``, ``banner``, ``cpm``, ``cpv``, ``video``, ``programmatic``;
   - ``email``: medium ``email`` (``e-mail``, ``newsletter``...) or source ``newsletter``;
   - ``affiliate``: ``affiliate``, ``partner``;
   - ``social``: medium ``social`` (``social-network``, ``sm``...) or a social network
     as the source;
   - ``organic_search``: medium ``organic``;
   - ``referral``: medium ``referral`` or ``link``;
   - ``other``: any other campaign.
2. From another site, by the referrer's domain: a search engine (Google in every country,
   Bing, Yahoo, DuckDuckGo, Baidu, Yandex, Ecosia...) is ``organic_search``, a social
   network (Facebook, Instagram, X/Twitter, LinkedIn, Pinterest, Reddit, TikTok,
   YouTube...) ``social``, a webmail ``email``, any other site ``referral``.
3. On a channel of its own: ``store`` and ``call_center`` are ``offline``, ``email`` is
   ``email``, ``social`` is ``social``.
4. Anything else (a page or screen view with neither campaign nor referrer) is
   ``direct``.

A touch without a campaign is given a source and medium the way web analytics does:
``google`` / ``organic`` for a search engine, the referrer's domain / ``social`` or
``referral`` for another site, ``(direct)`` / ``(none)`` for a direct visit, the channel
(``store``...) / ``offline`` for a channel of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# The channels that are touches by themselves, and their groups: part of the rule that
# weighs an event when it is collected.
from accord.collect.touch import CHANNEL_TOUCHES

GROUPS: dict[str, str] = {
    "paid_search": "Paid search",
    "organic_search": "Organic search",
    "paid_social": "Paid social",
    "social": "Social",
    "email": "Email",
    "display": "Display",
    "affiliate": "Affiliate",
    "referral": "Referral",
    "offline": "Offline / QR",
    "direct": "Direct",
    "other": "Other campaigns",
}
NONE_GROUP = "unknown"  # a person with no touch at all (imported, or known only by id)


OFFLINE_MEDIUMS = frozenset(
    {
        "qr",
        "qr_code",
        "qrcode",
        "print",
        "offline",
        "poster",
        "flyer",
        "leaflet",
        "radio",
        "tv",
        "podcast",
        "event",
        "store",
        "outdoor",
        "billboard",
        "direct_mail",
        "mail",
        "magazine",
        "newspaper",
        "packaging",
        "business_card",
    }
)
PAID_MEDIUMS = frozenset({"cpc", "ppc", "paid", "paidsearch", "paid_search", "sem"})
PAID_SOCIAL_MEDIUMS = frozenset(
    {"paid_social", "paidsocial", "social_paid", "sponsored", "social_ads", "social_ad"}
)
DISPLAY_MEDIUMS = frozenset(
    {"display", "banner", "cpm", "cpv", "video", "programmatic", "interstitial", "expandable"}
)
EMAIL_MEDIUMS = frozenset({"email", "e_mail", "newsletter", "mailing"})
AFFILIATE_MEDIUMS = frozenset({"affiliate", "affiliates", "partner"})
SOCIAL_MEDIUMS = frozenset({"social", "social_network", "social_media", "sm"})
REFERRAL_MEDIUMS = frozenset({"referral", "link"})
CLICK_IDS = ("gclid", "msclkid", "gbraid", "wbraid")

# Search engines by the name their domain carries (google.com, google.co.uk, ...).
SEARCH_ENGINES = (
    "google",
    "bing",
    "yahoo",
    "duckduckgo",
    "baidu",
    "yandex",
    "ecosia",
    "ask",
    "naver",
    "seznam",
    "startpage",
    "qwant",
    "sogou",
    "daum",
    "aol",
)
# Search engines that live on a host of another name.
SEARCH_HOSTS = {"search.brave.com": "brave", "so.com": "so", "search.yahoo.co.jp": "yahoo"}
SOCIAL_DOMAINS = {
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "fb.me": "facebook",
    "messenger.com": "facebook",
    "instagram.com": "instagram",
    "twitter.com": "twitter",
    "x.com": "twitter",
    "t.co": "twitter",
    "linkedin.com": "linkedin",
    "lnkd.in": "linkedin",
    "pinterest.com": "pinterest",
    "pin.it": "pinterest",
    "reddit.com": "reddit",
    "tiktok.com": "tiktok",
    "youtube.com": "youtube",
    "youtu.be": "youtube",
    "snapchat.com": "snapchat",
    "tumblr.com": "tumblr",
    "threads.net": "threads",
    "bsky.app": "bluesky",
    "mastodon.social": "mastodon",
    "vk.com": "vk",
    "whatsapp.com": "whatsapp",
    "wa.me": "whatsapp",
    "t.me": "telegram",
    "quora.com": "quora",
    "discord.com": "discord",
}
SOCIAL_SOURCES = frozenset(
    {
        "facebook",
        "fb",
        "instagram",
        "ig",
        "meta",
        "twitter",
        "x",
        "linkedin",
        "pinterest",
        "reddit",
        "tiktok",
        "youtube",
        "snapchat",
        "threads",
        "bluesky",
        "whatsapp",
    }
)
WEBMAIL_HOSTS = frozenset(
    {
        "mail.google.com",
        "outlook.live.com",
        "outlook.office.com",
        "outlook.office365.com",
        "mail.yahoo.com",
        "mail.aol.com",
        "mail.proton.me",
        "app.fastmail.com",
    }
)
_ENGINE = re.compile(r"(?:^|\.)(" + "|".join(SEARCH_ENGINES) + r")\.[a-z]{2,3}(?:\.[a-z]{2})?$")

# Column sizes of the stored touch (acquisition_touches).
LENGTHS = {"source": 120, "medium": 120, "campaign": 200, "term": 200, "content": 200}
REFERRER_LENGTH = 255


def clean(value: Any, length: int = 200) -> str | None:
    """A UTM value as stored: text, trimmed, lower-cased, cut to the column; None when
    empty."""
    if value is None or isinstance(value, bool | dict | list):
        return None
    text = str(value).replace("\x00", "").strip().lower()
    return text[:length] or None


def _token(value: str | None) -> str:
    """A medium compared with the lists: spaces and dashes read as underscores."""
    return (value or "").replace("-", "_").replace(" ", "_")


def host_of(url: Any) -> str | None:
    """The host of a URL, lower-cased, without ``www.`` or a port; None for anything
    that is not an absolute URL."""
    if not isinstance(url, str) or "//" not in url:
        return None
    try:
        host = urlsplit(url.strip()).hostname
    except ValueError:
        return None
    if not host:
        return None
    host = host.lower().rstrip(".")
    return host[4:] if host.startswith("www.") else host


def search_engine(host: str) -> str | None:
    if host in SEARCH_HOSTS:
        return SEARCH_HOSTS[host]
    found = _ENGINE.search(host)
    return found.group(1) if found else None


def social_network(host: str) -> str | None:
    for domain, name in SOCIAL_DOMAINS.items():
        if host == domain or host.endswith("." + domain):
            return name
    return None


def url_parameters(url: Any) -> dict[str, str]:
    """The query parameters of a URL (the first value of each), names lower-cased."""
    if not isinstance(url, str) or "?" not in url:
        return {}
    try:
        query = urlsplit(url.strip()).query
    except ValueError:
        return {}
    out: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=False):
        out.setdefault(key.lower(), value)
    return out


@dataclass(frozen=True)
class Raw:
    """What one touch event says, as read from the events table."""

    type: str
    name: str | None
    channel: str
    timestamp: datetime
    campaign: dict[str, Any]  # source, medium, name, term, content as given
    referrer: str | None
    url: str | None
    search: str | None = None


@dataclass(frozen=True)
class Touch:
    """A touch as stored: where the person came from, grouped."""

    group: str
    source: str | None
    medium: str | None
    campaign: str | None
    term: str | None
    content: str | None
    referrer: str | None  # the referring site's domain
    channel: str  # the event's channel (web, app, store...)
    at: datetime


def _campaign_of(raw: Raw) -> tuple[dict[str, str | None], bool]:
    """The UTM values of a touch (context first, then the page's URL), and whether it
    came through a search ad's click id."""
    given = {k: clean(raw.campaign.get(k), LENGTHS[k]) for k in LENGTHS}
    if raw.campaign.get("source") is None and isinstance(raw.campaign.get("utm_source"), str):
        given = {k: clean(raw.campaign.get(f"utm_{k}"), LENGTHS[k]) for k in LENGTHS}
    params = url_parameters(raw.url)
    if not params and raw.search:
        params = url_parameters("x://x" + (raw.search if raw.search.startswith("?") else "?"))
    if not any(given[k] for k in ("source", "medium", "campaign")):
        given = {k: clean(params.get(f"utm_{k}"), LENGTHS[k]) for k in LENGTHS}
    clicked = any(params.get(c) for c in CLICK_IDS)
    return given, clicked


def campaign_group(source: str | None, medium: str | None, clicked: bool = False) -> str:
    """The group of a campaign touch (rule 1 of the module's documentation)."""
    m = _token(medium)
    s = _token(source)
    social_source = s in SOCIAL_SOURCES
    if m in OFFLINE_MEDIUMS or s == "qr":
        return "offline"
    if m in PAID_SOCIAL_MEDIUMS or (m in PAID_MEDIUMS and social_source):
        return "paid_social"
    if m in PAID_MEDIUMS or (not m and clicked):
        return "paid_search"
    if m in DISPLAY_MEDIUMS:
        return "display"
    if m in EMAIL_MEDIUMS or s in {"newsletter", "email"}:
        return "email"
    if m in AFFILIATE_MEDIUMS:
        return "affiliate"
    if m in SOCIAL_MEDIUMS or social_source:
        return "social"
    if m == "organic":
        return "organic_search"
    if m in REFERRAL_MEDIUMS:
        return "referral"
    return "other"


def classify(raw: Raw) -> Touch:
    """The touch an event is, grouped by the rules of the module's documentation."""
    if not (raw.campaign or raw.url or raw.search or raw.referrer):
        return _unsourced(raw)  # most touches: nothing to read a campaign or site from
    utm, clicked = _campaign_of(raw)
    page_host = host_of(raw.url)
    ref_host = host_of(raw.referrer)
    external = ref_host if ref_host and ref_host != page_host else None
    referrer = external[:REFERRER_LENGTH] if external else None
    if any(utm[k] for k in ("source", "medium", "campaign")) or clicked:
        source = utm["source"]
        medium = utm["medium"]
        if clicked and not source and not medium:
            ads = "bing" if url_parameters(raw.url).get("msclkid") else "google"
            source, medium = ads, "cpc"
        group = campaign_group(source, medium, clicked)
        return Touch(
            group=group,
            source=source or (clean(external) if external else None),
            medium=medium,
            campaign=utm["campaign"],
            term=utm["term"],
            content=utm["content"],
            referrer=referrer,
            channel=raw.channel,
            at=raw.timestamp,
        )
    if external:
        if external in WEBMAIL_HOSTS:
            group, source, medium = "email", external, "email"
        elif (engine := search_engine(external)) is not None:
            group, source, medium = "organic_search", engine, "organic"
        elif (network := social_network(external)) is not None:
            group, source, medium = "social", network, "social"
        else:
            group, source, medium = "referral", external, "referral"
        return Touch(
            group,
            clean(source, 120),
            medium,
            None,
            None,
            None,
            referrer,
            raw.channel,
            raw.timestamp,
        )
    return _unsourced(raw)


def _unsourced(raw: Raw) -> Touch:
    """A touch with no campaign and no other site: its channel's own, or direct."""
    if raw.channel in CHANNEL_TOUCHES:
        group = CHANNEL_TOUCHES[raw.channel]
        medium = "offline" if group == "offline" else group
        return Touch(group, raw.channel, medium, None, None, None, None, raw.channel, raw.timestamp)
    return Touch("direct", "(direct)", "(none)", None, None, None, None, raw.channel, raw.timestamp)


def label(group: str | None) -> str:
    """A group's name as people read it."""
    if not group or group == NONE_GROUP:
        return "Unknown"
    return GROUPS.get(group, group.replace("_", " ").capitalize())
