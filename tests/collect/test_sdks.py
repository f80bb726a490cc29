"""The official Segment and RudderStack Python libraries, pointed at Accord, unchanged."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from accord.app import create_app
from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import Committed, bearer, live_server


@pytest.fixture
def served(committed: Committed) -> Iterator[tuple[str, ProvisionedWorkspace]]:
    ws = committed.workspace("SDK Co")
    settings = committed.settings(resolve_worker=False, resolve_inline=True)
    with live_server(create_app(settings)) as base:
        yield base, ws


def lookup(base: str, ws: ProvisionedWorkspace, **params: str) -> dict[str, Any]:
    response = httpx.get(
        f"{base}/api/v1/profiles/lookup", params=params, headers=bearer(ws.api_token)
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def timeline(base: str, ws: ProvisionedWorkspace, profile_id: str) -> list[dict[str, Any]]:
    response = httpx.get(
        f"{base}/api/v1/profiles/{profile_id}/timeline", headers=bearer(ws.api_token)
    )
    return response.json()["data"]  # type: ignore[no-any-return]


def exercise(client: Any, base: str, ws: ProvisionedWorkspace, errors: list[Any], tag: str) -> None:
    client.page(
        anonymous_id=f"{tag}-anon",
        category="Shop",
        name="Checkout",
        properties={"url": "https://shop.example/checkout"},
    )
    client.identify(
        f"{tag}-user",
        {"email": f"{tag}@example.com", "firstName": "Sam"},
        anonymous_id=f"{tag}-anon",
    )
    client.track(
        f"{tag}-user",
        "Order Completed",
        {"order_id": f"{tag}-o1", "total": 42.5, "products": [{"sku": "S1", "price": 42.5}]},
    )
    client.screen(f"{tag}-user", "Home", "Main")
    client.group(f"{tag}-user", "acme-group", {"name": "Acme"})
    client.alias(f"{tag}-anon-2", f"{tag}-user")
    client.flush()
    assert errors == []
    profile = lookup(base, ws, email=f"{tag}@example.com")
    assert profile["traits"]["firstName"] == "Sam"
    assert {f"user_id:{tag}-user", f"anonymous_id:{tag}-anon"} <= {
        f"{i['type']}:{i['value']}" for i in profile["identifiers"]
    }
    assert profile["computed"]["order_count"] == 1
    assert profile["revenue"] == "42.50"
    kinds = sorted(item["type"] for item in timeline(base, ws, profile["id"]))
    assert kinds == ["alias", "group", "identify", "page", "screen", "track"]
    library = timeline(base, ws, profile["id"])[0]["context"]["library"]["name"]
    assert library


def test_segment_analytics_python(served: tuple[str, ProvisionedWorkspace]) -> None:
    base, ws = served
    errors: list[Any] = []
    client = SegmentClient(
        ws.write_key,
        host=base,
        sync_mode=True,
        on_error=lambda e, batch: errors.append(e),
        max_retries=1,
    )
    exercise(client, base, ws, errors, "seg")


def test_rudder_sdk_python(served: tuple[str, ProvisionedWorkspace]) -> None:
    base, ws = served
    errors: list[Any] = []
    client = RudderClient(
        ws.write_key,
        host=base,
        sync_mode=True,
        gzip=True,
        on_error=lambda e, batch: errors.append(e),
        max_retries=1,
    )
    exercise(client, base, ws, errors, "rud")
