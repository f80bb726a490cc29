"""An SMTP sink on loopback for the send benchmark, run as a process of its own (so that
it does not share the sender's interpreter): it offers PIPELINING as common relays do,
accepts every message (refusing, at RCPT, addresses that start with ``bounce``), counts
messages and distinct recipients, and writes the counts to a file when it is stopped
(SIGTERM) or asked (SIGUSR1)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from typing import Any

from aiosmtpd.controller import Controller


class Counting:
    def __init__(self) -> None:
        self.messages = 0
        self.recipients: set[str] = set()
        self.duplicates = 0
        self.lock = threading.Lock()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return [*responses[:-1], "250-PIPELINING", responses[-1]]

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("bounce"):
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            self.messages += 1
            for to in envelope.rcpt_tos:
                if to in self.recipients:
                    self.duplicates += 1
                self.recipients.add(to)
        return "250 OK"

    def counts(self) -> dict[str, int]:
        with self.lock:
            return {
                "messages": self.messages,
                "recipients": len(self.recipients),
                "duplicates": self.duplicates,
            }


def main() -> None:
    port, out = int(sys.argv[1]), sys.argv[2]
    handler = Counting()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    done = threading.Event()

    def write(*_: Any) -> None:
        with open(out, "w") as f:
            json.dump(handler.counts(), f)

    def stop(*_: Any) -> None:
        write()
        done.set()

    signal.signal(signal.SIGUSR1, write)
    signal.signal(signal.SIGTERM, stop)
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
