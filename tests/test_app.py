"""The application's wiring: the background workers it starts and stops, where requests
find them, and the demo shop, served only when ``ACCORD_DEMO_SITE`` turns it on."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from accord.app import Background, create_app, running
from accord.channels.tasks import ImapPoller, Outbox
from accord.config import Settings
from accord.demo import service as demo_service
from accord.inbox.tasks import InboxWorker
from accord.kit.threads import PeriodicWorker
from accord.match.tasks import MatchWorker
from accord.privacy.tasks import RetentionWorker
from accord.resolve.worker import ResolverWorker
from tests.helpers import Committed, iter_routes


class Recorded(PeriodicWorker):
    def __init__(self, name: str, log: list[str]) -> None:
        super().__init__(interval=60, name=name)
        self.events = log

    def step(self) -> None:
        pass

    def start(self) -> None:
        self.events.append(f"start {self.name}")
        super().start()

    def stop(self, timeout: float = 30) -> bool:
        self.events.append(f"stop {self.name}")
        return super().stop(timeout)


def test_workers_start_in_order_and_stop_in_reverse() -> None:
    app = FastAPI()
    app.state.accept_listeners = []
    app.state.first = None
    log: list[str] = []
    first, off, second = Recorded("a", log), Recorded("off", log), Recorded("b", log)
    with running(
        app,
        [
            Background(first, state="first"),
            Background(off, when=False),
            Background(second, on_accept=True),
        ],
    ):
        assert app.state.first is first
        assert app.state.accept_listeners == [second.kick]
        assert first.running
        assert second.running
        assert not off.running
    assert log == ["start a", "start b", "stop b", "stop a"]
    assert app.state.first is None
    assert app.state.accept_listeners == []
    assert not first.running
    assert not second.running


def test_workers_started_before_a_failure_are_stopped() -> None:
    class Broken(Recorded):
        def start(self) -> None:
            raise RuntimeError("cannot start")

    app = FastAPI()
    app.state.accept_listeners = []
    log: list[str] = []
    first = Recorded("a", log)
    try:
        with running(app, [Background(first), Background(Broken("broken", log))]):
            raise AssertionError("not reached")
    except RuntimeError:
        pass
    assert log == ["start a", "stop a"]
    assert not first.running


def test_the_app_runs_each_worker_its_settings_turn_on(committed: Committed) -> None:
    settings = committed.settings(
        outbox_worker=True,
        imap_poll_seconds=30,
        resolve_worker=True,
        resolve_inline=False,
        match_worker=True,
    )
    app = create_app(settings)
    with TestClient(app):
        state = app.state
        assert isinstance(state.outbox, Outbox)
        assert isinstance(state.resolver, ResolverWorker)
        assert isinstance(state.matcher, MatchWorker)
        assert state.accept_listeners == [state.resolver.kick]
        workers = [state.outbox, state.resolver, state.matcher]
        assert all(w.running for w in workers)
        names = {t.name for t in threading.enumerate()}
        for name in ("outbox", "inbox", "imap", "resolver", "matcher", "retention"):
            assert f"accord-{name}" in names
    assert state.outbox is None
    assert state.resolver is None
    assert state.matcher is None
    assert state.accept_listeners == []
    assert not any(w.running for w in workers)


def test_workers_turned_off_are_not_run(committed: Committed) -> None:
    settings = committed.settings(
        outbox_worker=False,
        imap_poll_seconds=0,
        resolve_worker=False,
        match_worker=False,
        retention_worker=False,
        social_streams=False,
    )
    app = create_app(settings)
    before = {t.name for t in threading.enumerate()}
    with TestClient(app):
        assert app.state.outbox is None
        assert app.state.resolver is None
        assert app.state.matcher is None
        started = {t.name for t in threading.enumerate()} - before
        assert not {n for n in started if n.startswith("accord-")}


def test_the_worker_classes_share_the_base() -> None:
    for cls in (Outbox, ImapPoller, InboxWorker, ResolverWorker, MatchWorker, RetentionWorker):
        assert issubclass(cls, PeriodicWorker), cls


def test_the_demo_shop_is_not_served_by_default(client: TestClient, app: FastAPI) -> None:
    assert not [path for path, _, _ in iter_routes(app) if path.startswith("/demo")]
    assert client.get("/demo/").status_code == 404
    assert client.get("/demo/tents").status_code == 404


def test_the_demo_shop_is_served_when_turned_on(
    settings: Settings,
    engine: Engine,
    session_factory: sessionmaker[Session],
    session: Session,
) -> None:
    app = create_app(
        settings.model_copy(update={"demo_site": True}),
        engine=engine,
        session_factory=session_factory,
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        # Mounted, but not found until `accord demo` has made the demo workspace.
        assert client.get("/demo/").status_code == 404
        info = demo_service.ensure_demo(session, {})
        session.commit()
        home = client.get("/demo/")
        assert home.status_code == 200
        assert info.write_key in home.text
        assert client.get("/demo/tents").status_code == 200
        assert client.get("/demo/nowhere").status_code == 404


def test_the_setting_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCORD_DEMO_SITE", "true")
    assert Settings().demo_site is True
    monkeypatch.delenv("ACCORD_DEMO_SITE")
    assert Settings().demo_site is False


def test_the_api_process_does_not_load_the_model_libraries(tmp_path: Path) -> None:
    """SciPy and scikit-learn (about 130 MB a process) load in the job that fits the
    customer models, not in every API worker that imports the scoring package."""
    probe = (
        "import sys\n"
        "from accord.app import create_app\n"
        "create_app()\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'scipy', 'sklearn'}))\n"
    )
    env = {**os.environ, "ACCORD_DATABASE_URL": f"sqlite:///{tmp_path / 'probe.db'}"}
    out = subprocess.run(
        [sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stdout
