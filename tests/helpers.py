from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, routing
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker
from starlette.routing import BaseRoute

from accord.config import Settings
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.access.repository import UserRepository
from accord.govern.workspaces import service as workspaces
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import transaction

PASSWORD = "correct horse battery"


def provision(session: Session, name: str = "Acme") -> ProvisionedWorkspace:
    p = workspaces.create_workspace(session, name)
    session.commit()
    return p


def bearer(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}


def add_user(session: Session, ws: ProvisionedWorkspace, email: str, role: str = "admin") -> None:
    exists = UserRepository.from_session(session).get_by_email(email) is not None
    access.add_member(
        session,
        workspace_id=ws.workspace.id,
        email=email,
        role=role,
        password=None if exists else PASSWORD,
        actor=Principal.cli(ws.workspace.id),
    )
    session.commit()


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


def console_login(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the login form; returns the session CSRF token of the console."""
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    home = client.get("/customers")
    assert home.status_code == 200
    return csrf_from(home.text)


def iter_routes(app: FastAPI) -> list[tuple[str, set[str], BaseRoute]]:
    """Every route the app serves (included routers expanded): path, methods, route."""
    iterate = getattr(routing, "iter_route_contexts", None)
    contexts = iterate(app.routes) if iterate is not None else app.routes
    out = []
    for c in contexts:
        original = getattr(c, "original_route", c)
        out.append((str(c.path), set(getattr(c, "methods", None) or ()), original))
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def held_port() -> socket.socket:
    """A loopback socket bound to a free port and kept, so that no other socket can take
    the port between choosing it and serving on it (see ``live_server``)."""
    held = socket.socket()
    held.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    held.bind(("127.0.0.1", 0))
    return held


def port_of(held: socket.socket) -> int:
    return int(held.getsockname()[1])


@contextmanager
def live_server(app: FastAPI, held: socket.socket | None = None) -> Iterator[str]:
    """Serve ``app`` with uvicorn on loopback, on the socket ``held_port`` gave (or a new
    one); yields its base URL."""
    held = held or held_port()
    port = port_of(held)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [held]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "server stopped while starting"
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        held.close()


@dataclass
class Committed:
    """A migrated database of its own whose writes really commit (servers, CLI, races)."""

    url: str
    factory: sessionmaker[Session]
    data_dir: Path

    def workspace(self, name: str) -> ProvisionedWorkspace:
        with transaction(self.factory) as session:
            return workspaces.create_workspace(session, name)

    def settings(self, **overrides: Any) -> Settings:
        return Settings(
            data_dir=self.data_dir, database_url=self.url, secret_key="k" * 40, **overrides
        )


@contextmanager
def count_queries(engine: Any) -> Iterator[list[str]]:
    """The SQL statements run on ``engine`` inside the block (savepoints not counted)."""
    seen: list[str] = []
    with _listening(engine, lambda statement, _: seen.append(statement)):
        yield seen


@contextmanager
def sent_with_values(engine: Any) -> Iterator[list[tuple[str, Any]]]:
    """The SQL statements run on ``engine`` inside the block, each with the values it was
    sent with (savepoints not counted)."""
    seen: list[tuple[str, Any]] = []
    with _listening(engine, lambda statement, values: seen.append((statement, values))):
        yield seen


@contextmanager
def _listening(engine: Any, keep: Callable[[str, Any], None]) -> Iterator[None]:
    from sqlalchemy import event

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            keep(statement, parameters)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", record)


def never_then_analyzed(session: Any, *tables: str) -> Iterator[bool]:
    """For a plan test on PostgreSQL: False with ``tables`` as a fresh import leaves them
    (never analyzed; the test's transaction rolls back what other tests analyzed), then
    True once ANALYZE has given them statistics, as autovacuum would."""
    from sqlalchemy import text

    yield False
    session.execute(text(f"ANALYZE {', '.join(tables)}"))
    yield True


def scans_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a PostgreSQL plan (EXPLAIN's JSON) that reads a table or an index,
    outermost first (a bitmap heap scan, then its index scan)."""
    reads = plan.get("Node Type") != "ModifyTable"
    found = [plan] if reads and (plan.get("Relation Name") or plan.get("Index Name")) else []
    for child in plan.get("Plans", []):
        found += scans_of(child)
    return found


def nodes_of(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every node of a PostgreSQL plan (EXPLAIN's JSON), outermost first."""
    return [plan, *(n for child in plan.get("Plans", []) for n in nodes_of(child))]


def leading_columns(session: Session, scan: dict[str, Any]) -> list[str]:
    """The columns an index scan (a node of EXPLAIN's JSON) seeks by: its index's
    columns from the first, as far as its condition constrains each. A condition on a
    later column only, after one it leaves free, is checked against every entry the
    earlier ones select (a filter in all but name)."""
    from sqlalchemy import text

    columns = session.execute(
        text(
            "SELECT a.attname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
            " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
            " JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
            " WHERE c.relname = :name ORDER BY k.n"
        ),
        {"name": scan["Index Name"]},
    ).scalars()
    constrained = set(
        re.findall(r'\(\(?"?(\w+)"?\)?(?:::[\w ]+?)? (?:=|<|>|<=|>=) ', scan.get("Index Cond", ""))
    )
    out = []
    for column in columns:
        if column not in constrained:
            break
        out.append(column)
    return out


def plans_of(session: Session, call: Callable[[], Any], wanted: Callable[[str], bool]) -> list[Any]:
    """The PostgreSQL plans of each statement ``call`` runs that ``wanted`` picks, as the
    database would run it now (its tables as they are: analyzed or not): for each, the
    plan made for its values and the generic plan PostgreSQL uses once the driver has
    prepared the statement (from about its tenth execution), in that order."""
    from sqlalchemy import event

    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        if wanted(statement):
            seen.append((statement, parameters))

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    raw: Any = session.connection().connection.driver_connection
    out = []
    with raw.cursor() as cur:
        for statement, parameters in seen:
            cur.execute("EXPLAIN (FORMAT JSON) " + statement, parameters)
            out.append(cur.fetchone()[0][0]["Plan"])
            out.append(_generic_plan(raw, cur, statement, parameters))
    return out


def _generic_plan(raw: Any, cur: Any, statement: str, parameters: dict[str, Any]) -> Any:
    """The generic plan of ``statement``: prepared with its parameters as $n and
    explained with PostgreSQL told to use the generic plan."""
    from psycopg import sql

    names: list[str] = []

    def number(match: re.Match[str]) -> str:
        if match.group(0) == "%%":
            return "%"
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    prepared = re.sub(r"%%|%\((\w+)\)s", number, statement)
    values = ", ".join(sql.Literal(parameters[n]).as_string(raw) for n in names)
    cur.execute("SET LOCAL plan_cache_mode = force_generic_plan")
    cur.execute(f"PREPARE accord_generic AS {prepared}")
    try:
        arguments = f"({values})" if names else ""
        cur.execute(f"EXPLAIN (FORMAT JSON) EXECUTE accord_generic{arguments}")
        return cur.fetchone()[0][0]["Plan"]
    finally:
        cur.execute("DEALLOCATE accord_generic")
        cur.execute("RESET plan_cache_mode")
