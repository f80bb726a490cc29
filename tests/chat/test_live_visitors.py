"""The live visitors list in the console, on both databases: the list is drawn again
every few seconds on its own, and each drawing's start-chat forms carry the session's
CSRF token, so an agent can start a chat from any of them."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.chat.test_chat import start
from tests.chat.test_chat_console import agent_console
from tests.helpers import Committed

LIST = {"HX-Request": "true", "HX-Target": "visitor-list"}


def test_the_redrawn_list_carries_the_token_and_starts_a_chat(
    chat_client: TestClient, chat_db: Committed, site: ProvisionedWorkspace
) -> None:
    hello = start(chat_client, site, "anon-redrawn")
    csrf, _ = agent_console(chat_client, chat_db, site)
    full = chat_client.get("/inbox/visitors")
    assert full.status_code == 200
    redrawn = chat_client.get("/inbox/visitors", headers=LIST)
    assert redrawn.status_code == 200
    assert "<html" not in redrawn.text  # the list alone
    tokens = re.findall(r'name="csrf_token" value="([^"]*)"', redrawn.text)
    assert tokens == [csrf]
    # What the agent types survives the next drawing (kept by its id).
    assert f'id="first-message-{hello["visitor_id"]}" hx-preserve' in redrawn.text
    r = chat_client.post(
        f"/inbox/visitors/{hello['visitor_id']}/chat",
        data={"csrf_token": tokens[0], "body": "Hi! Can I help you find a tent?"},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    page = chat_client.get(r.headers["location"])
    assert "Can I help you find a tent?" in page.text
