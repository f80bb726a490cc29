"""Pins the error body shape and checks unknown errors never leak internals."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.testclient import TestClient

from accord.kit.errors import AccordError


def _boom() -> None:
    raise RuntimeError("password=hunter2 at /srv/secret/path.py")


def test_problem_shape_is_stable(client: TestClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) == {"type", "title", "status", "code", "detail", "field", "instance"}
    assert body["type"] == "urn:accord:problem:not_found"
    assert body["instance"] == "/api/v1/nothing-here"


def test_method_not_allowed_is_a_problem(client: TestClient) -> None:
    response = client.put("/health")
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_console_gets_the_same_error_as_html(client: TestClient) -> None:
    response = client.get("/no-such-page", headers={"accept": "text/html"})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert 'data-code="not_found"' in response.text
    assert "No page or endpoint at /no-such-page" in response.text


def test_unexpected_errors_do_not_leak(app: FastAPI) -> None:
    app.add_api_route("/api/v1/boom", _boom)
    app.add_api_route("/boom", _boom)
    with TestClient(app, raise_server_exceptions=False) as client:
        api = client.get("/api/v1/boom")
        page = client.get("/boom", headers={"accept": "text/html"})
    assert api.status_code == 500
    assert api.json()["code"] == "internal_error"
    assert "error id" in api.json()["detail"]
    assert page.status_code == 500
    for text in (api.text, page.text):
        assert "hunter2" not in text
        assert "secret" not in text
        assert "RuntimeError" not in text


def test_accord_error_problem_lists_field_errors() -> None:
    from accord.kit.errors import FieldError

    error = AccordError(
        "email: bad",
        code="validation_error",
        status=422,
        field="email",
        errors=[FieldError("email", "value_error", "bad")],
    )
    body = error.problem()
    assert body["errors"] == [{"field": "email", "code": "value_error", "message": "bad"}]
    assert body["title"] == "Invalid input"
