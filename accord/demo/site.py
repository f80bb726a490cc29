"""The demo shop: a few pages of the fictional retailer with Accord's chat widget on
each, served by ``make demo`` under ``/demo`` (and, in the tests, as a site of its own on
another origin). It stands in for a customer's website."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from accord.kit.errors import not_found

PAGES = {
    "": "home",
    "tents": "tents",
    "checkout": "checkout",
    "account": "account",
    "contact": "contact",
}
DEMO_USER = "demo-jamie"
DEMO_EMAIL = "jamie.rivera@example.com"
PRODUCTS = [
    ("Ridgeline 2 tent", "249.00"),
    ("Summit 20 sleeping bag", "189.00"),
    ("Trailhead boots", "159.00"),
]


def site_router(
    write_key: Callable[[Request], str | None],
    *,
    prefix: str = "/demo",
    accord_base: str = "",
    user_hash: Callable[[Request, str], str | None] | None = None,
) -> APIRouter:
    """Pages of the demo shop; ``write_key(request)`` names the workspace it reports to and
    ``user_hash(request, value)``, like a real shop's server, vouches for its signed-in
    customer's user id and email."""
    router = APIRouter(prefix=prefix, include_in_schema=False)

    def render(request: Request, name: str) -> HTMLResponse:
        key = write_key(request)

        def vouch(value: str) -> str | None:
            return user_hash(request, value) if user_hash else None

        if key is None:
            raise not_found("Demo shop (run `accord demo` first)")
        templates = request.app.state.templates
        response: HTMLResponse = templates.TemplateResponse(
            request,
            "demo/site.html",
            {
                "page": PAGES[name],
                "title": PAGES[name].title(),
                "write_key": key,
                "accord_base": accord_base,
                "prefix": prefix,
                "products": PRODUCTS,
                "user_id": DEMO_USER,
                "user_email": DEMO_EMAIL,
                "user_hash": vouch(DEMO_USER) if name == "account" else None,
                "email_hash": vouch(DEMO_EMAIL) if name == "account" else None,
            },
        )
        return response

    @router.get("/")
    def home(request: Request) -> HTMLResponse:
        return render(request, "")

    @router.get("/{name}")
    def other(request: Request, name: str) -> HTMLResponse:
        if name not in PAGES:
            raise not_found("Page")
        return render(request, name)

    return router
