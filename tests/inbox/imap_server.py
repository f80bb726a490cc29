"""A small IMAP4rev1 server on loopback for the IMAP polling test: one mailbox, the
commands a poller uses (CAPABILITY, LOGIN, SELECT, UID SEARCH, UID FETCH, UID STORE,
LOGOUT), spoken over a real socket so Python's imaplib talks to it unchanged."""

from __future__ import annotations

import re
import socketserver
import threading
from dataclasses import dataclass, field


@dataclass
class Mailbox:
    user: str
    password: str
    messages: list[tuple[int, bytes, set[str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, raw: bytes) -> int:
        with self.lock:
            uid = len(self.messages) + 1
            self.messages.append((uid, raw, set()))
            return uid

    def seen(self, uid: int) -> bool:
        with self.lock:
            return any(u == uid and "\\Seen" in flags for u, _, flags in self.messages)


def _handler(box: Mailbox) -> type[socketserver.StreamRequestHandler]:
    class Handler(socketserver.StreamRequestHandler):
        def send(self, line: str | bytes) -> None:
            data = line if isinstance(line, bytes) else line.encode()
            self.wfile.write(data + b"\r\n")

        def handle(self) -> None:
            self.send("* OK IMAP4rev1 test server ready")
            authed = False
            while True:
                line = self.rfile.readline()
                if not line:
                    return
                tag, _, rest = line.decode().strip().partition(" ")
                command, _, args = rest.partition(" ")
                command = command.upper()
                if command == "CAPABILITY":
                    self.send("* CAPABILITY IMAP4rev1 AUTH=PLAIN")
                    self.send(f"{tag} OK CAPABILITY completed")
                elif command == "LOGIN":
                    user, password = [a.strip('"') for a in args.split(" ", 1)]
                    authed = (user, password) == (box.user, box.password)
                    self.send(f"{tag} {'OK' if authed else 'NO'} LOGIN")
                elif not authed:
                    self.send(f"{tag} NO not authenticated")
                elif command == "SELECT":
                    with box.lock:
                        count = len(box.messages)
                    self.send(f"* {count} EXISTS")
                    self.send(f"{tag} OK [READ-WRITE] SELECT completed")
                elif command == "UID":
                    self.uid(tag, args)
                elif command == "LOGOUT":
                    self.send("* BYE")
                    self.send(f"{tag} OK LOGOUT completed")
                    return
                else:
                    self.send(f"{tag} BAD unknown command")

        def uid(self, tag: str, args: str) -> None:
            sub, _, rest = args.partition(" ")
            sub = sub.upper()
            with box.lock:
                messages = list(box.messages)
            if sub == "SEARCH":
                unseen = [str(u) for u, _, flags in messages if "\\Seen" not in flags]
                self.send("* SEARCH " + " ".join(unseen))
                self.send(f"{tag} OK SEARCH completed")
            elif sub == "FETCH":
                uid = int(rest.split(" ", 1)[0])
                for seq, (u, raw, _) in enumerate(messages, start=1):
                    if u == uid:
                        self.wfile.write(
                            f"* {seq} FETCH (UID {u} BODY[] {{{len(raw)}}}\r\n".encode()
                        )
                        self.wfile.write(raw)
                        self.send(")")
                self.send(f"{tag} OK FETCH completed")
            elif sub == "STORE":
                match = re.match(r"(\d+) \+FLAGS \((.*)\)", rest)
                if match:
                    uid, flag = int(match.group(1)), match.group(2)
                    with box.lock:
                        for u, _, flags in box.messages:
                            if u == uid:
                                flags.add(flag)
                self.send(f"{tag} OK STORE completed")
            else:
                self.send(f"{tag} BAD unknown UID command")

    return Handler


class ImapServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, box: Mailbox) -> None:
        super().__init__(("127.0.0.1", 0), _handler(box))
        self.box = box
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def __enter__(self) -> ImapServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.shutdown()
        self.server_close()
