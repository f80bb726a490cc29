"""Requests that hold no valid message are refused with 400 naming the field, never a 5xx
(the SDKs retry a 5xx for ever)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.ids import new_ids
from tests.govern.test_access_api import assert_problem


def test_no_ids_for_no_rows() -> None:
    assert new_ids(0) == []
    assert new_ids(-1) == []
    assert len(new_ids(3)) == 3


def test_requests_without_a_valid_message_are_400(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    auth = (workspace.write_key, "")
    lone = client.post("/v1/track", json={"event": "e"}, auth=auth)
    assert lone.status_code == 400, lone.text
    assert lone.json()["field"] in ("userId", "anonymousId")
    assert_problem(client.post("/v1/batch", json={"batch": []}, auth=auth), 400, "empty_batch")
    bad = client.post("/v1/batch", json={"batch": [{"type": "track", "event": "e"}]}, auth=auth)
    assert bad.status_code == 400, bad.text
    assert bad.json()["accepted"] == 0
    assert bad.json()["field"].startswith("batch[0]")
