"""A support address belongs to one workspace (both databases): a second workspace
cannot claim it, as its address or as an address that delivers to it, so nobody can
divert another workspace's mail; inbound mail finds its workspace among many."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from accord.channels import mailbox
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import add_user, bearer, console_login, provision


def put(client: TestClient, ws: ProvisionedWorkspace, **body: Any) -> Any:
    return client.put("/api/v1/mailbox", headers=bearer(ws.api_token), json=body)


def test_an_address_belongs_to_one_workspace(
    client: TestClient,
    session: Session,
    workspace: ProvisionedWorkspace,
    other_workspace: ProvisionedWorkspace,
) -> None:
    r = put(
        client,
        workspace,
        address="Help@Acme-Support.com",
        inbound_addresses=["sales@acme-support.com"],
    )
    assert r.status_code == 200, r.text
    assert r.json()["address"] == "help@acme-support.com"
    for body, field in [
        ({"address": "help@acme-support.com"}, "address"),
        ({"address": "HELP@acme-support.com"}, "address"),
        (
            {"address": "desk@globex.example", "inbound_addresses": ["sales@acme-support.com"]},
            "inbound_addresses",
        ),
        ({"address": "sales@acme-support.com"}, "address"),
    ]:
        r = put(client, other_workspace, **body)
        assert r.status_code == 409, (body, r.text)
        assert r.json()["code"] == "address_taken"
        assert r.json()["field"] == field
    # Its own address again, and addresses of the same domain nobody has: fine.
    assert put(client, workspace, address="help@acme-support.com").status_code == 200
    assert put(client, other_workspace, address="billing@acme-support.com").status_code == 200
    # The console refuses it too, and says why.
    add_user(session, other_workspace, "admin@globex.example", "admin")
    csrf = console_login(client, "admin@globex.example")
    r = client.post(
        "/settings/inbox/mailbox",
        data={"csrf_token": csrf, "address": "help@acme-support.com"},
        follow_redirects=True,
    )
    assert "already receives mail for another workspace" in r.text


def test_inbound_mail_finds_its_workspace_among_many(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    others = [provision(session, f"Shop {i}") for i in range(12)]
    for i, ws in enumerate(others):
        assert put(client, ws, address=f"help@shop{i}.example").status_code == 200
    assert (
        put(
            client,
            workspace,
            address="help@acme-support.com",
            inbound_addresses=["help_desk@acme-support.com"],
        ).status_code
        == 200
    )
    session.expire_all()
    found = mailbox.workspace_for(
        session, ["nobody@elsewhere.example", "Help+order-1042@acme-support.com"]
    )
    assert found is not None
    assert found.id == workspace.workspace.id
    found = mailbox.workspace_for(session, ["help_desk@acme-support.com"])
    assert found is not None
    assert found.id == workspace.workspace.id
    found = mailbox.workspace_for(session, ["help@shop7.example"])
    assert found is not None
    assert found.id == others[7].workspace.id
    assert mailbox.workspace_for(session, ["help@shop7.example.org"]) is None
    assert mailbox.workspace_for(session, ["helpdesk@acme-support.com"]) is None
