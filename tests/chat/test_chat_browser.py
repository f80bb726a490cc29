"""Live chat in real browsers (Debian's Chromium through Playwright): a shop served by the
suite on its own origin carries the widget; a visitor browses, lingers on the checkout,
gets the proactive invitation, chats and sends a file; an agent in a second browser
context sees the visitor's pages and cart, replies (typing and read receipts both ways),
and the conversation sits in the inbox with the visitor's profile; the visitor comes back
and sees the history. The offline path ends in an email on a real SMTP listener.
Screenshots land in test-artifacts/."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from accord.app import create_app
from accord.chat import identity
from accord.chat.models import ChatVisitor
from accord.chat.repository import TriggerRepository
from accord.config import Settings
from accord.demo.site import site_router
from accord.govern.access.models import User
from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.kit.db import create_db_engine, create_session_factory
from accord.web.templating import create_templates
from tests.conftest import new_database
from tests.helpers import add_user, live_server, provision
from tests.inbox.conftest import Sink
from tests.served import log_in
from tests.web.test_browser import ARTIFACTS

pytestmark = pytest.mark.browser
AGENT = "maya.lopez@shop.test"
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360f8cfc0f01f0005000201a5ec0b1b0000000049454e44ae426082"
)


@dataclass
class Served:
    accord: str
    site: str
    ws: ProvisionedWorkspace
    agent_id: str
    sink: Sink
    # What the shop's server knows to vouch for its signed-in customer (identity secret).
    secrets: dict[str, str]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    from aiosmtpd.controller import Controller

    from tests.helpers import free_port

    tmp = tmp_path_factory.mktemp("chat-browser")
    sink = Sink(port=free_port())
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port)
    controller.start()
    with new_database("sqlite", tmp) as url:
        engine = create_db_engine(url)
        factory = create_session_factory(engine)
        with factory() as session:
            ws = provision(session, "Trail Shop")
            add_user(session, ws, AGENT, role="admin")
            agent_id = str(session.scalars(select(User.id).where(User.email == AGENT)).one())
            session.commit()
        settings = Settings(
            data_dir=tmp / "data",
            database_url=url,
            secret_key="browser-chat-" + "k" * 32,
            resolve_worker=False,
            resolve_inline=True,
            outbox_worker=True,
            imap_poll_seconds=0,
        )
        with live_server(create_app(settings)) as accord:
            shop = FastAPI()
            shop.state.templates = create_templates()
            secrets: dict[str, str] = {}

            def vouch(_: Any, user_id: str) -> str | None:
                secret = secrets.get("identity")
                return identity.user_hash(secret, user_id) if secret else None

            shop.include_router(
                site_router(lambda _: ws.write_key, prefix="", accord_base=accord, user_hash=vouch)
            )
            with live_server(shop) as site:
                yield Served(accord, site, ws, agent_id, sink, secrets)
        engine.dispose()
    controller.stop()


def api(s: Served, method: str, path: str, **kwargs: Any) -> httpx.Response:
    headers = {"Authorization": f"Bearer {s.ws.api_token}"}
    return httpx.request(method, f"{s.accord}{path}", headers=headers, timeout=20, **kwargs)


def wait_for_cart(s: Served, value: float) -> None:
    """Until a visitor on the site has this cart (the widget reported it)."""
    for _ in range(100):
        visitors = api(s, "GET", "/api/v1/chat/visitors").json()["data"]
        if any(float(v["cart_value"]) == value for v in visitors):
            return
        time.sleep(0.1)
    raise AssertionError(f"no visitor with a cart of {value}")


def sign_in(page: Any, base: str, next_path: str) -> None:
    log_in(page, base, AGENT, next_path)


def test_proactive_chat_agent_reply_and_return_visit(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    r = api(
        s,
        "POST",
        "/api/v1/chat/triggers",
        json={
            "name": "Checkout help",
            "event": "time_on_page",
            "event_value": "3",
            "conditions": [
                {"fact": "url", "op": "glob", "value": "*/checkout*"},
                {"fact": "cart_value", "op": ">=", "value": 100},
            ],
            "action": {
                "kind": "message",
                "author": "Maya from Support",
                "body": "Need a hand with checkout? I'm here.",
            },
        },
    )
    assert r.status_code == 201, r.text
    trigger_id = r.json()["id"]

    # The visitor browses the shop (another origin) and signs in.
    visitor = browser.new_context(viewport={"width": 1280, "height": 800})
    vp = visitor.new_page()
    vp.goto(f"{s.site}/")
    expect(vp.locator(".launch")).to_be_visible()
    vp.goto(f"{s.site}/tents")
    vp.click("#add-to-cart")
    wait_for_cart(s, 249)  # the widget is connected on this page before the visitor moves on
    vp.goto(f"{s.site}/account")
    expect(vp.locator(".launch")).to_be_visible()
    vp.click("#sign-in")
    vp.wait_for_timeout(500)
    # No invitation on a page that is not the checkout.
    vp.goto(f"{s.site}/checkout")
    teaser = vp.locator(".teaser")
    expect(teaser).to_contain_text("Need a hand with checkout?", timeout=15_000)
    expect(teaser).to_contain_text("Maya from Support")
    vp.screenshot(path=str(ARTIFACTS / "chat-proactive-invitation.png"))

    teaser.click()
    expect(vp.locator(".panel")).to_be_visible()
    expect(vp.locator(".compose textarea")).to_be_focused()
    vp.keyboard.type("Is the Ridgeline waterproof?")
    vp.keyboard.press("Enter")
    log = vp.locator(".log")
    expect(log.locator(".m.in")).to_contain_text("Is the Ridgeline waterproof?")
    vp.set_input_files(
        ".file", files=[{"name": "my-cart.png", "mimeType": "image/png", "buffer": PNG}]
    )
    expect(log).to_contain_text("my-cart.png")

    # The agent, in a second browser context, sees the visitor on the checkout.
    agent = browser.new_context(viewport={"width": 1360, "height": 900})
    ap = agent.new_page()
    sign_in(ap, s.accord, "/inbox/visitors")
    row = ap.locator("#visitors tbody tr", has_text="Jamie Rivera")
    expect(row).to_contain_text("/checkout")
    expect(row).to_contain_text("249.00")
    expect(row).to_contain_text("customer")
    ap.screenshot(path=str(ARTIFACTS / "chat-live-visitors.png"), full_page=True)
    row.locator("text=open chat").click()
    panel = ap.locator("#chat-panel")
    expect(panel).to_contain_text("249.00")
    expect(panel).to_contain_text("Checkout")
    expect(panel.locator("#visitor-pages")).to_contain_text("Tents")
    # Even the home page, left as soon as it loaded (told once the widget connected).
    expect(panel.locator("#visitor-pages")).to_contain_text("Home")
    thread = ap.locator("#messages")
    expect(thread).to_contain_text("Need a hand with checkout?")
    expect(thread).to_contain_text("Is the Ridgeline waterproof?")
    expect(thread).to_contain_text("my-cart.png")
    sidebar = ap.locator("#customer-sidebar")
    expect(sidebar).to_contain_text("Jamie Rivera")
    expect(sidebar).to_contain_text("jamie.rivera@example.com")

    # Typing, both ways (once the console's live stream is open).
    ap.wait_for_function("window.accordEvents && window.accordEvents.readyState === 1")
    vp.locator(".compose textarea").fill("And the floor?")
    expect(ap.locator("#chat-typing")).to_contain_text("typing", timeout=10_000)
    ap.fill("#reply-body", "Yes: 3,000 mm on the fly and the floor.")
    expect(vp.locator(".typing")).to_contain_text("is typing", timeout=10_000)
    expect(ap.locator("#reply-channel")).to_have_value("chat")
    ap.click("#send-button")
    expect(log.locator(".m.out").last).to_contain_text("3,000 mm", timeout=10_000)
    # The agent has the conversation open: the visitor sees their message was read.
    expect(vp.locator(".seen")).to_be_visible(timeout=10_000)
    vp.screenshot(path=str(ARTIFACTS / "chat-widget-conversation.png"))
    ap.screenshot(path=str(ARTIFACTS / "chat-agent-conversation.png"), full_page=True)

    # The conversation sits in the inbox, on the chat channel.
    ap.goto(f"{s.accord}/inbox?view=all&channel=chat")
    expect(ap.locator("#conversations")).to_contain_text("Jamie Rivera")

    # The visitor comes back later: the history is there.
    vp.close()
    again = visitor.new_page()
    again.goto(f"{s.site}/")
    again.click(".launch")
    log = again.locator(".log")
    expect(log).to_contain_text("Is the Ridgeline waterproof?")
    expect(log).to_contain_text("3,000 mm")
    expect(log).to_contain_text("Need a hand with checkout?")
    again.screenshot(path=str(ARTIFACTS / "chat-return-visit.png"))
    # Keyboard: Escape closes the panel and gives focus back to the launcher.
    again.keyboard.press("Escape")
    expect(again.locator(".panel")).to_be_hidden()
    expect(again.locator(".launch")).to_be_focused()

    report = api(s, "GET", f"/api/v1/chat/triggers/{trigger_id}/report").json()
    assert report["shown"] == 1
    assert report["accepted"] == 1
    # The trigger and its report in Settings > Chat.
    ap.goto(f"{s.accord}/settings/chat")
    row = ap.locator(".triggers tr", has_text="Checkout help")
    expect(row).to_contain_text("time on page 3 s")
    expect(row).to_contain_text("glob */checkout*")
    ap.screenshot(path=str(ARTIFACTS / "chat-settings-triggers.png"), full_page=True)
    visitor.close()
    agent.close()


def test_offline_message_is_answered_by_email(served: Served, browser: Any) -> None:
    from playwright.sync_api import expect

    s = served
    r = api(
        s,
        "PUT",
        "/api/v1/mailbox",
        json={
            "address": "help@trailshop.example.com",
            "relay": {"host": "127.0.0.1", "port": s.sink.port, "security": "none"},
        },
    )
    assert r.status_code == 200, r.text
    r = api(s, "PUT", f"/api/v1/agents/{s.agent_id}", json={"available": False})
    assert r.status_code == 200, r.text
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 800})
        vp = context.new_page()
        vp.goto(f"{s.site}/tents")
        vp.click(".launch")
        form = vp.locator("form.off")
        expect(form).to_be_visible()
        expect(vp.locator(".compose")).to_be_hidden()
        form.locator("input[name=name]").fill("Robin Okafor")
        form.locator("input[name=email]").fill("robin.okafor@example.com")
        form.locator("textarea[name=message]").fill("Do you ship the tent to Canada?")
        vp.screenshot(path=str(ARTIFACTS / "chat-offline-form.png"))
        form.locator("button[type=submit]").click()
        expect(vp.locator(".log")).to_contain_text("answer by email")
    finally:
        api(s, "PUT", f"/api/v1/agents/{s.agent_id}", json={"available": True})

    found = api(s, "GET", "/api/v1/conversations", params={"view": "all", "q": "Robin"}).json()
    [conversation] = found["data"]
    assert "offline" in conversation["tags"]
    agent = browser.new_context(viewport={"width": 1360, "height": 900})
    ap = agent.new_page()
    sign_in(ap, s.accord, f"/inbox/{conversation['number']}")
    expect(ap.locator("#reply-channel")).to_have_value("email")
    # Robin only typed who she is: the agent is told before sharing anything.
    expect(ap.locator("#unverified-notice")).to_contain_text("Identity not verified")
    expect(ap.locator("#chat-panel .visitor-identity")).to_contain_text(
        "not verified says Robin Okafor · robin.okafor@example.com"
    )
    expect(ap.locator("#messages .badge.unverified")).to_have_text("not verified")
    ap.screenshot(path=str(ARTIFACTS / "chat-unverified.png"))
    ap.fill("#reply-body", "Yes, we ship to Canada in 5-7 days.")
    ap.click("#send-button")
    expect(ap.locator("#messages")).to_contain_text("we ship to Canada")
    [email] = s.sink.wait_for(1)
    assert email["To"] == "robin.okafor@example.com"
    assert "we ship to Canada" in email.get_body().get_content()  # type: ignore[union-attr]
    agent.close()
    context.close()


def test_the_demo_shop_carries_the_widget(
    tmp_path_factory: pytest.TempPathFactory, browser: Any
) -> None:
    """What `make demo` serves at /demo: the shop's pages with the widget, reporting to
    the demo workspace, whose checkout trigger invites the visitor."""
    from playwright.sync_api import expect

    from accord.demo import service as demo_service
    from accord.demo.chat import DEMO_TRIGGERS, ensure_triggers
    from accord.kit.db import transaction

    tmp = tmp_path_factory.mktemp("demo-shop")
    with new_database("sqlite", tmp) as url:
        engine = create_db_engine(url)
        factory = create_session_factory(engine)
        with transaction(factory) as session:
            info = demo_service.ensure_demo(session, {})
            workspace_id = uuid.UUID(info.workspace_id)
            assert ensure_triggers(session, workspace_id) == len(DEMO_TRIGGERS)
        with transaction(factory) as session:
            assert ensure_triggers(session, workspace_id) == 0
            # A short linger, so the test need not wait for the demo's 15 seconds.
            [checkout] = [
                t
                for t in TriggerRepository.from_session(session).all(workspace_id)
                if t.name == "Checkout help"
            ]
            checkout.event_value = "2"
            checkout.holdout_percent = 0  # the demo holds out 10% of visitors at random
        settings = Settings(
            data_dir=tmp / "data",
            database_url=url,
            resolve_worker=False,
            resolve_inline=True,
            outbox_worker=False,
            imap_poll_seconds=0,
            demo_site=True,
        )
        with live_server(create_app(settings)) as base:
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            page = context.new_page()
            page.goto(f"{base}/demo/")
            expect(page.locator("h1")).to_contain_text("Gear for every trail")
            page.goto(f"{base}/demo/tents")
            page.click("#add-to-cart")
            # The cart reaches Accord before the visitor moves on to the checkout.
            for _ in range(100):
                with factory() as session:
                    carts = session.scalars(select(ChatVisitor.cart_value)).all()
                if carts and max(carts) >= 100:
                    break
                time.sleep(0.1)
            page.goto(f"{base}/demo/checkout")
            expect(page.locator(".teaser")).to_contain_text("Need a hand", timeout=15_000)
            page.screenshot(path=str(ARTIFACTS / "demo-shop-invitation.png"))
            page.click(".launch")
            expect(page.locator(".panel")).to_be_visible()
            expect(page.locator(".log")).to_contain_text("Maya from Support")
            # Paying empties the cart: the total goes to nothing and cannot be paid twice.
            expect(page.locator("#cart-total")).to_have_text("Total: $249.00")
            page.click("#pay")
            expect(page.locator("#paid")).to_be_visible()
            expect(page.locator("#cart-total")).to_have_text("Total: $0.00")
            expect(page.locator("#pay")).to_be_disabled()
            page.reload()
            expect(page.locator("#cart-lines")).to_contain_text("Your cart is empty")
            page.screenshot(path=str(ARTIFACTS / "demo-shop-paid.png"))
            context.close()
        engine.dispose()


def test_a_verified_customer_continues_their_conversation_on_chat(
    served: Served, browser: Any
) -> None:
    """The admin turns identity verification on; the shop's server vouches for its
    signed-in customer, whose chat then joins the conversation she began by email."""
    from playwright.sync_api import expect

    s = served
    r = api(
        s,
        "POST",
        "/api/v1/messages",
        json={
            "channel": "email",
            "contact": {"email": "jamie.rivera@example.com", "name": "Jamie Rivera"},
            "subject": "Tent pole cracked",
            "body": "One pole of my Ridgeline 2 cracked on the first night.",
        },
    )
    assert r.status_code == 201, r.text
    number = r.json()["conversation"]["number"]
    agent = browser.new_context(viewport={"width": 1360, "height": 900})
    ap = agent.new_page()
    sign_in(ap, s.accord, "/settings/chat")
    card = ap.locator("#identity")
    expect(card).to_contain_text("off")
    card.get_by_role("button", name="Turn on: generate a secret").click()
    secret = ap.locator("#identity-secret")
    expect(secret).to_contain_text("cis_")
    ap.locator("#identity").scroll_into_view_if_needed()
    ap.screenshot(path=str(ARTIFACTS / "chat-identity-settings.png"))
    s.secrets["identity"] = secret.inner_text().strip()
    assert ap.url.endswith("/settings/chat#identity")  # a reload reads, it does not rotate
    ap.reload()
    expect(ap.locator("#identity-secret")).to_have_count(0)
    expect(card).to_contain_text("Rotate secret")
    try:
        visitor = browser.new_context(viewport={"width": 1280, "height": 800})
        vp = visitor.new_page()
        vp.goto(f"{s.site}/account")
        expect(vp.locator(".launch")).to_be_visible()
        vp.click("#sign-in")
        vp.click(".launch")
        vp.fill(".compose textarea", "About my cracked tent pole: can you send a new one?")
        vp.keyboard.press("Enter")
        expect(vp.locator(".log")).to_contain_text("cracked tent pole")
        ap.goto(f"{s.accord}/inbox/{number}")
        thread = ap.locator("#messages")
        expect(thread).to_contain_text("cracked on the first night")  # by email
        expect(thread).to_contain_text("can you send a new one?")  # on chat, same issue
        expect(ap.locator("#unverified-notice")).to_have_count(0)
        panel = ap.locator("#chat-panel .chat-visitor", has_text="Account")
        expect(panel.locator(".visitor-identity")).to_contain_text("verified demo-jamie")
        mine = thread.locator("li", has_text="can you send a new one?")
        expect(mine.locator(".badge.unverified")).to_have_count(0)
        ap.screenshot(path=str(ARTIFACTS / "chat-verified-continues.png"))
        visitor.close()
    finally:
        s.secrets.clear()
        api(s, "DELETE", "/api/v1/chat/identity/secret")
    agent.close()
