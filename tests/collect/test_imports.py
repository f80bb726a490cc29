from __future__ import annotations

import csv
import io
import json
from functools import partial
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from accord.cli.main import app as cli
from accord.collect import imports
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.profile.models import Profile
from accord.resolve import service as resolve
from accord.resolve import settings as identity
from tests.helpers import bearer

# One store visit of Ada's, as a line of an events file.
STORE_VISIT = {
    "email": "ada@example.com",
    "event": "Store Visit",
    "store": "Portland",
    "timestamp": "2026-05-01T09:00:00Z",
}
CONTACTS = """email,First Name,Last Name,phone,zip,loyalty,pos_id,tier
ada@example.com,Ada,Lovelace,(415) 555-0101,94110,LC-1,P-1,gold
,Grace,Hopper,,10001,,,silver
bob@example.com,Bob,Builder,415.555.0102,94110,,P-2,bronze,EXTRA
carol@example.com,Carol,Danvers,,60601,,,
"""

ORDERS = """order_id,email,sku,product_name,price,quantity,placed_at,store,type
S-1,ada@example.com,TENT-2P,Tent,249.00,1,2026-04-01T10:00:00Z,Portland,
S-1,ada@example.com,SOCK-3,Socks,29.00,2,2026-04-01T10:00:00Z,Portland,
S-2,carol@example.com,BOOT-HK,Boots,159.00,1,2026-04-03T12:00:00Z,Austin,
S-2,carol@example.com,,,,,2026-04-10T12:00:00Z,Austin,refund
"""


def load(
    session: Session, ws: ProvisionedWorkspace, kind: str, text: str, maps: list[str] | None = None
) -> imports.Report:
    rows = _rows(text)
    report = imports.run_import(
        session,
        workspace_id=ws.workspace.id,
        kind=kind,
        rows=rows,
        mapping=imports.Mapping.parse(maps or []),
        source=f"import:{kind}:test.csv",
        held=partial(resolve.held_identifiers, session),
        declare=partial(identity.declare_types, session, Principal.cli(ws.workspace.id)),
    )
    while resolve.resolve_pending(session, ws.workspace.id):
        pass
    session.commit()
    return report


def _rows(text: str) -> list[tuple[int, dict[str, str] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    out: list[tuple[int, dict[str, str] | str]] = []
    for row in reader:
        if None in row:
            out.append((reader.line_num, "more values than the header has columns"))
        else:
            out.append((reader.line_num, row))
    return out


def profiles(session: Session) -> int:
    return int(
        session.scalar(
            select(func.count()).select_from(Profile).where(Profile.merged_into_id.is_(None))
        )
        or 0
    )


def lookup(client: TestClient, ws: ProvisionedWorkspace, **params: str) -> dict:  # type: ignore[type-arg]
    response = client.get("/api/v1/profiles/lookup", params=params, headers=bearer(ws.api_token))
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_contacts_report_bad_rows_and_keep_good_ones(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    maps = ["loyalty=identifier:loyalty_card", "pos_id=identifier:pos_customer"]
    report = load(session, workspace, "contacts", CONTACTS, maps)
    assert report.rows == 4
    assert report.loaded == 2
    assert [(e.line, e.field) for e in report.errors] == [(3, "identifier"), (4, "row")]
    assert report.declared_types == ["pos_customer"]
    ws = session.get(Workspace, workspace.workspace.id)
    assert ws is not None
    assert ws.settings["identity"]["types"]["pos_customer"]["unique"] is False
    ada = lookup(client, workspace, email="ada@example.com")
    assert ada["traits"]["firstName"] == "Ada"
    assert ada["traits"]["address.postalCode"] == "94110"
    assert ada["traits"]["tier"] == "gold"
    assert {"loyalty_card:LC-1", "pos_customer:P-1", "phone:+14155550101"} <= {
        f"{i['type']}:{i['value']}" for i in ada["identifiers"]
    }
    assert lookup(client, workspace, identifier="pos_customer:P-1")["id"] == ada["id"]
    # Importing the same file again adds nothing.
    again = load(session, workspace, "contacts", CONTACTS, maps)
    assert again.loaded == 0
    assert again.duplicates == 2
    assert profiles(session) == 2


MAILING_LIST = (
    "email,first_name,last_name,mailing_address_street_number,mailing_address_street_name,"
    "mailing_address_unit_number,mailing_address_city,mailing_address_zipcode\n"
    "erin@example.com,Erin,Alonso,1501,interlake ave n,apt 2,Anytown,98103\n"
)


def test_an_address_in_parts_under_its_own_name_lands_in_the_address_traits(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    from accord.match import features

    report = load(session, workspace, "contacts", MAILING_LIST)
    assert report.loaded == 1
    traits = lookup(client, workspace, email="erin@example.com")["traits"]
    assert traits["address.street"] == "interlake ave n"
    assert traits["address.number"] == "1501"
    assert traits["address.unit"] == "apt 2"
    assert traits["address.city"] == "Anytown"
    assert traits["address.postalCode"] == "98103"
    # Matching compares the street with its house number.
    row = features.from_traits("p", {k: {"value": v} for k, v in traits.items()}, None, None)
    assert row["street"] == "1501 interlake ave n"
    assert row["postcode"] == "98103"


def test_orders_with_line_items_and_refunds(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    load(session, workspace, "contacts", CONTACTS, [])
    report = load(session, workspace, "orders", ORDERS)
    assert report.errors == []
    ada = lookup(client, workspace, email="ada@example.com")
    orders = client.get(f"/api/v1/profiles/{ada['id']}/orders", headers=bearer(workspace.api_token))
    (order,) = orders.json()["data"]
    assert order["order_id"] == "S-1"
    assert [i["sku"] for i in order["items"]] == ["TENT-2P", "SOCK-3"]
    assert order["total"] == "307.00"
    assert order["channel"] == "store"
    assert ada["computed"]["channels"] == ["import", "store"]
    carol = lookup(client, workspace, email="carol@example.com")
    assert carol["computed"]["order_count"] == 1
    assert carol["revenue"] == "0.00"  # returned in full
    (returned,) = client.get(
        f"/api/v1/profiles/{carol['id']}/orders", headers=bearer(workspace.api_token)
    ).json()["data"]
    assert returned["status"] == "refunded"


def test_overlay_only_enriches_people_it_finds(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    load(session, workspace, "contacts", CONTACTS, [])
    before = profiles(session)
    overlay = (
        "email,phone,income_band,household_size\n"
        "ada@example.com,(212) 555-0199,high,2\n"
        "stranger@example.com,,low,4\n"
    )
    report = load(session, workspace, "overlay", overlay)
    assert report.loaded == 1
    assert report.unmatched == 1
    assert profiles(session) == before
    ada = lookup(client, workspace, email="ada@example.com")
    assert ada["traits"]["income_band"] == "high"
    # The third party's phone is not taken as an identifier of this person.
    assert "phone:+12125550199" not in {f"{i['type']}:{i['value']}" for i in ada["identifiers"]}
    assert (
        client.get(
            "/api/v1/profiles/lookup",
            params={"email": "stranger@example.com"},
            headers=bearer(workspace.api_token),
        ).status_code
        == 404
    )


def test_export_over_the_api(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace
) -> None:
    load(session, workspace, "contacts", CONTACTS, [])
    jsonl = client.get("/api/v1/profiles/export", headers=bearer(workspace.api_token))
    assert jsonl.status_code == 200
    assert jsonl.headers["content-type"].startswith("application/x-ndjson")
    records = [json.loads(line) for line in jsonl.text.splitlines()]
    assert len(records) == 2
    ada = next(r for r in records if r["traits"].get("email") == "ada@example.com")
    assert {"type": "email", "value": "ada@example.com"} in ada["identifiers"]
    assert ada["computed"]["order_count"] == 0
    as_csv = client.get(
        "/api/v1/profiles/export", params={"format": "csv"}, headers=bearer(workspace.api_token)
    )
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    assert {r["email"] for r in rows} == {"ada@example.com", "carol@example.com"}
    bad = client.get(
        "/api/v1/profiles/export", params={"format": "xml"}, headers=bearer(workspace.api_token)
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "format"


def test_cli_import_and_export(
    fresh_db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ACCORD_DATABASE_URL", fresh_db_url)
    monkeypatch.setenv("ACCORD_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    ws = json.loads(runner.invoke(cli, ["workspace", "create", "Importers", "--json"]).output)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(CONTACTS)
    mapping = tmp_path / "mapping.json"
    mapping.write_text(json.dumps({"loyalty": "identifier:loyalty_card", "pos_id": "skip"}))
    report_path = tmp_path / "report.json"
    result = runner.invoke(
        cli,
        [
            "import",
            "contacts",
            str(contacts),
            "--workspace",
            "importers",
            "--mapping-file",
            str(mapping),
            "--report",
            str(report_path),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "4 rows: 2 loaded, 0 already imported, 2 rejected" in result.output
    assert "line 3: identifier" in result.output
    assert json.loads(report_path.read_text())["errors"][1]["line"] == 4
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(STORE_VISIT) + "\n{broken\n")
    result = runner.invoke(
        cli, ["import", "events", str(events), "-w", ws["workspace_id"], "--channel", "store"]
    )
    assert result.exit_code == 0, result.output
    assert "2 rows: 1 loaded" in result.output
    out = tmp_path / "profiles.jsonl"
    result = runner.invoke(cli, ["export", "profiles", "-w", "importers", "-o", str(out)])
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in out.read_text().splitlines()]
    ada = next(r for r in records if r["traits"].get("email") == "ada@example.com")
    assert ada["computed"]["channels"] == ["import", "store"]
    assert {"type": "loyalty_card", "value": "LC-1"} in ada["identifiers"]
