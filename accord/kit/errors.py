"""One exception type for every expected failure. The API renders it as
``application/problem+json`` (RFC 9457) and the console as an HTML page; both carry the
same status, stable machine code, message and the field at fault."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    field: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "code": self.code, "message": self.message}


@dataclass
class AccordError(Exception):
    message: str
    code: str = "bad_request"
    status: int = 400
    field: str | None = None
    errors: list[FieldError] = dataclasses.field(default_factory=list)
    headers: dict[str, str] = dataclasses.field(default_factory=dict)
    # More members of the problem body (the id of what a conflict is with).
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(self.message)

    @property
    def title(self) -> str:
        return TITLES.get(self.status, "Error")

    def problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"urn:accord:problem:{self.code}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.message,
            "field": self.field,
        }
        if self.errors:
            body["errors"] = [e.as_dict() for e in self.errors]
        if instance:
            body["instance"] = instance
        body.update({k: v for k, v in self.extra.items() if k not in body})
        return body


TITLES = {
    400: "Bad request",
    401: "Authentication required",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Payload too large",
    415: "Unsupported media type",
    422: "Invalid input",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


def not_found(what: str, field: str | None = None) -> AccordError:
    return AccordError(f"{what} not found", code="not_found", status=404, field=field)


def unauthorized(message: str = "A valid API token is required") -> AccordError:
    return AccordError(
        message,
        code="unauthorized",
        status=401,
        headers={"WWW-Authenticate": 'Bearer realm="accord"'},
    )


def forbidden(message: str, code: str = "forbidden") -> AccordError:
    return AccordError(message, code=code, status=403)


def conflict(message: str, field: str | None = None, code: str = "conflict") -> AccordError:
    return AccordError(message, code=code, status=409, field=field)


def invalid(message: str, field: str | None = None, code: str = "invalid") -> AccordError:
    return AccordError(message, code=code, status=422, field=field)
