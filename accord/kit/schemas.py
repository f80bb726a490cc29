from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")

# The largest OFFSET both databases take (a 64-bit signed integer): a query parameter
# beyond it is refused with 422 rather than reaching the driver.
MAX_OFFSET = 2**63 - 1


class DataList(BaseModel, Generic[T]):
    """A list response: ``{"data": [...]}`` leaves room for paging fields."""

    data: list[T]


class Problem(BaseModel):
    """An error body (``application/problem+json``, RFC 9457)."""

    type: str
    title: str
    status: int
    code: str
    detail: str
    field: str | None = None
    errors: list[dict[str, str]] | None = None
