"""Whether an event is a touch at all, and an attributed one (tagged with a campaign,
from another site, or on a channel of its own), with what it says. One rule, written
twice: as SQL (``TouchSql``), for picking a person's touches among all their events in
the database, and in Python (``collect/touch.py: weigh``, re-exported here), for each
event as it is accepted and for a batch's own events, each context parsed once (``#>>``
on a ``json`` column parses the document again for every path).
``tests/analyze/test_acquisition_weigh.py`` holds the two to the same answers."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, not_, or_

from accord.collect.touch import (
    CHANNEL_TOUCHES,
    CLICK_IDS_IN_URL,
    LINK_CLICKED,
    PAGE_TYPES,
    UTM_IN_URL,
    Weighed,
    host,
    weigh,
)

__all__ = ["TouchSql", "Weighed", "host", "weigh"]


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
