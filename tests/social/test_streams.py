"""Live listening on both databases, against a Mastodon instance on loopback: a source
with streaming on is held by one process (a lease the scheduled fetch respects), catches
up from its cursor, then hears a status within moments of its posting; stopping gives
the source back."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select

from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.social import connections, tasks
from accord.social.models import Mention, SocialSource
from accord.social.repository import SourceRepository
from accord.social.schemas import SourceIn
from accord.social.settings import LISTENING, ListeningSettings
from accord.social.sources import registry
from accord.social.streams import LEASE, Streams
from tests.helpers import Committed
from tests.smtp_sink import wait_until
from tests.social.servers.mastodon import DOMAIN, TOKEN, MastodonServer, mastodon_server

pytestmark = pytest.mark.usefixtures("backend")
TAG = "NorthwindHelp"


@pytest.fixture
def server() -> Iterator[MastodonServer]:
    with mastodon_server() as s:
        yield s


def test_a_streaming_source_hears_a_status_as_it_is_posted(
    committed: Committed, server: MastodonServer
) -> None:
    ws = committed.workspace("Northwind")
    settings = committed.settings()
    listening = tasks.Listening(
        connectors=registry.connectors(),
        secret_key=settings.resolved_secret_key,
        private_hosts=True,
    )
    with transaction(committed.factory) as session:
        workspace = session.get(Workspace, ws.workspace.id)
        assert workspace is not None
        actor = Principal.cli(workspace.id)
        LISTENING.write(session, workspace, ListeningSettings(brands=["Northwind"]), actor=actor)
        source = connections.create(
            session,
            workspace,
            SourceIn(
                kind="mastodon",
                name="Fediverse",
                settings={
                    "instance": server.url,
                    "domain": DOMAIN,
                    "hashtags": [TAG],
                    "stream": True,
                },
                credentials={"access_token": TOKEN},
            ),
            actor=actor,
            secret_key=settings.resolved_secret_key,
            private_hosts=True,
        )
        source_id = source.id
    kim = server.account("kim", "Kim", followers=2400)
    server.status(kim, "<p>Northwind, my order is late again</p>", tags=[TAG])  # the backlog
    worker = Streams(committed.factory, listening, interval=0.5)
    worker.start()
    try:

        def heard() -> list[str]:
            with transaction(committed.factory) as session:
                return list(
                    session.scalars(
                        select(Mention.text).where(Mention.workspace_id == ws.workspace.id)
                    )
                )

        wait_until(lambda: len(heard()) == 1)  # caught up from the cursor
        wait_until(lambda: any(s[0] == "hashtag" for s in server.streams))
        with transaction(committed.factory) as session:
            held = session.get(SocialSource, source_id)
            assert held is not None
            assert held.streamed_by == worker.me
            # The scheduled fetch leaves it to the stream; another process cannot take it.
            assert SourceRepository.from_session(session).due(utcnow(), ["mastodon"]) == []
            assert not SourceRepository.from_session(session).lease(
                source_id, "another-process", utcnow(), LEASE
            )
        server.status(kim, "<p>Northwind support just fixed it, thanks!</p>", tags=[TAG])
        wait_until(lambda: len(heard()) == 2, timeout=20)
        assert any("fixed it" in t for t in heard())
    finally:
        worker.stop()
    with transaction(committed.factory) as session:
        released = session.get(SocialSource, source_id)
        assert released is not None
        assert released.streamed_by is None
        assert released.heard == 2
