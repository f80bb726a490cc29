"""What the benchmarks share: a server process of their own, percentiles, memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from sqlalchemy import Connection, Engine, text
from sqlalchemy.orm import Session, sessionmaker


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def engine_of(factory: sessionmaker[Session]) -> Engine:
    with factory() as session:
        bind = session.get_bind()
    return bind.engine if isinstance(bind, Connection) else bind


def vacuum_analyze(
    factory: sessionmaker[Session], tables: tuple[str, ...] = ()
) -> tuple[float, str]:
    """What autovacuum does to a live database after a bulk load: VACUUM (ANALYZE) on
    PostgreSQL (the visibility map and statistics), ANALYZE elsewhere; of ``tables``,
    or of every table. Returns the seconds it took and what ran."""
    t = time.perf_counter()
    with engine_of(factory).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            what = "VACUUM (ANALYZE)" + (f" {', '.join(tables)}" if tables else "")
            conn.execute(text(what))
        else:
            conn.execute(text("ANALYZE"))
            conn.commit()
            what = "ANALYZE"
    return time.perf_counter() - t, what


def settle(factory: sessionmaker[Session], tables: tuple[str, ...] = ()) -> None:
    """A freshly loaded database as a deployment has it some time after the load:
    vacuumed and analyzed (``vacuum_analyze``) and, on PostgreSQL, checkpointed, so
    that writing the load out is not part of what is measured next."""
    vacuum_analyze(factory, tables)
    with engine_of(factory).connect() as conn:
        if conn.dialect.name == "postgresql":
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))


def core_speed(additions: int = 10_000_000) -> float:
    """Seconds Python takes here for ``additions`` additions in a loop, on one core: a
    yardstick of the machine's speed at the moment. A shared machine's drifts (by half,
    under a long load), so runs are compared at like speeds."""
    started = time.perf_counter()
    total = 0
    for i in range(additions):
        total += i
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


def _parents() -> dict[int, int]:
    """Every process's parent, from one pass over /proc."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            out[int(entry.name)] = int(stat[1])
    return out


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants, in MB."""
    total = 0
    for current in tree_pids(pid):
        try:
            for line in Path(f"/proc/{current}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def cpu_seconds(pid: int) -> float:
    """User and system CPU a process has used so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants."""
    children: dict[int, list[int]] = {}
    for child, parent in _parents().items():
        children.setdefault(parent, []).append(child)
    out, stack = [], [pid]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(children.get(current, ()))
    return out


class PeakMemory:
    """The peak resident memory of a process tree, sampled by a thread of its own a few
    times a second (the sending threads never stop to read /proc)."""

    def __init__(self, pid: int, interval: float = 0.5) -> None:
        self.pid = pid
        self.interval = interval
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)

    def _run(self) -> None:
        while True:
            self.peak = max(self.peak, tree_rss_mb(self.pid))
            if self._stop.wait(self.interval):
                return

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, tree_rss_mb(self.pid))


def postgres_pids() -> list[int]:
    """The local PostgreSQL server's processes (its backends do the database's work)."""
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() == "postgres":
                    out.append(int(entry.name))
            except OSError:
                continue
    return out


def cpu_of(pids: list[int]) -> dict[int, float]:
    """User and system CPU seconds of each of these processes so far (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / tick
    return out


def cpu_since(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings (a process started since counts whole)."""
    return sum(v - before.get(pid, 0.0) for pid, v in after.items())


def role_of(pid: int) -> str:
    """What a server process does, by its command line: the resolver, the job consumer,
    or the API (the parent and its web workers)."""
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "api"
    if b"worker" in words:
        after = words[words.index(b"worker") + 1 :]
        if after[:1] == [b"resolve"]:
            return "resolver"
        if after[:1] == [b"jobs"]:
            return "jobs"
    return "api"


class CpuMeter:
    """CPU used by the benchmark itself, the server's processes and PostgreSQL's between
    ``start`` and ``stop``: where a machine's cores went. ``roles`` splits the server's
    share between its API workers, its resolver and its job consumer."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid
        self.before: dict[int, float] = {}
        self.own = 0.0
        self.used: dict[str, float] = {}
        self.roles: dict[str, float] = {}

    def _sample(self) -> tuple[dict[int, float], list[int], list[int]]:
        server, database = tree_pids(self.server_pid), postgres_pids()
        return {p: cpu_seconds(p) for p in server + database}, server, database

    def start(self) -> None:
        self.before, _, _ = self._sample()
        self.own = time.process_time()

    def stop(self) -> None:
        after, server, database = self._sample()
        self.roles = {}
        for p in server:
            role = role_of(p)
            self.roles[role] = self.roles.get(role, 0.0) + after[p] - self.before.get(p, 0.0)
        self.used = {
            "server": sum(self.roles.values()),
            "postgres": sum(after[p] - self.before.get(p, 0.0) for p in database),
            "client": time.process_time() - self.own,
        }


def quiet(pid: int, idle: float = 0.1, within: float = 30.0) -> None:
    """Wait until a server has started all its processes and gone quiet: its process
    tree used less than ``idle`` of a core over half a second (at most ``within``
    seconds). The first API worker answers before the others, the resolver and the job
    consumer have finished starting; a load begun then would share the cores with them."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        pids = tree_pids(pid)
        before = sum(cpu_seconds(p) for p in pids)
        time.sleep(0.5)
        if sum(cpu_seconds(p) for p in tree_pids(pid)) - before < idle * 0.5:
            return


@contextmanager
def server(
    database_url: str, data_dir: Path, workers: int, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[str, int]]:
    """``accord serve`` in a subprocess on a free loopback port; yields (url, pid)."""
    port = free_port()
    env = {
        **os.environ,
        "ACCORD_DATABASE_URL": database_url,
        "ACCORD_DATA_DIR": str(data_dir),
        "ACCORD_LOG_LEVEL": "warning",
        # Every simulated visitor comes from this one address: the public endpoints'
        # per-address limits would measure themselves.
        "ACCORD_RATE_LIMIT_SCALE": "0",
        **(extra_env or {}),
    }
    proc = subprocess.Popen(  # noqa: S603 (our own CLI)
        [
            sys.executable,
            "-m",
            "accord.cli.main",
            "serve",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the benchmark server did not start")
        time.sleep(0.2)
    quiet(proc.pid)
    try:
        yield url, proc.pid
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
