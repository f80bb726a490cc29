"""Security headers on every response Accord serves.

Pages get a Content-Security-Policy: scripts only from Accord itself (or an inline script
carrying this response's nonce, ``request.state.csp_nonce``), no framing by other sites
(clickjacking), no plugins, forms posting only to Accord. The demo shop, a stand-in for a
customer's own website, is left to its own devices. Every response also says
``nosniff`` and sends the referrer only to Accord itself."""

from __future__ import annotations

import secrets

from starlette.types import ASGIApp, Message, Receive, Scope, Send

POLICY = (
    "default-src 'self'; "
    "script-src 'self' 'nonce-{nonce}'; "
    "style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; "
    "font-src 'self' data:; "
    "connect-src 'self' ws: wss:; "
    "worker-src 'self' blob:; "
    "object-src 'none'; "
    "base-uri 'self'; "
    "form-action 'self'; "
    "frame-ancestors 'none'"
)
# Paths that are not Accord's own pages (the demo shop plays a customer's website).
OWN_POLICY_EXEMPT = ("/demo",)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        exempt = scope["path"].startswith(OWN_POLICY_EXEMPT)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                extra = [
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                ]
                if not exempt:
                    extra += [
                        (b"content-security-policy", POLICY.format(nonce=nonce).encode()),
                        (b"x-frame-options", b"DENY"),
                    ]
                headers += [(k, v) for k, v in extra if k not in names]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
