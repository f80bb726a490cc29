"""Live chat for the demo workspace: a proactive trigger on the demo shop's checkout, one
that tells agents about returning visitors with a full cart, and identity verification,
which the demo shop's server side uses to vouch for its signed-in customer."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy.orm import Session

from accord.chat import identity, triggers
from accord.chat.repository import TriggerRepository
from accord.govern.access.principal import Principal
from accord.govern.workspaces.service import get_workspace

DEMO_TRIGGERS: list[dict[str, Any]] = [
    {
        "name": "Checkout help",
        "event": "time_on_page",
        "event_value": "15",
        "match": "all",
        "conditions": [
            {"fact": "path", "op": "glob", "value": "*/checkout*"},
            {"fact": "cart_value", "op": ">=", "value": 100},
        ],
        "action": {
            "kind": "message",
            "author": "Maya from Support",
            "body": "Need a hand with your order? I'm here if you have any question.",
        },
        "max_per_visitor": 1,
        "cap_hours": 24,
        "holdout_percent": 10,
        "convert_days": 7,
    },
    {
        "name": "Returning visitor with a full cart",
        "event": "page_view",
        "match": "all",
        "conditions": [
            {"fact": "returning", "op": "is", "value": True},
            {"fact": "cart_value", "op": ">=", "value": 200},
        ],
        "action": {"kind": "notify", "body": "A returning visitor has a cart over $200"},
        "max_per_visitor": 1,
        "cap_hours": 24,
    },
    {
        "name": "Sizing guide on boots",
        "event": "time_on_page",
        "event_value": "40",
        "conditions": [{"fact": "path", "op": "regex", "value": "/(boots|tents)"}],
        "action": {
            "kind": "article",
            "title": "How to choose the right size",
            "url": "https://example.com/guides/sizing",
        },
    },
]


def ensure_triggers(session: Session, workspace_id: uuid.UUID) -> int:
    """Add the demo triggers once; returns how many were added."""
    if TriggerRepository.from_session(session).all(workspace_id):
        return 0
    for position, data in enumerate(DEMO_TRIGGERS):
        triggers.save(
            session, workspace_id, {**data, "position": position}, actor=Principal.cli(workspace_id)
        )
    return len(DEMO_TRIGGERS)


def ensure_identity(session: Session, workspace_id: uuid.UUID, secret_key: str) -> bool:
    """Turn identity verification on once; returns whether a secret was generated."""
    workspace = get_workspace(session, workspace_id)
    if identity.status(workspace)["enabled"]:
        return False
    identity.rotate(session, workspace_id, secret_key, actor=Principal.cli(workspace_id))
    return True
