"""How customer data reads on console pages."""

from __future__ import annotations

from typing import Any, Protocol

ANONYMOUS = "Anonymous visitor"


class Person(Protocol):
    display_name: str | None
    email: str | None
    phone: str | None


def person_label(person: Person | None = None, said: str | None = None) -> str:
    """How a person is named on every page: their name; else the email or phone they are
    known by; else what the conversation or the visitor says (a name or an address they
    gave); else "Anonymous visitor"."""
    if person is not None:
        for value in (person.display_name, person.email, person.phone):
            if value:
                return value
    return said or ANONYMOUS


def is_known(person: Person | None) -> bool:
    """Whether the person is known by a name, an email or a phone."""
    return person is not None and bool(person.display_name or person.email or person.phone)


CHANNELS: dict[str, tuple[str, str]] = {
    "web": ("◍", "Web"),
    "app": ("▣", "App"),
    "store": ("⌂", "Store"),
    "call_center": ("☏", "Call center"),
    "email": ("✉", "Email"),
    "sms": ("✆", "Text message"),
    "chat": ("✎", "Chat"),
    "social": ("#", "Social"),
    "api": ("⇄", "API"),
    "import": ("⇩", "Import"),
}


def describe(item: Any) -> str:
    """One line that says what happened, for the timeline."""
    props = item.properties or {}
    if item.type == "page":
        return f"Viewed {item.name or props.get('title') or props.get('path') or 'a page'}"
    if item.type == "screen":
        return f"Opened screen {item.name or ''}".strip()
    if item.type == "identify":
        keys = ", ".join(sorted((item.traits or {}).keys())[:6])
        return f"Identified ({keys})" if keys else "Identified"
    if item.type == "alias":
        return "Linked a previous id"
    if item.type == "group":
        return f"Joined account {item.name}"
    total = props.get("total") or props.get("revenue")
    if total is not None:
        try:
            amount = f"{float(total):,.2f}"
        except (TypeError, ValueError):
            amount = str(total)
        return f"{item.name} · {props.get('currency', 'USD')} {amount}"
    return str(item.name)
