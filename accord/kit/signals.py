"""Work that must wait for a commit: services register callables on the session (a job
to kick, an update to publish) and they run only once the transaction has committed; a
rollback drops them."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)
KEY = "accord_after_commit"


def after_commit(session: Session, fn: Callable[[], None]) -> None:
    session.info.setdefault(KEY, []).append(fn)


def _run(session: Session) -> None:
    for fn in session.info.pop(KEY, []):
        try:
            fn()
        except Exception:
            log.exception("after-commit hook failed")


def _drop(session: Session, *_: Any) -> None:
    session.info.pop(KEY, None)


def install(factory: sessionmaker[Session]) -> None:
    if not event.contains(factory, "after_commit", _run):
        event.listen(factory, "after_commit", _run)
        event.listen(factory, "after_rollback", _drop)
