"""A brewing crisis on both databases: a spike of negative mentions raises one alert,
posted to the team's inbox as an urgent conversation and emailed over real SMTP on
loopback to the addresses the settings name (never to a suppressed one); a second look
raises nothing new, and a quiet window ends the alert."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accord.channels import mailbox
from accord.govern.access.principal import Principal
from accord.govern.consent import suppression
from accord.govern.workspaces.models import Workspace
from accord.inbox.models import Conversation
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.social import tasks
from accord.social.models import SocialAlert
from accord.social.service import hear
from accord.social.settings import LISTENING, Alerts, ListeningSettings
from accord.social.sources.base import Post
from tests.helpers import Committed
from tests.smtp_sink import Sink, wait_until

pytestmark = pytest.mark.usefixtures("backend")
TEAM = ["oncall@acme.example", "pr@acme.example"]


def _setup(committed: Committed, port: int) -> tuple[Workspace, tasks.Listening]:
    ws = committed.workspace("Acme")
    settings = committed.settings()
    with transaction(committed.factory) as session:
        workspace = session.get(Workspace, ws.workspace.id)
        assert workspace is not None
        actor = Principal.cli(workspace.id)
        LISTENING.write(
            session,
            workspace,
            ListeningSettings(
                brands=["Acme"],
                alerts=Alerts(window_minutes=60, min_mentions=5, negative_share=0.5, emails=TEAM),
            ),
            actor=actor,
        )
        mailbox.save(
            session,
            workspace.id,
            {"address": "alerts@acme.example", "relay": {"host": "127.0.0.1", "port": port}},
            settings.resolved_secret_key,
            actor=actor,
        )
    return workspace, tasks.Listening(connectors={}, secret_key=settings.resolved_secret_key)


def _storm(committed: Committed, workspace: Workspace, listening: tasks.Listening, n: int) -> None:
    now = utcnow()
    posts = [
        Post(
            network="bluesky",
            external_id=f"at://storm/{i}",
            text=f"Acme app is down again, lost my whole afternoon of work #{i}",
            posted_at=now - timedelta(minutes=i),
            author_handle=f"user{i}.bsky.social",
            followers=100 * i,
        )
        for i in range(n)
    ]
    with transaction(committed.factory) as session:
        hear(session, listening.context(session, workspace.id), posts)


def test_a_spike_of_negative_mentions_alerts_the_inbox_and_the_team_once(
    committed: Committed, smtp_sink: Sink
) -> None:
    sink = smtp_sink
    workspace, listening = _setup(committed, sink.port)
    _storm(committed, workspace, listening, 8)
    assert tasks.watch(committed.factory, listening=listening) >= 1
    with transaction(committed.factory) as session:
        alerts = session.query(SocialAlert).filter_by(workspace_id=workspace.id).all()
        # Each alert raised (a volume spike may come with the negative one) goes to the
        # whole team; all of them are in before anything is counted.
        emailed = sum(a.emailed for a in alerts)
        assert emailed == len(TEAM) * len(alerts)
        wait_until(lambda: len(sink.messages) >= emailed)
        assert "negative" in {a.kind for a in alerts}
        negative = next(a for a in alerts if a.kind == "negative")
        assert negative.negative_share >= 0.5
        assert negative.ended_at is None
        conversation = session.get(Conversation, negative.conversation_id)
        assert conversation is not None
        assert conversation.priority == "urgent"
        assert "Social alert" in conversation.subject
    subjects = {m["Subject"] for m in sink.messages}
    assert any("are negative" in s for s in subjects)
    assert {m["To"] for m in sink.messages} == set(TEAM)
    body = sink.messages[0].get_body(("plain",)).get_content()
    assert "Acme app is down again" in body
    assert "/social" in body
    # Looking again raises nothing new while the spike lasts.
    before = len(sink.messages)
    assert tasks.watch(committed.factory, listening=listening) == 0
    assert len(sink.messages) == before
    # Two hours later the window is quiet: the alert ends.
    tasks.watch(committed.factory, listening=listening, now=utcnow() + timedelta(hours=2))
    with transaction(committed.factory) as session:
        rows = session.query(SocialAlert).filter_by(workspace_id=workspace.id).all()
        assert rows
        assert all(a.ended_at is not None for a in rows)


def test_an_alert_is_not_emailed_to_a_suppressed_address(
    committed: Committed, smtp_sink: Sink
) -> None:
    sink = smtp_sink
    workspace, listening = _setup(committed, sink.port)
    with transaction(committed.factory) as session:
        suppression.suppress(session, workspace.id, [("email", TEAM[1])], reason="test")
    _storm(committed, workspace, listening, 8)
    tasks.watch(committed.factory, listening=listening)
    wait_until(lambda: len(sink.messages) >= 1)
    with transaction(committed.factory) as session:
        emailed = [
            a.emailed for a in session.query(SocialAlert).filter_by(workspace_id=workspace.id)
        ]
    assert emailed
    assert all(n == 1 for n in emailed)
    assert {m["To"] for m in sink.messages} == {TEAM[0]}
