"""Request-level dependencies: one transaction per request, committed before the
response is sent (``scope="function"``), rolled back on any error."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import FormData
from starlette.requests import HTTPConnection

from accord.config import Settings


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def publisher(conn: HTTPConnection) -> Callable[[uuid.UUID, dict[str, Any]], None] | None:
    """The live broker's publish (every worker hears it through Redis when configured)."""
    broker = getattr(conn.app.state, "broker", None)
    return broker.publish if broker is not None else None


def get_db(request: Request) -> Iterator[Session]:
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


DbSession = Annotated[Session, Depends(get_db, scope="function")]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]


async def read_form(request: Request) -> FormData:
    """The request's form, read on the event loop, so that the handler that takes it can
    be a plain function: it then runs on a worker thread, and its database work never
    holds up the other requests and sockets of the process."""
    return await request.form()


async def read_body(request: Request) -> bytes:
    """The request's body, read on the event loop (as ``read_form``)."""
    return await request.body()


FormBody = Annotated[FormData, Depends(read_form)]
RawBody = Annotated[bytes, Depends(read_body)]
