"""Background jobs, schedules and timers on huey.

Why huey: one engine for every way Accord runs. Its storage follows the deployment:
SQLite (a file beside the embedded database) for one machine, PostgreSQL (tables in the
same database, woken by LISTEN/NOTIFY) for production, Redis when many machines share
the work. It runs a job at a given time (a timer that survives a restart, as the job
waits in that storage), on a schedule (crontab), with retries and back-off; and its
consumer runs as threads inside an API process or as a process of its own
(``accord jobs``). Procrastinate needs PostgreSQL and Dramatiq a broker, so neither
serves the embedded set-up; Celery is far heavier than these needs.

The jobs themselves are plain functions of the domain packages taking the session
factory first; the edge registers them by name (``accord/jobs.py``), and lower layers
enqueue only through a callable handed to them."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from huey import crontab
from huey.api import Huey, PostgresHuey, RedisHuey, SqliteHuey, TaskWrapper
from huey.consumer import Consumer
from sqlalchemy.orm import Session, sessionmaker

from accord.config import Settings

log = logging.getLogger(__name__)

JobFunction = Callable[..., Any]
SCHEMA_LOCK = 0x6875657900  # an advisory lock key of its own ("huey")

__all__ = ["Jobs", "crontab"]


def make_huey(settings: Settings, name: str = "accord") -> Huey:
    if settings.jobs_broker == "redis":
        if not settings.redis_url:
            raise ValueError("ACCORD_JOBS_BROKER=redis needs ACCORD_REDIS_URL")
        return RedisHuey(name, url=settings.redis_url, blocking=True, read_timeout=1)
    url = settings.resolved_database_url
    if url.startswith("postgresql"):
        dsn = "postgresql://" + url.split("://", 1)[1]  # without SQLAlchemy's driver name
        huey = PostgresHuey(name, dsn=dsn, blocking=True, read_timeout=1, create_tables=False)
        _create_tables(dsn, huey)
        return huey
    folder = Path(url.removeprefix("sqlite:///")).parent if url.startswith("sqlite:///") else None
    if folder is None or str(folder) in ("", ":memory:"):
        folder = settings.ensure_data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(folder / "jobs.sqlite3"), timeout=30)


def _create_tables(dsn: str, huey: Huey) -> None:
    """huey's tables, created by one process at a time (processes that start together,
    the API workers and the resolver, would otherwise race on the catalog)."""
    import psycopg

    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
        try:
            huey.storage.initialize_schema()
        finally:
            conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))


class _Consumer(Consumer):  # type: ignore[misc]
    """huey's consumer as threads of the host process: the host (uvicorn, a test) keeps
    its own signal handling."""

    def _set_signal_handlers(self) -> None:
        return None


class Jobs:
    """The jobs of one deployment: registered by name, enqueued now or at a time, run
    by a consumer (threads of this process, ``start``) or by another process."""

    def __init__(
        self, settings: Settings, factory: sessionmaker[Session], *, name: str = "accord"
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.huey = make_huey(settings, name)
        self._tasks: dict[str, TaskWrapper] = {}
        self._consumer: _Consumer | None = None
        self._lock = threading.Lock()

    def task(self, name: str, fn: JobFunction, *, retries: int = 3, retry_delay: float = 2) -> None:
        """Register ``fn(factory, *args)`` as the job ``name``."""
        factory = self.factory

        def run(*args: Any) -> None:
            fn(factory, *args)

        run.__name__ = name.replace(".", "_")
        self._tasks[name] = self.huey.task(
            name=name, retries=retries, retry_delay=retry_delay, retry_backoff=2
        )(run)

    def periodic(self, name: str, fn: JobFunction, when: Any) -> None:
        """Register ``fn(factory)`` to run on the crontab ``when``."""
        factory = self.factory

        def run() -> None:
            fn(factory)

        run.__name__ = name.replace(".", "_")
        self._tasks[name] = self.huey.periodic_task(when, name=name)(run)

    def enqueue(self, name: str, *args: Any, at: datetime | None = None) -> None:
        task = self._tasks[name]
        if at is None:
            task(*args)
        else:
            task.schedule(args=args, eta=at)

    def names(self) -> list[str]:
        return sorted(self._tasks)

    # --- the consumer ----------------------------------------------------------------

    def consumer(self, workers: int | None = None) -> _Consumer:
        # The database storages wake a waiting worker at once (NOTIFY, BRPOP); SQLite is
        # polled, at most every quarter second when idle.
        return _Consumer(
            self.huey,
            workers=workers or self.settings.jobs_threads,
            periodic=True,
            initial_delay=0.05,
            backoff=1.5,
            max_delay=0.25,
            scheduler_interval=1,
            worker_type="thread",
            check_worker_health=False,
        )

    def start(self, workers: int | None = None) -> None:
        with self._lock:
            if self._consumer is None:
                self._consumer = self.consumer(workers)
                self._consumer.start()

    def stop(self) -> None:
        with self._lock:
            consumer, self._consumer = self._consumer, None
        if consumer is not None:
            consumer.stop(graceful=True)

    def close(self) -> None:
        self.stop()
        try:
            self.huey.storage.close()
        except Exception:  # pragma: no cover - a storage without connections
            log.debug("closing the job storage failed", exc_info=True)
