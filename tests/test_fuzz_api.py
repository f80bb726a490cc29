"""A bounded Schemathesis run over ``/api/v1``: every operation of the app's OpenAPI
schema gets a few generated requests, valid ones and ones that break the schema, sent
with an admin API token of a provisioned workspace. None may answer 5xx.

Each operation gets ``EXAMPLES`` cases of each kind (derandomized, so a run repeats),
and one valid case is then probed with what generated data seldom holds: a NUL or a lone
surrogate in each string of its body, a NUL and an integer beyond 64 bits in each query
parameter. About a minute on both databases."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import bearer

EXAMPLES = 8
SKIPPED = {
    # Tested on its own (tests/match/test_run_limits.py): a Spark run starts a JVM.
    ("POST", "/api/v1/resolve/runs"),
}
QUERY_PROBES = ("a\x00", str(2**63))
BODY_PROBES = ("a\x00", "\ud800")


def _request(kwargs: dict[str, Any], token: str) -> dict[str, Any]:
    """A case's request (as Schemathesis serializes it for ``requests``) for the app's
    test client, which already runs inside the app's lifespan; the token goes whatever
    authorization header the case made up, so every case gets past authentication."""
    headers = {
        k: v for k, v in (kwargs.get("headers") or {}).items() if k.lower() != "authorization"
    }
    request: dict[str, Any] = {
        "method": kwargs["method"],
        "url": kwargs["url"],
        "headers": {**headers, **bearer(token)},
        "params": kwargs.get("params") or None,
        "cookies": kwargs.get("cookies") or None,
    }
    if "json" in kwargs:
        # Escaped as the standard library escapes, so lone surrogates travel too.
        request["content"] = json.dumps(kwargs["json"]).encode()
        request["headers"]["content-type"] = "application/json"
    data = kwargs.get("data")
    if isinstance(data, (bytes, str)):
        request["content"] = data
    elif data is not None:
        request["data"] = data
    if kwargs.get("files"):
        request["files"] = kwargs["files"]
    return request


def _probes(request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The request again with one query parameter, or one string of a JSON body, bad."""
    for name in request.get("params") or {}:
        for bad in QUERY_PROBES:
            yield {**request, "params": {**request["params"], name: bad}}
    content = request.get("content")
    if not isinstance(content, bytes) or not content.startswith(b"{"):
        return
    body = json.loads(content)
    for key, value in body.items():
        if isinstance(value, str):
            for bad in BODY_PROBES:
                yield {**request, "content": json.dumps({**body, key: value + bad}).encode()}


def _describe(request: dict[str, Any], response: Any) -> str:
    sent = request.get("content") or request.get("data")
    return (
        f"{request['method']} {request['url']} {request.get('params')} {str(sent)[:300]} -> "
        f"{response.status_code} {response.text[:200]}"
    )


def _fuzz(operation: Any, mode: GenerationMode, on_case: Any) -> None:
    """Run ``on_case`` on ``EXAMPLES`` cases of one operation."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case: Any) -> None:
        on_case(operation, mode, case)

    run()


@pytest.mark.slow
def test_no_api_operation_answers_5xx(
    app: FastAPI, client: TestClient, workspace: ProvisionedWorkspace
) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    server_errors: list[str] = []
    probed: set[str] = set()

    def send(request: dict[str, Any]) -> None:
        response = client.request(**request)
        if response.status_code >= 500:
            server_errors.append(_describe(request, response))

    def on_case(operation: Any, mode: GenerationMode, case: Any) -> None:
        kwargs = case.as_transport_kwargs(base_url="http://testserver")
        request = _request(kwargs, workspace.api_token)
        send(request)
        if mode is GenerationMode.POSITIVE and operation.label not in probed:
            probed.add(operation.label)
            for probe in _probes(request):
                send(probe)

    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if not operation.path.startswith("/api/v1") or (
            (operation.method.upper(), operation.path) in SKIPPED
        ):
            continue
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz(operation, mode, on_case)
    assert operations > 50
    assert not server_errors, "\n".join(server_errors)
