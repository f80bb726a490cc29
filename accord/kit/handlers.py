"""Exception handlers: one error, two renderings. API callers get
``application/problem+json``; a browser on a console page gets the same error as HTML.
Unknown errors are logged with an id and never leak internals. ``install`` also puts the
API's input guard in front (``kit/guard.py``): text no column can hold is a 422."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from accord.kit.errors import AccordError, FieldError
from accord.kit.guard import ApiTextGuard
from accord.kit.ids import new_id

log = logging.getLogger("accord.errors")

PROBLEM_JSON = "application/problem+json"
API_PREFIXES = ("/api/", "/v1/", "/health", "/openapi.json")

HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "too_many_requests",
}


def wants_html(request: Request) -> bool:
    if request.url.path.startswith(API_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def render(request: Request, error: AccordError) -> Response:
    if wants_html(request):
        templates = getattr(request.app.state, "templates", None)
        if templates is not None:
            response: Response = templates.TemplateResponse(
                request,
                "error.html",
                {"error": error},
                status_code=error.status,
                headers=error.headers,
            )
            return response
        return HTMLResponse(f"<h1>{error.title}</h1>", status_code=error.status)
    return JSONResponse(
        error.problem(instance=request.url.path),
        status_code=error.status,
        media_type=PROBLEM_JSON,
        headers=error.headers,
    )


def _loc_to_field(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] in {"body", "query", "path", "header", "cookie", "form"}:
        parts = parts[1:] or parts
    return ".".join(parts)


def from_validation(exc: RequestValidationError) -> AccordError:
    errors: list[FieldError] = []
    for err in exc.errors():
        kind = str(err.get("type", "invalid"))
        if kind == "json_invalid":
            return AccordError(
                "The request body is not valid JSON", code="invalid_json", status=400, field="body"
            )
        field_name = _loc_to_field(err.get("loc", ()))
        message = str(err.get("msg", "Invalid value"))
        if kind == "missing":
            message = "This field is required"
        errors.append(FieldError(field=field_name, code=kind, message=message))
    first = errors[0] if errors else FieldError("body", "invalid", "Invalid input")
    return AccordError(
        f"{first.field}: {first.message}" if first.field else first.message,
        code="validation_error",
        status=422,
        field=first.field,
        errors=errors,
    )


def install(app: FastAPI) -> None:
    app.add_middleware(ApiTextGuard, render=render)

    @app.exception_handler(AccordError)
    async def accord_error(request: Request, exc: AccordError) -> Response:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        return render(request, from_validation(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"No page or endpoint at {request.url.path}"
        error = AccordError(
            detail, code=code, status=exc.status_code, headers=dict(exc.headers or {})
        )
        return render(request, error)

    @app.exception_handler(Exception)
    async def unexpected_error(request: Request, exc: Exception) -> Response:
        error_id = str(new_id())
        log.exception("unhandled error %s on %s %s", error_id, request.method, request.url.path)
        error = AccordError(
            f"An unexpected error occurred (error id {error_id})",
            code="internal_error",
            status=500,
        )
        return render(request, error)
