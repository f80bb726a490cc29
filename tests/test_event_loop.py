"""A handler that is a coroutine runs on the event loop: if it used the database there,
every other request and socket of the process would wait for its queries. So a handler
that takes a database session is a plain function (FastAPI runs it on a worker thread;
a form or a body it needs is read first by the ``FormBody`` / ``RawBody`` dependencies),
unless it is one of the few below that read a stream themselves and hand their
database work to a thread (``run_in_threadpool``)."""

from __future__ import annotations

import inspect
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute, APIWebSocketRoute

from accord.kit.deps import get_db
from tests.helpers import iter_routes

# Each reads its request itself (files, a signed provider callback, a raw webhook body),
# then runs its database work in ``run_in_threadpool``.
HANDS_OFF = {
    "accord.social.api:import_posts",
    "accord.web.social_sources_pages:import_file",
    "accord.channels.api:contact_form",
    "accord.channels.sms_api:inbound_text",
    "accord.channels.sms_api:text_receipt",
    "accord.outreach.api:send_receipt",
    "accord.social.api:webhook_posts",
    "accord.helpcenter.api:upload_asset",
    "accord.web.knowledge_pages:upload_asset",
}


def _takes_session(dependant: Any) -> bool:
    """The handler itself takes a session (a dependency of its own, such as the console's
    sign-in, runs on a worker thread when it is a plain function)."""
    return any(d.call is get_db for d in dependant.dependencies)


def _async_with_db(app: FastAPI) -> set[str]:
    found = set()
    for _, _, route in iter_routes(app):
        if not isinstance(route, APIRoute | APIWebSocketRoute):
            continue
        if inspect.iscoroutinefunction(route.endpoint) and _takes_session(route.dependant):
            found.add(f"{route.endpoint.__module__}:{route.endpoint.__name__}")
    return found


def test_no_handler_uses_the_database_on_the_event_loop(app: FastAPI) -> None:
    found = _async_with_db(app)
    assert not found - HANDS_OFF, f"coroutine handlers with a session: {sorted(found - HANDS_OFF)}"
    assert not HANDS_OFF - found, f"listed but gone: {sorted(HANDS_OFF - found)}"
