"""Messages the store cannot hold are refused when they are accepted, with the field at
fault, and the rest of their batch is kept: a money figure beyond Numeric(14, 2), an
order id or store over 120 characters, an email over 255 or a name over 200, NUL
characters and lone surrogates in any string (key or value), nesting deeper than the
limit, times that overflow. None of them reaches the resolver, and none answers 5xx."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from accord.collect.models import Event
from accord.collect.orders import money, quantity
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit import textcheck

ORDER = {"userId": "p1", "type": "track", "event": "Order Completed"}


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_text(depth: int) -> str:
    """A message whose properties nest ``depth`` levels, as JSON text (the standard
    library cannot encode or parse such depths)."""
    return (
        '{"type":"track","userId":"p1","event":"Deep","properties":'
        + '{"a":' * depth
        + "{}"
        + "}" * depth
        + "}"
    )


# (message as JSON text, the field named in the error)
POISON = {
    "total_1e20": (
        {**ORDER, "properties": {"order_id": "o1", "total": 1e20}},
        "properties.total",
    ),
    "quantity_1e300": (
        {
            **ORDER,
            "properties": {"order_id": "o2", "products": [{"price": 5, "quantity": 1e300}]},
        },
        "properties.products[0].quantity",
    ),
    "order_id_121": ({**ORDER, "properties": {"order_id": "o" * 121}}, "properties.order_id"),
    "store_121": (
        {**ORDER, "properties": {"order_id": "o3", "store": "s" * 121}},
        "properties.store",
    ),
    "email_nul": (
        {"type": "identify", "userId": "p1", "traits": {"email": "a\x00@x.com"}},
        "traits.email",
    ),
    "first_name_nul": (
        {"type": "identify", "userId": "p1", "traits": {"firstName": "A\x00"}},
        "traits.firstName",
    ),
    "social_nul": (
        {"type": "identify", "userId": "p1", "traits": {"twitter": "h\x00"}},
        "traits.twitter",
    ),
    "previous_id_nul": ({"type": "alias", "userId": "p1", "previousId": "a\x00"}, "previousId"),
    "user_id_nul": ({"type": "track", "userId": "p\x00", "event": "e"}, "userId"),
    "event_nul": ({"type": "track", "userId": "p1", "event": "e\x00"}, "event"),
    "message_id_nul": (
        {"type": "track", "userId": "p1", "event": "e", "messageId": "m\x00"},
        "messageId",
    ),
    "key_nul": (
        {"type": "track", "userId": "p1", "event": "e", "properties": {"k\x00": 1}},
        "properties.k\\u0000",
    ),
    "email_256": (
        {"type": "identify", "userId": "p1", "traits": {"email": "a" * 250 + "@x.com"}},
        "traits.email",
    ),
    "first_name_5000": (
        {"type": "identify", "userId": "p1", "traits": {"firstName": "A" * 5000}},
        "traits.firstName",
    ),
    "skew_overflow": (
        {
            "type": "track",
            "userId": "p1",
            "event": "e",
            "timestamp": "0001-01-01T00:00:00Z",
            "sentAt": "9999-12-31T23:59:59Z",
        },
        "timestamp",
    ),
    "timestamp_20_digits": (
        {"type": "track", "userId": "p1", "event": "e", "timestamp": 10**19},
        "timestamp",
    ),
    "timestamp_offset_overflow": (
        {"type": "track", "userId": "p1", "event": "e", "timestamp": "0001-01-01T00:00:00+05:00"},
        "timestamp",
    ),
}
RAW_POISON = {
    # Lone surrogates cannot be encoded by json.dumps without escaping: raw text.
    "lone_surrogate": ('{"type":"track","userId":"p1","event":"\\ud800"}', "event"),
    "lone_surrogate_key": (
        '{"type":"track","userId":"p1","event":"e","properties":{"\\udfff":1}}',
        "properties.\\udfff",
    ),
    "depth_1000": (deep_text(1000), "properties"),
    "depth_10000": (deep_text(10_000), "properties"),
}
GOOD = {"type": "track", "userId": "good", "event": "Fine", "messageId": "good-1"}


def _cases() -> list[Any]:
    cases = [pytest.param(json.dumps(m), f, id=k) for k, (m, f) in POISON.items()]
    cases += [pytest.param(text, f, id=k) for k, (text, f) in RAW_POISON.items()]
    return cases


def count_events(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Event)) or 0)


@pytest.mark.parametrize(("text", "field"), _cases())
def test_poison_is_refused_at_accept_and_the_batch_kept(
    client: TestClient, session: Session, workspace: ProvisionedWorkspace, text: str, field: str
) -> None:
    body = '{"batch":[' + text + "," + json.dumps(GOOD) + "]}"
    response = client.post(
        "/v1/batch",
        content=body.encode("utf-8", "surrogatepass"),
        headers={"content-type": "application/json"},
        auth=(workspace.write_key, ""),
    )
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["accepted"] == 1
    assert problem["errors"][0]["field"].startswith(f"batch[0].{field}"), problem
    assert count_events(session) == 1
    pending = session.scalar(select(func.count()).where(Event.status == "pending"))
    assert pending == 0  # resolved inline: nothing stuck


@pytest.mark.parametrize(("text", "field"), _cases()[:4])
def test_poison_alone_is_a_400_naming_the_field(
    client: TestClient, workspace: ProvisionedWorkspace, text: str, field: str
) -> None:
    response = client.post(
        "/v1/track",
        content=text.encode("utf-8", "surrogatepass"),
        headers={"content-type": "application/json"},
        auth=(workspace.write_key, ""),
    )
    assert response.status_code == 400, response.text
    assert response.json()["field"].startswith(field)


def test_raw_utf8_surrogates_are_refused(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    """The standard library reads UTF-8 bytes of a surrogate (ED A0 80) as one."""
    body = b'{"userId":"p1","event":"x\xed\xa0\x80"}'
    response = client.post(
        "/v1/track",
        content=body,
        headers={"content-type": "application/json"},
        auth=(workspace.write_key, ""),
    )
    assert response.status_code == 400, response.text


def test_the_common_case_is_not_scanned() -> None:
    plain = json.dumps({"batch": [GOOD] * 50, "context": {"page": {"url": "/a?b[0]=1"}}})
    assert not textcheck.suspicious(plain.encode())
    assert not textcheck.may_nest_deeper(plain.encode(), textcheck.MAX_DEPTH)
    assert textcheck.suspicious(b'{"a":"\\u0000"}')
    assert textcheck.suspicious(b'{"a":"\\uD83D\\uDE00"}')  # a pair: scanned, and allowed
    assert textcheck.may_nest_deeper(deep_text(100).encode(), textcheck.MAX_DEPTH)


def test_trimming_keeps_what_is_shallow() -> None:
    text = deep_text(200).encode()
    trimmed = json.loads(textcheck.trim_deep(text, 10))
    found = textcheck.find_bad(trimmed)
    assert found is not None
    assert found.field.startswith("properties.a.a")
    assert found.code == "too_deep"
    shallow = b'{"a":[1,{"b":"}"}],"c":"[[["}'
    assert textcheck.trim_deep(shallow, 10) == shallow
    assert textcheck.find_bad(json.loads(shallow)) is None


def test_writers_read_order_figures_safely() -> None:
    assert money(1e20) is not None
    assert money("abc") is None
    assert money(float("nan")) is None
    assert quantity("2") == 2
    assert quantity("2.0") == 2
    assert quantity("abc") == 1
    assert quantity(float("inf")) == 1
    assert quantity(None) == 1


def test_display_columns_keep_what_fits_and_the_golden_record_the_whole(
    client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    """Each name fits on its own; together they are longer than the display column."""
    first, last = "F" * 150, "L" * 150
    response = client.post(
        "/v1/identify",
        json={"userId": "long-name", "traits": {"firstName": first, "lastName": last}},
        auth=(workspace.write_key, ""),
    )
    assert response.status_code == 200, response.text
    found = client.get(
        "/api/v1/profiles/lookup",
        params={"user_id": "long-name"},
        headers={"Authorization": f"Bearer {workspace.api_token}"},
    )
    assert found.status_code == 200, found.text
    profile = found.json()
    assert profile["display_name"] == f"{first} {last}"[:200]
    assert profile["traits"]["firstName"] == first
    assert profile["traits"]["lastName"] == last


def test_imports_always_walk_their_strings(
    session: Session, workspace: ProvisionedWorkspace, tmp_path: Any
) -> None:
    """An import has no raw body to look at: every row is walked. A NUL in a cell, a
    name too long for the person's columns, or a JSON line nested thousands deep is a
    row error; the good rows load."""
    from functools import partial

    from accord.collect import imports
    from accord.resolve import service as resolve

    def run(kind: str, rows: Any) -> imports.Report:
        report = imports.run_import(
            session,
            workspace_id=workspace.workspace.id,
            kind=kind,
            rows=rows,
            mapping=imports.Mapping.parse([]),
            source="import:test",
            held=partial(resolve.held_identifiers, session),
        )
        while resolve.resolve_pending(session, workspace.workspace.id):
            pass
        session.commit()
        return report

    csv_rows = [
        (2, {"email": "ok@example.com", "First Name": "Ann"}),
        (3, {"email": "nul@example.com", "First Name": "A\x00nn"}),
        (4, {"email": "long@example.com", "First Name": "A" * 201}),
    ]
    report = run("contacts", csv_rows)
    assert report.loaded == 1
    assert [(e.line, e.field) for e in report.errors] == [
        (3, "traits.firstName"),
        (4, "traits.firstName"),
    ]
    jsonl = tmp_path / "events.jsonl"
    deep = '{"a":' * 5000 + "1" + "}" * 5000
    jsonl.write_text(
        '{"user_id": "j1", "event": "Viewed"}\n'
        + '{"user_id": "j2", "event": "Viewed", "extra": '
        + deep
        + "}\n"
        + '{"user_id": "j3", "event": "Viewed\\u0000"}\n'
    )
    report = run("events", imports.read_rows(jsonl))
    assert report.loaded == 1
    assert [e.line for e in report.errors] == [2, 3]
    pending = session.scalar(select(func.count()).where(Event.status == "pending"))
    assert pending == 0
