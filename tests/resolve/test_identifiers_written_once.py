"""A batch's new identifiers are inserted once, with the person they were given: no
identifier is written empty and then updated. Should another writer store one of them
meanwhile, the batch notices it when it writes."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from accord.collect.models import Event
from accord.collect.repository import EventRepository
from accord.kit.db import transaction
from accord.resolve import service as resolve
from accord.resolve.batch import BatchCache, IdentifierTaken
from accord.resolve.context import WorkspaceContext
from accord.resolve.models import Identifier
from accord.resolve.repository import IdentifierRepository
from tests.helpers import provision
from tests.resolve.test_failed_events import plant


def _identify(session: Session, workspace_id: uuid.UUID, n: int) -> None:
    """``n`` new people, each seen by a user id and then by a browser with it."""
    for i in range(n):
        plant(session, workspace_id, f"m-{i}", f"u-{i}")


def _writes(statements: list[str], table: str) -> list[str]:
    return [
        s
        for s in statements
        if s.lstrip().upper().startswith(("UPDATE", "INSERT", "WITH")) and f" {table} " in f" {s} "
    ]


def test_new_identifiers_are_inserted_with_their_person_and_never_updated(
    session_factory: sessionmaker[Session],
) -> None:
    with session_factory() as session:
        ws = provision(session, "Shop").workspace.id
    with transaction(session_factory) as session:
        _identify(session, ws, 30)
    statements: list[str] = []

    def note(_conn: Any, _cursor: Any, sql: str, *_rest: Any) -> None:
        statements.append(sql)

    with transaction(session_factory) as session:
        bind = session.get_bind()
        event.listen(bind, "before_cursor_execute", note)
        try:
            assert resolve.resolve_pending(session, ws, limit=100) == 30
        finally:
            event.remove(bind, "before_cursor_execute", note)
    assert not [s for s in statements if s.lstrip().upper().startswith("UPDATE IDENTIFIERS")]
    assert len(_writes(statements, "identifiers")) == 1  # one insert for the batch
    with session_factory() as session:
        owners = dict(
            session.execute(
                select(Identifier.value, Identifier.profile_id).where(Identifier.workspace_id == ws)
            ).all()
        )
        people = dict(
            session.execute(
                select(Event.user_id, Event.profile_id).where(Event.workspace_id == ws)
            ).all()
        )
    assert len(owners) == 30
    assert all(owners[f"u-{i}"] == people[f"u-{i}"] is not None for i in range(30))
    assert len(set(owners.values())) == 30


def test_an_identifier_stored_meanwhile_is_noticed_when_the_batch_writes(
    session_factory: sessionmaker[Session],
) -> None:
    """The batch is then undone (its transaction fails); the resolver resolves its events
    one at a time (``worker._resolve_batch``), against the row stored."""
    with session_factory() as session:
        ws = provision(session, "Shop").workspace.id
    with transaction(session_factory) as session:
        _identify(session, ws, 3)
    with session_factory() as session:
        ctx = WorkspaceContext.load(session, ws)
        events = EventRepository.from_session(session).pending(ws, 10, None)
        cache = BatchCache.prepare(session, ctx, events)
        assert len(cache.unsaved_idents) == 3
        taken = cache.unsaved_idents[0]
        IdentifierRepository.from_session(session).insert_missing(
            ws,
            [(taken.type, taken.value)],
            source="elsewhere",
            event_id=taken.first_event_id,
            seen_at=taken.last_seen_at,
        )
        with pytest.raises(IdentifierTaken):
            cache.write(session)
        session.rollback()
