"""A person's export: one zip with person.json in the documented shape (validated against
export_schema.json, which is in the zip too), every section filled from what they did,
their attachment as a file, and the export itself in their access log."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.privacy.export import SCHEMA_PATH
from tests.helpers import Committed, bearer
from tests.privacy.people import build

REQUESTS = "/api/v1/privacy/requests"


def download(api: TestClient, ws: ProvisionedWorkspace, request_id: str) -> zipfile.ZipFile:
    r = api.get(f"{REQUESTS}/{request_id}/export", headers=bearer(ws.api_token))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/zip"
    assert f"person-{request_id}.zip" in r.headers["content-disposition"]
    return zipfile.ZipFile(io.BytesIO(r.content))


def test_the_export_holds_everything_about_them(
    privacy_db: Committed, api: TestClient, ws: ProvisionedWorkspace, data_dir: Path
) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    p = build(privacy_db.factory, api, ws)
    auth = bearer(ws.api_token)
    made = api.post(
        REQUESTS,
        headers=auth,
        json={"kind": "access", "identifier_type": "email", "identifier_value": p.email2},
    ).json()

    zf = download(api, ws, made["id"])
    names = zf.namelist()
    assert {"README.txt", "export_schema.json", "person.json"} <= set(names)
    schema = json.loads(zf.read("export_schema.json"))
    assert schema == json.loads(SCHEMA_PATH.read_text())
    person: dict[str, Any] = json.loads(zf.read("person.json"))
    jsonschema_rs.validator_for(schema).validate(person)

    assert person["request"]["identifier"] == {"type": "email", "value": p.email2}
    assert person["person"]["id"] == str(p.profile_id)
    assert len(person["profiles"]) == 3
    live = person["profiles"][0]
    assert live["traits"]["lastName"]["value"] == p.last
    assert live["traits"]["lastName"]["source"]  # where each value came from
    assert {(i["type"], i["value"]) for i in person["identifiers"]} >= {
        ("email", p.email),
        ("email", p.email2),
        ("phone", p.phone),
        ("user_id", p.user_id),
        ("anonymous_id", p.anon),
        ("anonymous_id", p.anon2),
        ("anonymous_id", p.anon3),
        ("loyalty_card", p.loyalty),
    }
    assert len(person["events"]) >= 9
    assert [e["id"] for e in person["events"]] == sorted(e["id"] for e in person["events"])
    [order] = person["orders"]
    assert (order["order_id"], order["total"], order["currency"]) == (p.order_id, "129.50", "EUR")
    assert order["items"][0]["name"] == f"Tent engraved for {p.last}"
    [conversation] = person["conversations"]
    bodies = " ".join(m["body"] for m in conversation["messages"])
    for text in p.texts[:3]:
        assert text in bodies
    directions = {m["direction"] for m in conversation["messages"]}
    assert {"in", "note", "out"} <= directions  # their words, the agent's note, the transcript
    [attached] = [a for m in conversation["messages"] for a in m["attachments"]]
    assert attached["file"] in names
    assert zf.read(attached["file"]) == p.attachment
    [visitor] = person["chat_visitors"]
    assert visitor["anonymous_id"] == p.anon
    assert visitor["conversation_id"] == conversation["id"]
    assert [r["purpose"] for r in person["consent"]["records"]] == ["marketing"]
    assert person["consent"]["records"][0]["evidence"] == {"form": f"signup of {p.email}"}
    assert [(s["channel"], s["status"]) for s in person["consent"]["states"]] == [
        ("email", "granted")
    ]
    assert len(person["identity"]["merges"]) == 2
    assert [c["kind"] for c in person["identity"]["match_candidates"]] == ["household"]
    assert {e["action"] for e in person["access_log"]} >= {"view", "export"}

    got = api.get(f"{REQUESTS}/{made['id']}", headers=auth).json()
    assert got["status"] == "completed"
    receipt = got["receipt"]
    assert receipt["counts"]["events"] == len(person["events"])
    assert receipt["counts"]["messages"] == len(conversation["messages"])
    assert (receipt["files"], receipt["missing_files"], receipt["downloads"]) == (1, 0, 1)
    assert receipt["exported_by"].startswith("token:")

    download(api, ws, made["id"])  # another copy: counted, still completed
    again = api.get(f"{REQUESTS}/{made['id']}", headers=auth).json()
    assert (again["status"], again["receipt"]["downloads"]) == ("completed", 2)
    log = api.get(
        "/api/v1/privacy/access-log", params={"profile_id": str(p.profile_id)}, headers=auth
    ).json()["data"]
    assert [e["action"] for e in log if e["action"] == "export"] == ["export"]  # within minutes


def test_an_export_of_nobody_is_an_empty_but_valid_archive(
    api: TestClient, ws: ProvisionedWorkspace
) -> None:
    jsonschema_rs = pytest.importorskip("jsonschema_rs")
    made = api.post(
        REQUESTS,
        headers=bearer(ws.api_token),
        json={"kind": "export", "identifier_type": "email", "identifier_value": "ghost@x.test"},
    ).json()
    zf = download(api, ws, made["id"])
    person = json.loads(zf.read("person.json"))
    jsonschema_rs.validator_for(json.loads(zf.read("export_schema.json"))).validate(person)
    assert person["person"] == {"id": None, "profile_ids": []}
    assert person["events"] == []
    assert person["profiles"] == []
