"""Work that must wait for a commit: services register callables on the session (a job
to kick, an update to publish) and they run only once the transaction has committed. A
rollback drops them: the whole transaction's on a rollback, only those registered inside
a savepoint when just that savepoint is rolled back."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction, sessionmaker

log = logging.getLogger(__name__)
KEY = "accord_after_commit"


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    within = session.get_nested_transaction() or session.get_transaction()
    session.info.setdefault(KEY, []).append((within, fn))


def _run(session: Session) -> None:
    if session.get_nested_transaction() is not None:
        return  # a savepoint was released: the transaction itself has not committed yet
    for _, fn in session.info.pop(KEY, []):
        try:
            fn()
        except Exception:
            log.exception("after-commit hook failed")


def _inside(tx: SessionTransaction | None, savepoint: SessionTransaction) -> bool:
    while tx is not None:
        if tx is savepoint:
            return True
        tx = tx.parent
    return False


def _rolled_back(session: Session, previous: SessionTransaction, *_: Any) -> None:
    hooks = session.info.get(KEY)
    if not hooks:
        return
    if not previous.nested:
        session.info.pop(KEY, None)
        return
    session.info[KEY] = [(tx, fn) for tx, fn in hooks if not _inside(tx, previous)]


def install(factory: sessionmaker[Session]) -> None:
    # Marked on the factory itself rather than asked of SQLAlchemy's event registry,
    # which keys listeners by id() of their target.
    if getattr(factory, "_accord_signals", False):
        return
    event.listen(factory, "after_commit", _run)
    event.listen(factory, "after_soft_rollback", _rolled_back)
    factory._accord_signals = True  # type: ignore[attr-defined]
