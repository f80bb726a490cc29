"""An SMS provider on loopback speaking Twilio's API: messages are form POSTs to
``/2010-04-01/Accounts/{sid}/Messages.json`` with basic auth, answered with Twilio's JSON
(and its error bodies and codes); delivery receipts and inbound texts are form POSTs to
the URLs Accord gave, signed with ``X-Twilio-Signature`` as Twilio signs them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx

from tests.helpers import free_port

ACCOUNT = "AC" + "0" * 31 + "1"
TOKEN = "test-auth-token-0123456789abcdef"
NUMBER = "+15005550006"
E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")


def twilio_signature(token: str, url: str, params: list[tuple[str, str]]) -> str:
    """Written from Twilio's description of request validation, apart from Accord's."""
    payload = url
    for key, value in sorted(params):
        payload += key + value
    mac = hmac.new(token.encode(), payload.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


@dataclass
class Text:
    sid: str
    to: str
    sender: str
    body: str
    status_callback: str | None
    form: dict[str, str]


@dataclass
class Provider:
    """The texts it took, and what it refuses: ``unsubscribed`` numbers (error 21610,
    as after a STOP), and ``busy`` requests answered 429 before any is taken."""

    port: int
    account: str = ACCOUNT
    token: str = TOKEN
    texts: list[Text] = field(default_factory=list)
    unsubscribed: set[str] = field(default_factory=set)
    busy: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def settings(self, **more: Any) -> dict[str, Any]:
        """The body of ``PUT /api/v1/sms`` for this provider."""
        return {
            "api_url": self.url,
            "account_sid": self.account,
            "auth_token": self.token,
            "from_number": NUMBER,
            **more,
        }

    def wait_for(self, count: int, timeout: float = 20.0) -> list[Text]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.texts) >= count:
                    return list(self.texts)
            time.sleep(0.05)
        raise AssertionError(f"expected {count} texts, got {len(self.texts)}")

    # --- what the provider sends to Accord -------------------------------------------------

    def post(self, url: str, params: dict[str, str]) -> httpx.Response:
        """A signed callback, as the provider makes it."""
        items = list(params.items())
        signature = twilio_signature(self.token, url, items)
        return httpx.post(url, data=params, headers={"X-Twilio-Signature": signature})

    def receipt(self, text: Text, status: str, error: str | None = None) -> httpx.Response:
        assert text.status_callback, "the text was sent without a status callback"
        params = {
            "AccountSid": self.account,
            "MessageSid": text.sid,
            "SmsSid": text.sid,
            "MessageStatus": status,
            "SmsStatus": status,
            "To": text.to,
            "From": text.sender,
            "ApiVersion": "2010-04-01",
        }
        if error:
            params["ErrorCode"] = error
        return self.post(text.status_callback, params)

    def inbound(self, url: str, sender: str, body: str, **more: str) -> httpx.Response:
        sid = "SM" + uuid.uuid4().hex
        params = {
            "AccountSid": self.account,
            "MessageSid": sid,
            "SmsMessageSid": sid,
            "SmsSid": sid,
            "From": sender,
            "To": NUMBER,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
            "ApiVersion": "2010-04-01",
            **more,
        }
        return self.post(url, params)

    # --- the API ---------------------------------------------------------------------------

    def handle(self, path: str, auth: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if path != f"/2010-04-01/Accounts/{self.account}/Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found"}
        expected = base64.b64encode(f"{self.account}:{self.token}".encode()).decode()
        if auth != f"Basic {expected}":
            return 401, {"code": 20003, "message": "Authenticate", "status": 401}
        with self.lock:
            if self.busy > 0:
                self.busy -= 1
                return 429, {"code": 20429, "message": "Too Many Requests", "status": 429}
        to = form.get("To", "")
        if not E164.match(to):
            message = f"The 'To' number {to} is not a valid phone number."
            return 400, {"code": 21211, "message": message, "status": 400}
        if not form.get("Body"):
            return 400, {"code": 21602, "message": "Message body is required.", "status": 400}
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return 400, {"code": 21603, "message": "A 'From' phone number is required."}
        if to in self.unsubscribed:
            message = "Attempt to send to unsubscribed recipient"
            return 400, {"code": 21610, "message": message, "status": 400}
        text = Text(
            sid="SM" + uuid.uuid4().hex,
            to=to,
            sender=form.get("From", ""),
            body=form["Body"],
            status_callback=form.get("StatusCallback"),
            form=form,
        )
        with self.lock:
            self.texts.append(text)
        return 201, {
            "sid": text.sid,
            "account_sid": self.account,
            "to": to,
            "from": text.sender,
            "body": text.body,
            "status": "queued",
            "num_segments": "1",
            "direction": "outbound-api",
            "api_version": "2010-04-01",
            "error_code": None,
            "error_message": None,
        }


@contextmanager
def listening(provider: Provider) -> Iterator[Provider]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            form = dict(parse_qsl(self.rfile.read(length).decode()))
            status, body = provider.handle(self.path, self.headers.get("authorization", ""), form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", provider.port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def sms_provider() -> Iterator[Provider]:
    with listening(Provider(port=free_port())) as provider:
        yield provider
