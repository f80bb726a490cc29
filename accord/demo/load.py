"""Loading the retailer's data into the demo workspace, with progress."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from accord.collect import service as collect
from accord.collect.models import Event
from accord.demo import retail
from accord.demo.acquisition import Variety
from accord.demo.service import demo_write_key
from accord.govern.access import service as access
from accord.kit.db import transaction
from accord.kit.time import utcnow
from accord.resolve.worker import resolve_workspace

SOURCE = "write_key:Demo site"


def already_loaded(session: Session, workspace_id: uuid.UUID) -> bool:
    stmt = select(Event.id).where(
        Event.workspace_id == workspace_id, Event.message_id.like("demo-%")
    )
    return session.scalars(stmt.limit(1)).first() is not None


def load_retail(
    factory: sessionmaker[Session],
    workspace_id: uuid.UUID,
    customers: int,
    *,
    on_sent: Callable[[int], None] | None = None,
    on_resolved: Callable[[int], None] | None = None,
) -> int:
    """Send the messages through the tracking service with the demo's write key (so the
    key shows when it was last used, as it would for a real site), then resolve them."""
    sources = Variety()  # where the visitors came from (search, social, campaigns...)

    def send(batch: list[dict[str, Any]]) -> None:
        with transaction(factory) as session:
            key = demo_write_key(session)
            source = access.authenticate_write_key(session, key).label if key else SOURCE
            result = collect.accept(
                session,
                workspace_id=workspace_id,
                source=source,
                region="US",
                messages=sources.apply(batch),
                received_at=utcnow(),
            )
            if result.errors:
                raise RuntimeError(f"demo data rejected: {result.errors[0]}")

    count = retail.load(send, customers, progress=on_sent)
    resolve_workspace(factory, workspace_id, on_batch=on_resolved)
    return count
