"""Serving a test network's ASGI app on loopback with uvicorn, in a thread, for the length
of a block: websockets and long-lived event streams included (they are told to end when
the block does, so the server stops at once)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from tests.helpers import free_port


class Closing:
    """Set when the server is stopping: streaming handlers poll it and end."""

    def __init__(self) -> None:
        self.event = threading.Event()

    def __bool__(self) -> bool:
        return self.event.is_set()


@contextmanager
def serving(app: Any, closing: Closing, port: int | None = None) -> Iterator[int]:
    """Serve ``app`` on ``127.0.0.1`` (``port`` or a free one); yields the port."""
    port = port or free_port()
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=2,
        ws="websockets-sansio",
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the loopback server did not start")
        time.sleep(0.02)
    try:
        yield port
    finally:
        closing.event.set()
        server.should_exit = True
        thread.join(timeout=10)
