"""Order events (Segment's e-commerce names) and their figures: which events are orders,
refunds or cancellations, how money and quantities are read, and what an order may carry
so that its row can be stored (the order id and store in 120 characters, money in
Numeric(14, 2)). Accepting refuses the rest, with the field at fault; the profile reads
the figures with the same functions when it records the order."""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from typing import Any

ORDER_PLACED = frozenset(
    {"order completed", "order placed", "checkout completed", "store purchase"}
)
ORDER_REFUNDED = frozenset(
    {"order refunded", "order returned", "product returned", "refund issued"}
)
ORDER_CANCELLED = frozenset({"order cancelled", "order canceled"})

MAX_ORDER_TEXT = 120  # orders.order_id and orders.store
# Numeric(14, 2): twelve digits before the point.
MONEY_LIMIT = Decimal(10) ** 12
MAX_QUANTITY = 1_000_000
MONEY_FIELDS = ("total", "revenue", "amount")
CENT = Decimal("0.01")


class OrderProblem(ValueError):
    """A figure or text of an order that cannot be stored; ``field`` is its path under
    ``properties``."""

    def __init__(self, field: str, message: str, code: str) -> None:
        super().__init__(message)
        self.field = field
        self.code = code


def order_kind(event_type: str, name: str | None) -> str | None:
    """``placed``, ``refunded`` or ``cancelled`` for an order event, None otherwise."""
    if event_type != "track" or not name:
        return None
    lowered = name.strip().lower()
    if lowered in ORDER_PLACED:
        return "placed"
    if lowered in ORDER_REFUNDED:
        return "refunded"
    if lowered in ORDER_CANCELLED:
        return "cancelled"
    return None


def money(value: Any) -> Decimal | None:
    """A money figure to the cent, or None when it is missing or not a finite number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        amount = Decimal(str(value))
        return amount.quantize(CENT) if amount.is_finite() else None
    except (InvalidOperation, ValueError):
        return None


def quantity(value: Any) -> int:
    """A line item's quantity as a whole number; 1 when it is missing or unreadable."""
    if value is None or isinstance(value, bool):
        return 1
    if isinstance(value, int):
        return value or 1
    try:
        number = float(value)
    except (TypeError, ValueError):
        return 1
    if not math.isfinite(number):
        return 1
    return int(number) or 1


def fits(amount: Decimal) -> bool:
    """Whether a money figure fits Numeric(14, 2)."""
    return abs(amount) < MONEY_LIMIT


def _check_money(value: Any, field: str) -> Decimal | None:
    amount = money(value)
    if amount is not None and not fits(amount):
        raise OrderProblem(
            field, f"{field} is too large: at most 999,999,999,999.99", "out_of_range"
        )
    return amount


def _check_text(value: Any, field: str) -> None:
    if value is not None and value != "" and len(str(value)) > MAX_ORDER_TEXT:
        raise OrderProblem(field, f"{field} is longer than {MAX_ORDER_TEXT} characters", "too_long")


def check_order(properties: dict[str, Any]) -> None:
    """Raise ``OrderProblem`` when an order event's properties could not be stored as its
    order: a long order id or store, money beyond Numeric(14, 2), a huge quantity, or
    line items whose total is beyond it."""
    for key in ("order_id", "orderId", "store"):
        _check_text(properties.get(key), key)
    for key in MONEY_FIELDS:
        _check_money(properties.get(key), key)
    products = properties.get("products")
    if not isinstance(products, list):
        return
    total = Decimal(0)
    for i, product in enumerate(products):
        if not isinstance(product, dict):
            continue
        price = _check_money(product.get("price"), f"products[{i}].price") or Decimal(0)
        count = quantity(product.get("quantity"))
        raw = product.get("quantity")
        if abs(count) > MAX_QUANTITY or (
            isinstance(raw, (int, float)) and not isinstance(raw, bool) and abs(raw) > MAX_QUANTITY
        ):
            raise OrderProblem(
                f"products[{i}].quantity",
                f"products[{i}].quantity is more than {MAX_QUANTITY:,}",
                "out_of_range",
            )
        total += price * count
        if not fits(total):
            raise OrderProblem(
                f"products[{i}]",
                "the line items add up to more than 999,999,999,999.99",
                "out_of_range",
            )
