"""A real SMTP sink on loopback (aiosmtpd), standing in for an outbound relay: a
workspace's, or the server's own (ACCORD_SMTP_URL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any, TypeVar

import pytest
from aiosmtpd.controller import Controller

from tests.helpers import free_port

T = TypeVar("T")


@dataclass
class Sink:
    """Collects every message the relay is handed."""

    port: int
    messages: list[EmailMessage] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append(msg)
        return "250 OK"

    def wait_for(self, count: int, timeout: float = 20.0) -> list[EmailMessage]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} emails, got {len(self.messages)}")


S = TypeVar("S", bound=Sink)


@contextmanager
def listening(sink: S) -> Iterator[S]:
    """Serve ``sink`` (a Sink or a kind of one) on its loopback port while the block runs."""
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, every: float = 0.1) -> T:
    """Ask ``predicate`` until it answers something true (returned), or fail after
    ``timeout`` seconds naming it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(every)
    name = getattr(predicate, "__name__", "condition")
    raise AssertionError(f"condition not met in time: {name}")


@pytest.fixture
def smtp_sink() -> Iterator[Sink]:
    with listening(Sink(port=free_port())) as sink:
        yield sink
