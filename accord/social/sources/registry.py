"""The connectors a deployment listens and answers with, one per kind of source: built
when the app or the job engine starts (never at import)."""

from __future__ import annotations

from accord.social.sources.base import Connector, Replier
from accord.social.sources.bluesky import BlueskyConnector
from accord.social.sources.feeds import FeedConnector
from accord.social.sources.mastodon import MastodonConnector
from accord.social.sources.reddit import RedditConnector


def connectors() -> dict[str, Connector]:
    """Kind -> the connector that fetches it (webhook and import sources are pushed)."""
    return {
        "bluesky": BlueskyConnector(),
        "mastodon": MastodonConnector(),
        "reddit": RedditConnector(),
        "rss": FeedConnector(),
    }


def repliers() -> dict[str, Replier]:
    """Kind -> the connector that answers on it (a feed cannot be answered)."""
    return {
        "bluesky": BlueskyConnector(),
        "mastodon": MastodonConnector(),
        "reddit": RedditConnector(),
    }
