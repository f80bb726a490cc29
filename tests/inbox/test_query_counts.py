"""Hot paths of the agent console and the inbox API run a fixed number of queries,
whatever the size of the inbox (both databases). A change that adds a query per row or
per request fails here, before it shows in `accord bench inbox`."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login, count_queries

AGENT = "agent@acme-support.com"


def _inbox(client: TestClient, workspace: ProvisionedWorkspace, n: int) -> list[str]:
    ids = []
    for i in range(n):
        r = client.post(
            "/api/v1/messages",
            headers=bearer(workspace.api_token),
            json={
                "channel": "email" if i % 2 else "chat",
                "contact": {"email": f"customer{i}@example.com", "name": f"Customer {i}"},
                "subject": f"Question {i}",
                "body": "Hello",
            },
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["conversation"]["id"])
    return ids


def test_console_pages_run_a_fixed_number_of_queries(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, engine: Engine
) -> None:
    add_user(session, workspace, AGENT, "agent")
    _inbox(client, workspace, 3)
    console_login(client, AGENT)
    assert client.get("/inbox?view=all").status_code == 200  # warm
    budget = {
        # session+user+membership, teams, the page of conversations, the people they
        # are with (to name them), members, agent state, the workspace switcher
        "/inbox?view=all&status=open": 7,
        "/inbox/counts": 4,
        # the conversation page asks the consent policy twice, one query each: for the
        # channels a reply can take, and for the sidebar's consent table (the workspace
        # is read again by each)
        "/inbox/1": 20,
    }
    seen = {}
    for path in budget:
        with count_queries(engine) as queries:
            assert client.get(path).status_code == 200
        seen[path] = len(queries)
    _inbox(client, workspace, 12)  # five times the conversations: the same work
    for path, most in budget.items():
        with count_queries(engine) as queries:
            assert client.get(path).status_code == 200
        assert len(queries) == seen[path], (path, queries)
        assert len(queries) <= most, (path, len(queries), queries)


def test_a_reply_runs_a_fixed_number_of_queries(
    client: TestClient, workspace: ProvisionedWorkspace, engine: Engine
) -> None:
    [conversation] = _inbox(client, workspace, 1)
    auth = bearer(workspace.api_token)
    counts = []
    for k in range(3):
        with count_queries(engine) as queries:
            r = client.post(
                f"/api/v1/conversations/{conversation}/replies",
                headers=auth,
                json={"body": f"Answer {k}", "channel": "chat"},
            )
        assert r.status_code == 201, r.text
        counts.append(len(queries))
    assert counts[1] == counts[2]
    assert counts[2] <= 12, counts
