"""The ASGI application. ``create_app`` wires routers, handlers and static files; the
engine and session factory are created in the lifespan (or handed in by tests), never at
import time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from accord import __version__
from accord.channels.api import router as channels_router
from accord.channels.email import Outbox
from accord.channels.inbound import ImapPoller, InboundHandler
from accord.chat.admin_api import router as chat_admin_router
from accord.chat.api import router as chat_router
from accord.chat.hub import Hub
from accord.collect.api import router as tracking_router
from accord.config import Settings, get_settings
from accord.demo.site import site_router
from accord.govern.access.api import router as access_router
from accord.govern.access.writekeys import forget_revoked
from accord.govern.audit.api import router as audit_router
from accord.govern.workspaces.api import router as workspace_router
from accord.health import router as health_router
from accord.inbox.admin_api import router as inbox_admin_router
from accord.inbox.api import router as inbox_router
from accord.inbox.tasks import InboxWorker
from accord.kit import handlers
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.live import Broker
from accord.kit.runtime import tune_gc
from accord.match.api import router as match_router
from accord.match.tasks import MatchWorker
from accord.profile.api import router as profile_router
from accord.resolve.worker import Pacing, ResolverWorker, drain
from accord.web.auth import LoginRequired, login_url
from accord.web.chat_pages import router as chat_pages_router
from accord.web.csat_pages import router as csat_router
from accord.web.customer_pages import router as customer_router
from accord.web.inbox_pages import router as inbox_pages_router
from accord.web.inbox_settings_pages import router as inbox_settings_router
from accord.web.match_pages import router as match_pages_router
from accord.web.pages import router as pages_router
from accord.web.settings_pages import router as settings_router
from accord.web.templating import STATIC_DIR, create_templates

API_DESCRIPTION = """
Accord's HTTP API. Authenticate with an API token: `Authorization: Bearer acc_...`.
Errors are `application/problem+json` bodies with `status`, a stable `code`, a `detail`
message and the `field` at fault.
"""


def _demo_write_key(request: Request) -> str | None:
    from accord.demo.service import demo_write_key

    with transaction(request.app.state.session_factory) as session:
        return demo_write_key(session)


def _demo_user_hash(request: Request, user_id: str) -> str | None:
    from accord.demo.service import demo_user_hash

    with transaction(request.app.state.session_factory) as session:
        return demo_user_hash(session, request.app.state.settings.resolved_secret_key, user_id)


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    session_factory: sessionmaker[Session] | None = None,
) -> FastAPI:
    settings = settings or get_settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        tune_gc(settings.gc_threshold)
        if getattr(app.state, "engine", None) is None:
            settings.ensure_data_dir()
            owned = create_db_engine(
                settings.resolved_database_url, pool_size=settings.db_pool_size
            )
            app.state.engine = owned
            app.state.session_factory = create_session_factory(owned)
        broker = Broker(settings.redis_url)
        await broker.start()
        app.state.broker = broker
        hub = Hub(app.state.session_factory)
        broker.add_listener(hub.on_update)
        broker.add_listener(forget_revoked(app.state.write_key_cache))
        app.state.chat_hub = hub
        outbox = Outbox(app.state.session_factory, settings.resolved_secret_key, broker.publish)
        inbox_worker = InboxWorker(
            app.state.session_factory,
            secret_key=settings.resolved_secret_key,
            base_url=settings.base_url,
            publish=broker.publish,
        )
        if settings.outbox_worker:
            outbox.start()
            inbox_worker.start()
            app.state.outbox = outbox
        poller = None
        if settings.imap_poll_seconds > 0:
            poller = ImapPoller(
                InboundHandler(
                    app.state.session_factory,
                    secret_key=settings.resolved_secret_key,
                    base_url=settings.base_url,
                    data_dir=settings.ensure_data_dir(),
                    publish=broker.publish,
                    kick_outbox=outbox.kick,
                ),
                interval=settings.imap_poll_seconds,
            )
            poller.start()
        worker = None
        if settings.resolve_worker:
            worker = ResolverWorker(
                app.state.session_factory, pacing=Pacing(settings.resolve_yield_above)
            )
            worker.start()
            app.state.resolver = worker
            app.state.accept_listeners.append(worker.kick)
        matcher = None
        if settings.match_worker:
            matcher = MatchWorker(app.state.session_factory, settings)
            matcher.start()
            app.state.matcher = matcher
        try:
            yield
        finally:
            if poller is not None:
                poller.stop()
            if settings.outbox_worker:
                inbox_worker.stop()
                outbox.stop()
                app.state.outbox = None
            await hub.stop()
            app.state.chat_hub = None
            await broker.stop()
            if matcher is not None:
                matcher.stop()
                app.state.matcher = None
            if worker is not None:
                app.state.accept_listeners.remove(worker.kick)
                worker.stop()
                app.state.resolver = None
            if owned is not None:
                owned.dispose()

    app = FastAPI(
        title="Accord",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory or (
        create_session_factory(engine) if engine is not None else None
    )
    app.state.templates = create_templates()
    app.state.resolver = None
    app.state.broker = None
    app.state.outbox = None
    app.state.matcher = None
    app.state.chat_hub = None
    app.state.write_key_cache = {}
    # Called once accepted events are committed (the resolver's wake-up, inline resolution).
    app.state.accept_listeners = []
    if settings.resolve_inline:
        app.state.accept_listeners.append(lambda: drain(app.state.session_factory))

    handlers.install(app)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": login_url(exc.next_path)})
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    app.include_router(health_router)
    app.include_router(workspace_router)
    app.include_router(access_router)
    app.include_router(audit_router)
    app.include_router(tracking_router)
    app.include_router(profile_router)
    app.include_router(inbox_router)
    app.include_router(inbox_admin_router)
    app.include_router(channels_router)
    app.include_router(match_router)
    app.include_router(chat_router)
    app.include_router(chat_admin_router)
    app.include_router(pages_router)
    app.include_router(settings_router)
    app.include_router(match_pages_router)  # before /customers/{profile_id}
    app.include_router(customer_router)
    app.include_router(chat_pages_router)  # before /inbox/{number}
    app.include_router(inbox_pages_router)
    app.include_router(inbox_settings_router)
    app.include_router(csat_router)
    app.include_router(site_router(_demo_write_key, user_hash=_demo_user_hash))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
