"""The ASGI application. ``create_app`` wires routers, handlers and static files; the
engine and session factory are created in the lifespan (or handed in by tests), never at
import time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from accord import __version__
from accord import jobs as accord_jobs
from accord.analyze.acquisition.api import links_router
from accord.analyze.acquisition.api import router as acquisition_router
from accord.analyze.audiences.api import router as audiences_router
from accord.analyze.scoring.api import router as scoring_router
from accord.analyze.segments.api import router as segments_router
from accord.channels.api import router as channels_router
from accord.channels.inbound import InboundHandler
from accord.channels.sms_api import router as sms_router
from accord.channels.tasks import ImapPoller, Outbox
from accord.chat.admin_api import router as chat_admin_router
from accord.chat.api import router as chat_router
from accord.chat.hub import Hub
from accord.collect.api import router as tracking_router
from accord.config import Settings, get_settings
from accord.customers.api import router as profile_router
from accord.demo.site import site_router
from accord.govern.access.api import router as access_router
from accord.govern.access.deps import token_cache
from accord.govern.access.keycache import forget_revoked
from accord.govern.access.writekeys import sender_cache
from accord.govern.audit.api import router as audit_router
from accord.govern.workspaces.api import router as workspace_router
from accord.health import router as health_router
from accord.helpcenter.api import router as helpcenter_router
from accord.helpcenter.community.api import router as community_api_router
from accord.helpcenter.suggest_api import router as help_suggest_router
from accord.inbox.admin_api import router as inbox_admin_router
from accord.inbox.api import router as inbox_router
from accord.inbox.metrics_api import router as inbox_metrics_router
from accord.inbox.tasks import InboxWorker
from accord.kit import changes, handlers
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.headers import SecurityHeaders
from accord.kit.live import Broker
from accord.kit.ratelimit import RateLimiter
from accord.kit.runtime import tune_gc
from accord.kit.threads import PeriodicWorker
from accord.match.api import router as match_router
from accord.match.tasks import MatchWorker
from accord.outreach.api import router as outreach_router
from accord.outreach.api import tracking_router as outreach_tracking_router
from accord.outreach.journeys.api import router as journeys_router
from accord.outreach.receipts import email_report
from accord.privacy.api import router as privacy_router
from accord.privacy.consent_api import router as consent_api_router
from accord.privacy.tasks import RetentionWorker
from accord.resolve.api import router as resolve_router
from accord.resolve.worker import Pacing, ResolverWorker, drain
from accord.social import tasks as social_tasks
from accord.social.api import hooks_router as social_hooks_router
from accord.social.api import router as social_router
from accord.social.delivery import deliver_reply
from accord.social.sources import registry as social_sources
from accord.social.streams import Streams
from accord.web.account_pages import router as account_router
from accord.web.acquisition_pages import router as acquisition_pages_router
from accord.web.analytics_pages import router as analytics_pages_router
from accord.web.api_docs import router as api_docs_router
from accord.web.auth import LoginRequired, login_url
from accord.web.chat_pages import router as chat_pages_router
from accord.web.community_console_pages import router as community_console_router
from accord.web.community_pages import router as community_pages_router
from accord.web.community_sign_in_pages import router as community_sign_in_router
from accord.web.consent_pages import router as consent_router
from accord.web.consent_settings_pages import router as consent_settings_router
from accord.web.csat_pages import router as csat_router
from accord.web.customer_analytics_pages import router as customer_analytics_router
from accord.web.customer_pages import router as customer_router
from accord.web.helpcenter_pages import router as helpcenter_pages_router
from accord.web.identity_settings_pages import router as identity_settings_router
from accord.web.inbox_pages import router as inbox_pages_router
from accord.web.inbox_settings_pages import router as inbox_settings_router
from accord.web.knowledge_analytics_pages import router as knowledge_analytics_router
from accord.web.knowledge_pages import router as knowledge_router
from accord.web.knowledge_reply_pages import router as knowledge_reply_router
from accord.web.match_pages import router as match_pages_router
from accord.web.outreach_composer import router as outreach_composer_router
from accord.web.outreach_journey_editor import router as journey_editor_router
from accord.web.outreach_journeys import router as journey_pages_router
from accord.web.outreach_pages import router as outreach_pages_router
from accord.web.pages import router as pages_router
from accord.web.privacy_pages import router as privacy_pages_router
from accord.web.segment_builder import router as segment_builder_router
from accord.web.segment_pages import router as segment_pages_router
from accord.web.settings_pages import router as settings_router
from accord.web.social_pages import router as social_pages_router
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


@dataclass(frozen=True)
class Background:
    """A background worker of the app: run when ``when`` is true, published as
    ``app.state.<state>`` while it runs (where requests find it to kick it) and, with
    ``on_accept``, woken after accepted events are committed."""

    worker: PeriodicWorker
    when: bool = True
    state: str | None = None
    on_accept: bool = False


def background_workers(
    settings: Settings,
    factory: sessionmaker[Session],
    publish: Callable[[uuid.UUID, dict[str, Any]], None],
) -> list[Background]:
    """The workers of an API process in the order they start, each with its setting."""
    secret_key, base_url = settings.resolved_secret_key, settings.base_url
    outbox = Outbox(
        factory,
        secret_key,
        publish,
        base_url=base_url,
        senders={"social": partial(deliver_reply, repliers=social_sources.repliers())},
    )
    inbound = InboundHandler(
        factory,
        secret_key=secret_key,
        base_url=base_url,
        data_dir=settings.data_dir,
        publish=publish,
        kick_outbox=outbox.kick,
        reported=email_report,
    )
    return [
        Background(outbox, when=settings.outbox_worker, state="outbox"),
        Background(
            InboxWorker(factory, secret_key=secret_key, base_url=base_url, publish=publish),
            when=settings.outbox_worker,
        ),
        Background(
            ImapPoller(inbound, interval=settings.imap_poll_seconds),
            when=settings.imap_poll_seconds > 0,
        ),
        Background(
            ResolverWorker(factory, pacing=Pacing(settings.resolve_yield_above)),
            when=settings.resolve_worker,
            state="resolver",
            on_accept=True,
        ),
        Background(MatchWorker(factory, settings), when=settings.match_worker, state="matcher"),
        Background(RetentionWorker(factory, settings.data_dir), when=settings.retention_worker),
        Background(
            Streams(
                factory,
                social_tasks.Listening(
                    connectors=social_sources.connectors(),
                    secret_key=secret_key,
                    base_url=base_url,
                    publish=publish,
                    kick_outbox=outbox.kick,
                    private_hosts=settings.social_private_hosts,
                ),
            ),
            when=settings.social_streams,
        ),
    ]


@contextmanager
def running(app: FastAPI, workers: list[Background]) -> Iterator[None]:
    """Start the workers that are turned on, in order; on the way out, stop those started
    in reverse order (each after its step under way ends)."""
    started: list[Background] = []
    try:
        for item in workers:
            if not item.when:
                continue
            item.worker.start()
            started.append(item)
            if item.state is not None:
                setattr(app.state, item.state, item.worker)
            if item.on_accept:
                app.state.accept_listeners.append(item.worker.kick)
        yield
    finally:
        for item in reversed(started):
            if item.on_accept:
                app.state.accept_listeners.remove(item.worker.kick)
            if item.state is not None:
                setattr(app.state, item.state, None)
            item.worker.stop()


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
        broker.add_listener(forget_revoked(app.state.write_key_cache, app.state.token_cache))
        app.state.chat_hub = hub
        jobs, app.state.segment_engine = accord_jobs.build(settings, app.state.session_factory)
        app.state.jobs = jobs
        heard = accord_jobs.listen_to_changes(jobs, app.state.session_factory)
        if settings.jobs_worker:
            jobs.start()
        try:
            with running(
                app, background_workers(settings, app.state.session_factory, broker.publish)
            ):
                yield
        finally:
            for listener in heard:
                changes.unlisten(app.state.session_factory, listener)
            jobs.close()
            app.state.jobs = None
            await hub.stop()
            app.state.chat_hub = None
            await broker.stop()
            if owned is not None:
                owned.dispose()

    app = FastAPI(
        title="Accord",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by web/api_docs.py, with its assets from /static
        redoc_url=None,
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
    app.state.jobs = None
    app.state.segment_engine = accord_jobs.segment_engine()
    app.state.write_key_cache = sender_cache()
    app.state.token_cache = token_cache()
    app.state.rate_limiter = RateLimiter(settings.redis_url, settings.rate_limit_scale)
    # Called once accepted events are committed (the resolver's wake-up, inline resolution).
    app.state.accept_listeners = []
    if settings.resolve_inline:
        app.state.accept_listeners.append(lambda: drain(app.state.session_factory))

    handlers.install(app)
    app.add_middleware(SecurityHeaders)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        if request.headers.get("hx-request"):
            return Response(status_code=204, headers={"HX-Redirect": login_url(exc.next_path)})
        return RedirectResponse(login_url(exc.next_path), status_code=303)

    app.include_router(health_router)
    app.include_router(api_docs_router)
    app.include_router(workspace_router)
    app.include_router(access_router)
    app.include_router(audit_router)
    app.include_router(tracking_router)
    app.include_router(profile_router)
    app.include_router(consent_api_router)
    app.include_router(segments_router)
    app.include_router(helpcenter_router)
    app.include_router(help_suggest_router)
    app.include_router(community_api_router)
    app.include_router(scoring_router)
    app.include_router(audiences_router)
    app.include_router(outreach_router)
    app.include_router(social_router)
    app.include_router(social_hooks_router)
    app.include_router(outreach_tracking_router)
    app.include_router(journeys_router)
    app.include_router(acquisition_router)
    app.include_router(privacy_router)
    app.include_router(inbox_router)
    app.include_router(inbox_admin_router)
    app.include_router(inbox_metrics_router)
    app.include_router(channels_router)
    app.include_router(sms_router)
    app.include_router(resolve_router)
    app.include_router(match_router)
    app.include_router(chat_router)
    app.include_router(chat_admin_router)
    app.include_router(links_router)  # public: /l/{code}, a short link
    app.include_router(pages_router)
    app.include_router(analytics_pages_router)
    app.include_router(acquisition_pages_router)
    app.include_router(account_router)
    app.include_router(settings_router)
    app.include_router(identity_settings_router)
    app.include_router(consent_settings_router)
    app.include_router(match_pages_router)  # before /customers/{profile_id}
    app.include_router(customer_router)
    app.include_router(chat_pages_router)  # before /inbox/{number}
    app.include_router(inbox_pages_router)
    app.include_router(inbox_settings_router)
    app.include_router(csat_router)
    app.include_router(privacy_pages_router)
    app.include_router(segment_builder_router)  # before /segments/{segment_id}
    app.include_router(segment_pages_router)
    app.include_router(outreach_composer_router)  # before /outreach/campaigns/{campaign_id}
    app.include_router(outreach_pages_router)
    app.include_router(journey_pages_router)  # /outreach/journeys/new before the editor
    app.include_router(journey_editor_router)
    app.include_router(customer_analytics_router)
    app.include_router(social_pages_router)
    app.include_router(consent_router)
    app.include_router(helpcenter_pages_router)
    app.include_router(community_pages_router)
    app.include_router(community_sign_in_router)
    app.include_router(community_console_router)  # before /knowledge/{article_id}
    app.include_router(knowledge_analytics_router)  # before /knowledge/{article_id}
    app.include_router(knowledge_reply_router)
    app.include_router(knowledge_router)
    if settings.demo_site:
        app.include_router(site_router(_demo_write_key, user_hash=_demo_user_hash))
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app
