"""Walks every route of the app: each one refuses a missing or wrong credential, a write
key cannot use the API, and only an explicit list of routes is public."""

from __future__ import annotations

import re
import uuid

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Mount

from accord.govern.workspaces.service import ProvisionedWorkspace
from tests.helpers import bearer, iter_routes

PUBLIC = {
    ("GET", "/health"),
    ("GET", "/login"),
    ("POST", "/login"),
    # A forgotten password: the form that asks for a link, and the page the link opens
    # (which refuses a token that is wrong, used or expired).
    ("GET", "/login/forgot"),
    ("POST", "/login/forgot"),
    ("GET", "/login/reset"),
    ("POST", "/login/reset"),
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("OPTIONS", "/v1/{path:path}"),  # CORS preflight of the tracking API
    # The customer's satisfaction survey: reached by a signed link, refused without it.
    ("GET", "/csat/{conversation_id}"),
    ("POST", "/csat/{conversation_id}"),
    # The customer's consent pages, reached by signed links (403 without a good one): the
    # preference center, unsubscribe (also a mailbox provider's one-click POST) and the
    # confirmation of a double opt-in.
    ("GET", "/preferences/{token}"),
    ("POST", "/preferences/{token}"),
    ("GET", "/unsubscribe/{token}"),
    ("POST", "/unsubscribe/{token}"),
    ("GET", "/consent/confirm/{token}"),
    ("POST", "/consent/confirm/{token}"),
    # The demo shop: a stand-in for a customer's website, with the chat widget and the
    # demo workspace's (public) write key; served only with ACCORD_DEMO_SITE, and not
    # found until `accord demo` has run.
    ("GET", "/demo/"),
    ("GET", "/demo/{name}"),
    # A campaign's short link (printed as a QR code, read out on the radio): anyone may
    # follow it; it records the click and redirects, and an unknown code is a 404.
    ("GET", "/l/{code}"),
    # A campaign email's tracked link and open pixel: the signed token is the key.
    ("GET", "/r/{token}"),
    ("GET", "/o/{token}"),
    # The public help center of a workspace (turned off in its settings: a 404); only
    # public, published articles are shown or found there.
    ("GET", "/help/{slug}"),
    ("GET", "/help/{slug}/categories/{category}"),
    ("GET", "/help/{slug}/articles/{article}"),
    ("GET", "/help/{slug}/search"),
    ("GET", "/help/{slug}/search.json"),
    ("GET", "/help/{slug}/sitemap.xml"),
    ("GET", "/help/{slug}/assets/{asset_id}/{filename}"),
    # A reader's feedback and question: rate-limited per address; a question becomes a
    # web-form conversation like any contact form.
    ("POST", "/help/{slug}/articles/{article}/vote"),
    ("POST", "/help/{slug}/reads/{read_id}"),
    ("GET", "/help/{slug}/contact"),
    ("POST", "/help/{slug}/contact"),
    # The help center's community: anyone reads; asking, answering, voting, accepting,
    # editing and reporting need a member's session (and its CSRF token), else 401. A
    # sign-in link is asked for by email (limited per address and email), used once from
    # the page it opens, or the site signs its customer in with an HMAC of the email.
    ("GET", "/help/{slug}/community"),
    ("GET", "/help/{slug}/community/questions/{question_id}"),
    ("GET", "/help/{slug}/community/members/{member_id}"),
    ("GET", "/help/{slug}/community/ask"),
    ("POST", "/help/{slug}/community/ask"),
    ("POST", "/help/{slug}/community/questions/{question_id}/answers"),
    ("GET", "/help/{slug}/community/{kind}/{post_id}/edit"),
    ("POST", "/help/{slug}/community/{kind}/{post_id}/edit"),
    ("POST", "/help/{slug}/community/{kind}/{post_id}/vote"),
    ("POST", "/help/{slug}/community/answers/{answer_id}/accept"),
    ("POST", "/help/{slug}/community/{kind}/{post_id}/report"),
    ("GET", "/help/{slug}/community/sign-in"),
    ("POST", "/help/{slug}/community/sign-in"),
    ("GET", "/help/{slug}/community/sign-in/link"),
    ("POST", "/help/{slug}/community/sign-in/link"),
    ("POST", "/help/{slug}/community/sign-in/site"),
    ("POST", "/help/{slug}/community/sign-out"),
}
PUBLIC_MOUNTS = {"/static"}


def routes(app: FastAPI) -> list[tuple[str, str]]:
    out = []
    for path, methods, route in iter_routes(app):
        if isinstance(route, Mount):
            assert path in PUBLIC_MOUNTS, f"unexpected mount {path}"
            continue
        for method in sorted(methods - {"HEAD"}):
            out.append((method, path))
    return out


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", str(uuid.uuid4()), path)


PROTECTED_PREFIXES = (
    "/api/v1/",
    "/v1/",  # write keys (and, for the chat, a visitor token)
    "/settings",
    "/customers",
    "/inbox",
    "/social",  # Social: listening dashboard, triage queue, mentions
    "/analytics",  # Analytics > Acquisition too (/analytics/acquisition)
    "/segments",
    "/outreach",  # Outreach > Campaigns (/outreach/campaigns)
    "/knowledge",
    "/privacy",
    "/workspace/",
    "/logout",
    "/account",
    "/attachments/",
)


def test_every_route_is_known_public_or_protected(app: FastAPI) -> None:
    all_routes = routes(app)
    assert len(all_routes) > 20
    for method, path in all_routes:
        if (method, path) in PUBLIC:
            continue
        assert path == "/" or path.startswith(PROTECTED_PREFIXES), (method, path)


@pytest.mark.parametrize("credential", ["none", "wrong", "write_key"])
def test_protected_routes_refuse_bad_credentials(
    app: FastAPI, client: TestClient, workspace: ProvisionedWorkspace, credential: str
) -> None:
    headers = {
        "none": {},
        "wrong": bearer("acc_" + "x" * 40),
        "write_key": bearer(workspace.write_key),
    }[credential]
    checked = 0
    for method, path in routes(app):
        if (method, path) in PUBLIC:
            continue
        response = client.request(method, concrete(path), headers=headers, follow_redirects=False)
        checked += 1
        if path.startswith("/v1/"):
            # The tracking API takes write keys (and only them).
            if credential == "write_key":
                continue
            assert response.status_code == 401, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        elif path.startswith("/api/"):
            expected = 403 if credential == "write_key" else 401
            assert response.status_code == expected, (method, path, response.text)
            assert response.headers["content-type"].startswith("application/problem+json")
        else:
            # Console pages: no valid session -> redirect to sign-in, never the page itself.
            assert response.status_code == 303, (method, path, response.status_code)
            assert response.headers["location"].startswith("/login")
    assert checked > 15


def test_api_routes_each_declare_a_scope(app: FastAPI) -> None:
    """Every API route depends on a scope check, so none can be reached by any token."""
    checked = 0
    for path, _, route in iter_routes(app):
        if path.startswith("/api/"):
            assert isinstance(route, APIRoute), path
            names = {d.call.__name__ for d in route.dependant.dependencies if d.call}
            assert any(n.startswith("require_") for n in names), path
            checked += 1
    assert checked >= 10
