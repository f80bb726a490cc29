"""A fuzz of the tracking API (``/v1``): bodies that are not JSON, NUL characters and
lone surrogates (escaped and as raw bytes), nesting thousands deep, numbers beyond any
column, times out of range, and values of the wrong type, alone or among good messages.
No answer is a 5xx, and afterwards the resolver is not stuck: a drain completes, and no
event is left pending that is not failed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from accord.collect.models import Event
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.resolve.worker import drain

NASTY_TEXT = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\ud800", "\udfff x", "\U0001f600", "x" * 300, "é" * 130]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30),
    st.sampled_from([10**19, -(10**19), 1e20, 1e300, -1e300, 0.1, 2**63, 10**25]),
    st.floats(allow_nan=True, allow_infinity=True),
)
TIMES = st.one_of(
    NUMBERS,
    st.sampled_from(
        [
            "0001-01-01T00:00:00Z",
            "0001-01-01T00:00:00+05:00",
            "9999-12-31T23:59:59Z",
            "9999-12-31T23:59:59-05:00",
            "2026-01-01T00:00:00Z",
            "yesterday",
            "",
        ]
    ),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, NASTY_TEXT, st.text(max_size=20))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(st.one_of(NASTY_TEXT, st.text(max_size=8)), inner, max_size=3),
    ),
    max_leaves=12,
)
ORDER_NAMES = st.sampled_from(["Order Completed", "Order Refunded", "Order Cancelled", "Viewed"])


@st.composite
def message(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["identify", "track", "page", "alias", "group", "screen", "bad"]))
    msg: dict[str, Any] = {"type": kind}
    for key in ("userId", "anonymousId", "messageId", "previousId", "groupId", "name"):
        if draw(st.booleans()):
            msg[key] = draw(st.one_of(NASTY_TEXT, SCALARS, st.just(f"{key}-1")))
    if kind == "track" or draw(st.booleans()):
        msg["event"] = draw(st.one_of(ORDER_NAMES, SCALARS))
    if draw(st.booleans()):
        msg["properties"] = {
            "order_id": draw(st.one_of(NASTY_TEXT, SCALARS)),
            "total": draw(NUMBERS),
            "store": draw(st.one_of(NASTY_TEXT, SCALARS)),
            "products": [{"price": draw(NUMBERS), "quantity": draw(st.one_of(NUMBERS, SCALARS))}],
            "extra": draw(VALUES),
        }
    elif draw(st.booleans()):
        msg["properties"] = draw(VALUES)
    if draw(st.booleans()):
        msg["traits"] = {
            "email": draw(st.one_of(NASTY_TEXT, SCALARS, st.just("a" * 250 + "@x.com"))),
            "firstName": draw(st.one_of(NASTY_TEXT, SCALARS, st.just("A" * 5000))),
            "phone": draw(SCALARS),
            "twitter": draw(NASTY_TEXT),
            draw(NASTY_TEXT): draw(VALUES),
        }
    if draw(st.booleans()):
        msg["timestamp"] = draw(TIMES)
    if draw(st.booleans()):
        msg["sentAt"] = draw(TIMES)
    if draw(st.booleans()):
        msg["context"] = draw(st.one_of(VALUES, st.just({"traits": {"email": "\x00@x.com"}})))
    return msg


GOOD = {"type": "track", "userId": "good", "event": "Fine"}


@st.composite
def request_body(draw: Any) -> tuple[str, bytes]:
    """An endpoint and the raw bytes sent to it."""
    messages = draw(st.lists(message(), min_size=1, max_size=4))
    if draw(st.booleans()):
        messages.append(dict(GOOD, messageId=f"good-{draw(st.integers(0, 10**6))}"))
    endpoint = draw(st.sampled_from(["batch", "track", "identify", "alias", "page"]))
    body: Any = {"batch": messages} if endpoint == "batch" else messages[0]
    text = json.dumps(body, allow_nan=True)  # escapes NUL and surrogates: \u0000, \ud800
    mutation = draw(st.sampled_from(["none", "none", "deep", "cut", "raw_surrogate", "not_json"]))
    if mutation == "deep":
        depth = draw(st.sampled_from([65, 300, 1000, 10_000]))
        deep = '{"a":' * depth + "1" + "}" * depth
        text = text.replace('"type"', f'"deep":{deep},"type"', 1)
    elif mutation == "cut":
        text = text[: draw(st.integers(0, max(len(text) - 1, 0)))]
    elif mutation == "not_json":
        text = draw(st.sampled_from(["", "null", "[]", "1e999", '"x"', "{", "NaN", "\x00"]))
    raw = text.encode("utf-8")
    if mutation == "raw_surrogate":
        raw = raw.replace(b'"type"', b'"s\xed\xa0\x80":1,"type"', 1)
    return endpoint, raw


@pytest.mark.slow
def test_no_tracking_input_answers_5xx_or_stops_resolution(
    client: TestClient,
    session: Session,
    session_factory: sessionmaker[Session],
    workspace: ProvisionedWorkspace,
) -> None:
    server_errors: list[str] = []

    @settings(
        max_examples=120,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(request_body())
    def send(case: tuple[str, bytes]) -> None:
        endpoint, raw = case
        response = client.post(
            f"/v1/{endpoint}",
            content=raw,
            headers={"content-type": "application/json"},
            auth=(workspace.write_key, ""),
        )
        if response.status_code >= 500:
            server_errors.append(f"/v1/{endpoint} {raw[:300]!r} -> {response.text[:200]}")

    send()
    assert not server_errors, "\n".join(server_errors)
    drain(session_factory)  # completes: raises on nothing
    stuck = session.scalar(select(func.count()).select_from(Event).where(Event.status == "pending"))
    assert stuck == 0
    stored = session.scalar(select(func.count()).select_from(Event))
    assert stored  # the good messages were kept
