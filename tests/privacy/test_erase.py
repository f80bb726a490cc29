"""Erasing a person leaves nothing of them: every table of the schema (walked from the
models, so a table added later is covered) and every file under the data directory are
searched for their identifiers, names and words, and only the suppression list's hashes
and the request's receipt (which holds no clear identifier either) are left. A tracking
call with an erased identifier creates nobody."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.govern.consent import suppression
from accord.govern.consent.models import Suppression
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.models import Base
from accord.outreach.models import Campaign, Send
from accord.privacy.erase import forget_in_redis
from accord.privacy.erase_repository import references
from accord.profile.models import Order, Profile
from accord.resolve.models import Identifier
from tests.helpers import Committed, bearer
from tests.privacy.people import Person, build, new_person, send, track_person


def as_text(value: Any) -> str:
    if isinstance(value, dict | list):
        return json.dumps(value, default=str, ensure_ascii=False)
    return "" if value is None else str(value)


def found_in_tables(session: Session, needles: list[str]) -> list[str]:
    """``table.column: needle`` for every stored value holding one of the needles."""
    lowered = [n.lower() for n in needles]
    hits = []
    for table in Base.metadata.sorted_tables:
        for row in session.execute(select(table)).mappings():
            for column, value in row.items():
                content = as_text(value).lower()
                hits.extend(f"{table.name}.{column}: {n}" for n in lowered if n and n in content)
    return hits


def found_in_files(data_dir: Path, needles: list[str]) -> list[str]:
    hits = []
    forms = {n.encode() for n in needles} | {n.lower().encode() for n in needles}
    for path in sorted(data_dir.rglob("*")):
        if path.is_file():
            content = path.read_bytes()
            hits.extend(f"{path.name}: {f.decode()}" for f in forms if f in content)
    return hits


def erased_rows(session: Session, p: Person) -> dict[str, set[Any]]:
    """The ids of the person's profiles (theirs and those merged into it) and of the
    identifiers they hold, by table."""
    people = {p.profile_id} | set(
        session.scalars(select(Profile.id).where(Profile.merged_into_id == p.profile_id))
    )
    held = set(session.scalars(select(Identifier.id).where(Identifier.profile_id.in_(people))))
    return {"profiles": people, "identifiers": held}


def named_by(session: Session, rows: dict[str, set[Any]]) -> dict[str, int]:
    """``table.column``: how many rows name one of ``rows``, for every column that names
    a person's rows (``references``), keyed or not."""
    out: dict[str, int] = {}
    for table, column, target in references():
        ids = rows.get(target)
        if ids and table.name != target:
            count = select(func.count()).select_from(table).where(table.c[column].in_(ids))
            out[f"{table.name}.{column}"] = int(session.scalar(count) or 0)
    return out


def erase(api: TestClient, ws: ProvisionedWorkspace, type_name: str, value: str) -> dict[str, Any]:
    auth = bearer(ws.api_token)
    made = api.post(
        "/api/v1/privacy/requests",
        headers=auth,
        json={"kind": "erase", "identifier_type": type_name, "identifier_value": value},
    )
    assert made.status_code == 201, made.text
    done = api.post(f"/api/v1/privacy/requests/{made.json()['id']}/erase", headers=auth)
    assert done.status_code == 200, done.text
    return dict(done.json())


def _message(db: Committed, ws: ProvisionedWorkspace, p: Person) -> None:
    """A campaign's message to the person, its address theirs."""
    assert p.profile_id is not None
    with transaction(db.factory) as session:
        campaign = Campaign(id=uuid.uuid4(), workspace_id=ws.workspace.id, name="Spring")
        session.add(campaign)
        session.flush()
        session.add(
            Send(
                id=uuid.uuid4(),
                workspace_id=ws.workspace.id,
                source_key=f"campaign:{campaign.id}",
                campaign_id=campaign.id,
                profile_id=p.profile_id,
                channel="email",
                purpose="marketing",
                address=p.email,
                queued_at=utcnow(),
            )
        )


def test_an_erased_person_is_nowhere(
    privacy_db: Committed, api: TestClient, ws: ProvisionedWorkspace, data_dir: Path
) -> None:
    p: Person = build(privacy_db.factory, api, ws)
    _message(privacy_db, ws, p)
    with privacy_db.factory() as session:
        # What there is to erase: three profiles, the file, the order, the message.
        assert found_in_tables(session, [p.last]), "the person was not built"
        people = session.scalar(select(func.count()).where(Profile.workspace_id == ws.workspace.id))
        assert people == 4  # theirs (three, two merged in) and the household's other
    assert found_in_files(data_dir, [p.texts[-1]]), "their attachment is not on disk"
    with privacy_db.factory() as session:
        theirs = erased_rows(session, p)
        named = named_by(session, theirs)
        assert named["acquisition_touches.profile_id"] >= 1
        assert named["identity_links.a_id"] >= 1

    done = erase(api, ws, "phone", p.phone_typed)  # by any identifier, as typed

    assert done["status"] == "completed"
    assert done["identifier_value"] is None
    assert done["identifier_hint"].endswith(p.phone[-2:])
    assert done["found"]["profiles"] == 3
    receipt = done["receipt"]
    tables = receipt["tables"]
    assert tables["profiles"] == 3
    assert tables["conversations"] == 1
    assert tables["attachments"] == 1
    assert tables["orders"] == 1
    assert tables["events"] >= 9
    assert tables["chat_visitors"] == 1
    assert tables["consent_records"] == 1
    assert tables["match_candidates"] == 1
    assert tables["audit_events"] == 1
    assert tables["merges"] == 2
    assert tables["match_runs"] == 1
    assert tables["outreach_sends"] == 1  # named without a key, found by its column
    assert receipt["files_removed"] == 1
    assert receipt["identifiers_suppressed"] >= 7
    assert receipt["erased_by"].startswith("token:")
    assert p.phone not in json.dumps(done)
    assert p.email not in json.dumps(done)

    with privacy_db.factory() as session:
        assert found_in_tables(session, p.needles) == []
        # Nothing names them any more, by a foreign key or by a column that names a
        # person's rows without one.
        assert {k: n for k, n in named_by(session, theirs).items() if n} == {}
        salt = suppression.salt_of(session, ws.workspace.id)
        stored = set(
            session.scalars(
                select(Suppression.digest).where(Suppression.workspace_id == ws.workspace.id)
            )
        )
        erased = [
            ("email", p.email),
            ("email", p.email2),
            ("phone", p.phone),
            ("user_id", p.user_id),
            ("anonymous_id", p.anon),
            ("anonymous_id", p.anon2),
            ("anonymous_id", p.anon3),
            ("loyalty_card", p.loyalty),
        ]
        for type_name, value in erased:
            assert suppression.digest(salt, type_name, value) in stored, type_name
    assert found_in_files(data_dir, p.needles) == []

    # They come back through the tracking API: nobody is created for them.
    with privacy_db.factory() as session:
        before = session.scalar(select(func.count()).where(Profile.workspace_id == ws.workspace.id))
    send(api, ws, "identify", {"userId": p.user_id, "traits": {"email": p.email}})
    with privacy_db.factory() as session:
        after = session.scalar(select(func.count()).where(Profile.workspace_id == ws.workspace.id))
        held = session.scalar(
            select(func.count()).where(
                Identifier.workspace_id == ws.workspace.id,
                Identifier.value.in_([p.email, p.user_id]),
            )
        )
    assert (after, held) == (before, 0)
    with privacy_db.factory() as session:
        assert (
            session.scalar(select(func.count()).where(Order.workspace_id == ws.workspace.id)) == 0
        )


def test_events_not_yet_resolved_go_too_and_kept_orders_name_nobody(
    privacy_db: Committed, api: TestClient, ws: ProvisionedWorkspace
) -> None:
    """An event still waiting for the resolver, and one it failed on, carry the email:
    both go. With order totals kept as legally required records, the order stays
    without the person, their identifiers or the items' details."""
    auth = bearer(ws.api_token)
    p = new_person()
    track_person(api, ws, p)
    r = api.put("/api/v1/privacy/settings", headers=auth, json={"keep_order_totals": True})
    assert r.status_code == 200, r.text
    now = utcnow()
    with transaction(privacy_db.factory) as session:
        for status in ("pending", "failed"):
            session.add(
                Event(
                    workspace_id=ws.workspace.id,
                    message_id=f"{status}-{p.tag}",
                    type="identify",
                    channel="web",
                    source="test",
                    identifiers=[["email", p.email]],
                    traits={"email": p.email, "lastName": p.last},
                    timestamp=now,
                    received_at=now,
                    status=status,
                    error="numeric field overflow" if status == "failed" else None,
                )
            )
    done = erase(api, ws, "email", p.email)
    assert done["receipt"]["orders_kept_anonymized"] == 1
    with privacy_db.factory() as session:
        assert found_in_tables(session, p.needles) == []
        order = session.scalars(select(Order).where(Order.order_id == p.order_id)).one()
        assert order.profile_id is None
        assert (str(order.total), order.currency) == ("129.50", "EUR")
        assert order.items == [{"sku": "TENT-2", "price": 129.5, "quantity": 1}]
        kept = session.get(Event, order.event_id)
        assert kept is not None
        assert (kept.identifiers, kept.user_id, kept.status) == ([], None, "erased")
        assert kept.properties == {"order_id": p.order_id, "total": 129.5, "currency": "EUR"}
        statuses = session.scalars(
            select(Event.status).where(Event.workspace_id == ws.workspace.id)
        ).all()
        assert statuses == ["erased"]


def test_an_erase_forgets_the_chat_visitors_counters_in_redis() -> None:
    redis = pytest.importorskip("redis")
    url = "redis://127.0.0.1:6379/0"
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=2)
        client.ping()
    except redis.RedisError:
        pytest.skip("Redis is not reachable at 127.0.0.1:6379")
    visitor, other = uuid.uuid4(), uuid.uuid4()
    mine = f"accord:ratelimit:chat-upload-visitor:{visitor}:123"
    theirs = f"accord:ratelimit:chat-upload-visitor:{other}:123"
    client.set(mine, 3, ex=60)
    client.set(theirs, 3, ex=60)
    forget_in_redis(url, [visitor])()
    assert client.get(mine) is None
    assert client.get(theirs) is not None
    client.delete(theirs)
    client.close()
