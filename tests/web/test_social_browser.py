"""Social in a real browser (Debian's Chromium through Playwright): a workspace listening
for its brand, seeded through the public API (the listening rules, a customer known by
her Bluesky handle, a webhook source and signed posts: an influencer's complaint, praise,
a question, spam, a competitor's mention, the customer's post, another negative post
and older ones); then the dashboard's figures, alerts and charts with their tables, the
queue in order with its reasons and the overdue one marked, decisions taken from the
stream and the card replaced in place, "load more", Settings > Social (rules saved, a bad
language code refused beside its field, sources added, a failing one saying why), a
mention's conversation with its post card and a direct-message reply, and the Customer
360's Social mentions card, on a desk and at phone width. Screenshots land in
test-artifacts/."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.time import utcnow
from accord.social.models import Mention, SocialSource
from tests.helpers import bearer
from tests.served import Served, served_workspace, signed_in
from tests.web.social_seed import CUSTOMER_HANDLE, Seeded, push, seed
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ADMIN = "ada.admin@acme.test"
AGENT = "agnes.agent@acme.test"
PHONE = {"width": 390, "height": 844}


class Social:
    def __init__(self, served: Served, seeded: Seeded) -> None:
        self.served = served
        self.seeded = seeded
        self.base = served.base

    def update(self, handle: str, **values: Any) -> None:
        """Change a mention behind the app (what only time would do)."""
        engine = create_db_engine(self.served.url)
        with transaction(create_session_factory(engine)) as session:
            row = session.scalars(select(Mention).where(Mention.author_handle == handle)).one()
            for key, value in values.items():
                setattr(row, key, value(row) if callable(value) else value)
        engine.dispose()

    def source(self, name: str, **values: Any) -> None:
        engine = create_db_engine(self.served.url)
        with transaction(create_session_factory(engine)) as session:
            row = session.scalars(select(SocialSource).where(SocialSource.name == name)).one()
            for key, value in values.items():
                setattr(row, key, value)
        engine.dispose()


@pytest.fixture(scope="module")
def social(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Social]:
    tmp = tmp_path_factory.mktemp("social")
    users = {ADMIN: "admin", AGENT: "agent"}
    # No job consumer: a source added in the test is not fetched from the internet.
    with served_workspace(tmp, "Acme Outdoor", users, jobs_worker=False) as served:
        with httpx.Client(base_url=served.base, timeout=30) as client:
            seeded = seed(client, bearer(served.ws.api_token), served.ws.write_key, utcnow())
        out = Social(served, seeded)
        # The influencer's complaint is past its deadline; the question was answered in
        # twelve minutes.
        now = utcnow()
        out.update("maria.bsky.social", respond_by=now - timedelta(minutes=20))
        out.update(
            "kai.bsky.social",
            state="answered",
            first_response_at=lambda m: m.received_at + timedelta(minutes=12),
        )
        yield out


def _shot(page: Any, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def _card(page: Any, handle: str) -> Any:
    return page.locator("article.sx-card", has=page.locator(f"text={handle}")).first


def test_the_dashboard_shows_figures_alerts_and_charts_with_their_tables(
    social: Social,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    ARTIFACTS.mkdir(exist_ok=True)
    page = signed_in(browser, social.base, AGENT, "/social")
    expect(page.locator("#nav-social")).to_have_attribute("aria-current", "page")
    expect(page.locator("#tab-dashboard")).to_have_attribute("aria-current", "page")
    expect(page.locator("#window-30")).to_have_attribute("aria-current", "true")
    # A burst of negative posts in the last hour: the alerts say so.
    alerts = page.locator("#social-alerts")
    expect(alerts).to_be_visible()
    expect(alerts).to_contain_text("are negative")
    # Headline figures.
    expect(page.locator("#figure-mentions .value")).to_have_text("14")
    expect(page.locator("#figure-overdue .value")).to_have_text("1")
    expect(page.locator("#figure-overdue")).to_have_class("figure sx-warn")
    expect(page.locator("#figure-median .value")).to_have_text("12 min")
    expect(page.locator("#figure-rate .sx-figure-note")).to_contain_text("1 answered of")
    negative = page.locator("#figure-negative .value").inner_text()
    assert negative.endswith("%")
    assert int(negative[:-1]) > 0
    # The charts, each with its data table.
    for key in ("volume", "sentiment-score", "share-of-voice", "networks"):
        expect(page.locator(f"#{key} svg")).to_be_visible()
        expect(page.locator(f"#{key}")).not_to_have_class("chart chart-empty")
    volume = page.locator("#volume .chart-table")
    expect(volume).to_be_hidden()
    page.locator("#volume .chart-data > summary").click()
    expect(volume).to_be_visible()
    expect(volume.locator("thead")).to_contain_text("Negative")
    expect(page.locator("#volume svg rect[fill^='url(#volume-p1)']").first).to_be_visible()
    page.locator("#share-of-voice .chart-data > summary").click()
    expect(page.locator("#share-of-voice .chart-table")).to_contain_text("Your brand")
    expect(page.locator("#share-of-voice .chart-table")).to_contain_text("Globex")
    expect(page.locator("#networks svg")).to_contain_text("Bluesky")
    # Top authors: a known customer links to her 360; topics.
    rae = page.locator("#authors-table tr", has=page.locator("text=Rae Lin"))
    expect(rae.locator("a.sx-author-link")).to_have_attribute("href", re.compile(r"^/customers/"))
    expect(page.locator("#topics-list")).to_contain_text("#globex")
    expect(page.locator("#pressing .sx-pressing-row").first).to_contain_text("Maria Reyes")
    expect(page.locator("#pressing .sx-pressing-row.overdue").first).to_contain_text("Overdue")
    _shot(page, "social-dashboard.png")
    # Another window.
    page.click("#window-7")
    expect(page.locator("#window-7")).to_have_attribute("aria-current", "true")
    assert "days=7" in page.url
    expect(page.locator("#figure-mentions .sx-figure-note")).to_have_text("in 7 days")
    # At phone width: the menu folds, the figures two by two, nothing wider than the page.
    page.set_viewport_size(PHONE)
    page.goto(f"{social.base}/social")
    expect(page.locator(".menu-button")).to_be_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    _shot(page, "social-dashboard-phone.png")
    page.context.close()


def test_the_queue_puts_the_most_pressing_first_with_its_reason(
    social: Social,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = signed_in(browser, social.base, AGENT, "/social/queue")
    expect(page.locator("#tab-queue")).to_have_attribute("aria-current", "page")
    cards = page.locator("#queue article.sx-card")
    expect(cards.first).to_be_visible()
    handles = [
        h.removeprefix("@")
        for h in cards.evaluate_all(
            "cards => cards.map(c => c.querySelector('.sx-who .muted')?.textContent"
            " || c.querySelector('.sx-who strong').textContent)"
        )
    ]
    # Overdue first, then the valuable customer (high priority, one hour), then the rest.
    assert handles[:2] == ["maria.bsky.social", CUSTOMER_HANDLE], handles
    assert "kai.bsky.social" not in handles  # answered
    assert "deals4u.bsky.social" not in handles  # spam
    maria = cards.first
    expect(maria).to_have_class("sx-card sx-d-respond sx-overdue")
    expect(maria.locator(".sx-deadline")).to_contain_text("Overdue by")
    expect(maria.locator(".sx-reason")).to_contain_text("from an influencer with 48k followers")
    expect(maria.locator(".sx-intent.sx-i-complaint q")).to_have_text("arrived broken")
    expect(maria.locator(".sx-sent")).to_contain_text("negative")
    expect(maria.locator(".sx-followers")).to_have_text("48.2k followers")
    expect(maria.locator("a.sx-open-conversation")).to_be_visible()
    rae = cards.nth(1)
    expect(rae.locator(".sx-reason")).to_contain_text(
        "from a customer with USD 2,400 lifetime value"
    )
    expect(rae.locator(".sx-customer")).to_contain_text("USD 2,400 lifetime value")
    expect(rae.locator(".sx-deadline")).to_contain_text("Respond by")
    expect(page.locator("#queue-summary")).to_contain_text("1 overdue")
    _shot(page, "social-queue.png")
    page.set_viewport_size(PHONE)
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    _shot(page, "social-queue-phone.png")
    page.context.close()


def test_decisions_from_the_stream_replace_the_card_in_place(
    social: Social,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = signed_in(browser, social.base, AGENT, "/social/mentions")
    expect(page.locator("#tab-mentions")).to_have_attribute("aria-current", "page")
    expect(page.locator("#stream article.sx-card")).to_have_count(14)
    expect(page.locator("#load-more")).to_have_count(0)
    # A filter chosen submits itself.
    page.select_option("#filter-sentiment", "negative")
    expect(page.locator("#clear-filters")).to_be_visible()
    assert "sentiment=negative" in page.url
    for sentiment in page.locator("#stream .sx-sent").all_inner_texts():
        assert sentiment.startswith("negative"), sentiment
    page.click("#clear-filters")
    expect(page.locator("#stream article.sx-card")).to_have_count(14)
    url = page.url

    # The negative post to watch: dismissed, with a reason, in place.
    watch = _card(page, "sol.bsky.social")
    watch.locator("input[name=reason]").fill("Just venting, nothing to fix")
    watch.locator("button[data-action=dismiss]").click()
    decided = page.locator("article.sx-card[data-decision=dismiss]", has_text="sol.bsky.social")
    expect(decided.locator(".sx-notice")).to_have_text("Dismissed: nothing to answer.")
    expect(decided.locator(".sx-reason")).to_contain_text(
        f"Dismiss, decided by {AGENT}: Just venting, nothing to fix"
    )
    expect(decided.locator("button[data-action=dismiss]")).to_have_attribute("aria-pressed", "true")
    assert page.url == url  # no navigation
    expect(page.locator("#stream article.sx-card")).to_have_count(14)
    # Joe's praise, dismissed by triage: answered after all.
    joe = _card(page, "joe.bsky.social")
    expect(joe).to_have_attribute("data-decision", "dismiss")
    joe.locator("button[data-action=respond]").click()
    joe = page.locator("article.sx-card[data-decision=respond]", has_text="joe.bsky.social")
    expect(joe.locator(".sx-notice")).to_contain_text("Moved to respond")
    expect(joe.locator("a.sx-open-conversation")).to_be_visible()
    expect(joe.locator(".sx-deadline")).to_contain_text("Respond by")
    decided.scroll_into_view_if_needed()
    decided.screenshot(path=str(ARTIFACTS / "social-decided-card.png"))
    _shot(page, "social-stream.png")

    # Thirty more posts: the first page, then "load more".
    now = utcnow()
    push(
        httpx.Client(base_url=social.base, timeout=30),
        social.seeded.source,
        [
            {
                "network": "mastodon",
                "id": f"https://fedi.example/@hiker{i}/{i}",
                "text": f"Took my Acme trail boots up the ridge, day {i}",
                "posted_at": (now - timedelta(days=8, minutes=i)).isoformat(),
                "author": f"hiker{i}@fedi.example",
                "followers": 100 + i,
            }
            for i in range(30)
        ],
    )
    page.goto(f"{social.base}/social/mentions")
    expect(page.locator("#stream article.sx-card")).to_have_count(25)
    page.click("#load-more")
    expect(page.locator("#stream article.sx-card")).to_have_count(44)
    expect(page.locator("#load-more")).to_have_count(0)
    ids = page.locator("#stream article.sx-card").evaluate_all("cards => cards.map(c => c.id)")
    assert len(set(ids)) == 44
    page.context.close()


def test_settings_save_the_rules_refuse_a_bad_language_and_add_sources(
    social: Social,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = signed_in(browser, social.base, ADMIN, "/social")
    page.click("#social-settings-link")
    expect(page.locator("#settings-tab-social")).to_have_class("tab active")
    expect(page.locator("#brands")).to_have_value("Acme")
    expect(page.locator("#competitors-0-name")).to_have_value("Globex")
    # A language code that is none: refused beside its field, what was typed kept.
    page.fill("#brands", "Acme\nAcme Outdoor")
    page.fill("#languages", "en, english!")
    page.fill("#competitors-1-name", "Initech")
    page.fill("#competitors-1-terms", "#initech")
    page.fill("#sla-urgent", "15")
    page.click("#save-listening")
    error = page.locator("#languages-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("'english!' is not a language code")
    expect(page.locator("#languages")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#languages")).to_have_value("en, english!")
    expect(page.locator("#competitors-1-name")).to_have_value("Initech")
    expect(page.locator("#social-error")).to_contain_text("Not saved")
    page.locator("#listening").screenshot(path=str(ARTIFACTS / "social-settings-error.png"))
    page.fill("#languages", "en, es")
    page.click("#save-listening")
    expect(page.locator("#social-saved")).to_contain_text("Saved")
    page.reload()
    expect(page.locator("#brands")).to_have_value("Acme\nAcme Outdoor")
    expect(page.locator("#languages")).to_have_value("en, es")
    expect(page.locator("#competitors-1-terms")).to_have_value("#initech")
    expect(page.locator("#sla-urgent")).to_have_value("15")

    # A feed: only its own fields show once chosen.
    expect(page.locator("#fields-bluesky")).to_be_visible()
    expect(page.locator("#fields-rss")).to_be_hidden()
    page.select_option("#source-kind", "rss")
    expect(page.locator("#fields-rss")).to_be_visible()
    expect(page.locator("#fields-bluesky")).to_be_hidden()
    page.fill("#source-name", "Review site")
    page.fill("#rss-url", "ftp://reviews.example/feed")
    page.click("#add-source")
    expect(page.locator("#src-rss-url-error")).to_contain_text("is not an http or https address")
    expect(page.locator("#fields-rss")).to_be_visible()
    page.fill("#rss-url", "https://reviews.example/feed.xml")
    page.fill("#rss-keywords", "acme, trail boots")
    page.click("#add-source")
    expect(page.locator("#source-notice")).to_contain_text("Review site")
    row = page.locator("#sources-table tr[data-name='Review site']")
    expect(row).to_contain_text("Feed: https://reviews.example/feed.xml")
    expect(row.locator(".sx-status")).to_have_text("ok")
    # Bluesky with an app password: never shown back.
    page.select_option("#source-kind", "bluesky")
    page.fill("#source-name", "Bluesky search")
    page.fill("#bluesky-handle", "acme.bsky.social")
    page.fill("#bluesky-app_password", "abcd-efgh-ijkl-mnop")
    page.click("#add-source")
    bluesky = page.locator("#sources-table tr[data-name='Bluesky search']")
    expect(bluesky).to_contain_text("Credentials stored")
    assert "abcd-efgh" not in page.content()
    # A webhook: its address and secret once.
    page.select_option("#source-kind", "webhook")
    page.fill("#source-name", "Brand monitor")
    page.click("#add-source")
    expect(page.locator("#webhook-created")).to_be_visible()
    secret = page.locator("#created-secret").input_value()
    assert secret.startswith("whsec_")
    expect(page.locator("#created-url")).to_have_value(re.compile(r"/v1/social/.+/webhook/"))
    page.locator("#webhook-created").screenshot(path=str(ARTIFACTS / "social-webhook-once.png"))
    page.reload()
    expect(page.locator("#webhook-created")).to_have_count(0)
    assert secret not in page.content()
    # A feed that fails says why; turned off, it says so.
    social.source(
        "Review site", status="failing", last_error="The feed answered 404 Not Found", failures=3
    )
    page.reload()
    row = page.locator("#sources-table tr[data-name='Review site']")
    expect(row.locator(".sx-status")).to_have_text("failing")
    expect(row.locator(".sx-last-error")).to_have_text("The feed answered 404 Not Found")
    bluesky = page.locator("#sources-table tr[data-name='Bluesky search']")
    bluesky.locator("button", has_text="Turn off").click()
    expect(page.locator("#sources-table tr[data-name='Bluesky search'] .sx-status")).to_have_text(
        "off"
    )
    _shot(page, "social-settings.png")
    page.set_viewport_size(PHONE)
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width
    page.locator("#sources").screenshot(path=str(ARTIFACTS / "social-sources-phone.png"))
    page.context.close()


def test_a_mentions_conversation_shows_the_post_and_replies_by_direct_message(
    social: Social,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    page = signed_in(browser, social.base, AGENT, "/social/queue")
    _card(page, "maria.bsky.social").locator("a.sx-open-conversation").click()
    card = page.locator("#social-post")
    expect(card).to_be_visible()
    expect(card).to_contain_text("Maria Reyes")
    expect(card).to_contain_text("Bluesky")
    expect(page.locator("#social-post-reach")).to_contain_text("48.2k followers")
    expect(page.locator("#social-post-reach")).to_contain_text("influence")
    expect(card.locator(".sx-sent")).to_contain_text("negative")
    expect(page.locator("#social-post-triage")).to_contain_text("respond")
    expect(page.locator("#social-post-triage")).to_contain_text("from an influencer")
    expect(page.locator("#social-post-link")).to_have_attribute(
        "href", "https://bsky.app/profile/maria.bsky.social/post/c1"
    )
    # The reply goes back on Bluesky: its limit counted, as a direct message if asked.
    channel = page.locator("#reply-channel")
    expect(channel).to_have_value("social")
    expect(channel.locator("option[value=social]")).to_contain_text("Social reply on Bluesky")
    expect(page.locator("#social-reply-options")).to_be_visible()
    count = page.locator("#social-reply-count")
    page.fill("#reply-body", "x" * 310)
    expect(count).to_contain_text("310 / 300 characters · too long for Bluesky")
    expect(count).to_have_class("sx-reply-count over")
    page.fill(
        "#reply-body", "Maria, we are so sorry. A new pair is on its way today, refund included."
    )
    expect(count).to_contain_text("/ 300 characters")
    expect(count).not_to_have_class("sx-reply-count over")
    page.check("#reply-private")
    _shot(page, "social-conversation.png")
    page.click("#send-button")
    sent = page.locator("#messages li.dir-out").last
    expect(sent).to_contain_text("A new pair is on its way")
    expect(sent.locator(".social-how")).to_have_text("direct message")
    page.locator("#thread").screenshot(path=str(ARTIFACTS / "social-conversation-thread.png"))
    # Choosing an internal note hides the social options.
    page.locator("input[name=kind][value=note]").check()
    expect(page.locator("#social-reply-options")).to_be_hidden()
    page.context.close()


def test_the_customer_360_lists_the_persons_mentions(
    social: Social,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    engine = create_db_engine(social.served.url)
    with create_session_factory(engine)() as session:
        profile_id = session.scalars(
            select(Mention.profile_id).where(Mention.author_handle == CUSTOMER_HANDLE)
        ).one()
    engine.dispose()
    assert isinstance(profile_id, uuid.UUID)
    page = signed_in(browser, social.base, AGENT, f"/customers/{profile_id}")
    expect(page.locator("#customer-name")).to_have_text("Rae Lin")
    card = page.locator("#customer-social")
    expect(card).to_be_visible()
    item = card.locator("li").first
    expect(item).to_contain_text("charged twice")
    expect(item.locator(".sx-net")).to_have_text("Bluesky")
    expect(item.locator(".sx-sent")).to_have_text(re.compile("^(positive|neutral|negative)$"))
    expect(item.locator(".sx-decision")).to_have_text("respond")
    card.screenshot(path=str(ARTIFACTS / "social-customer-card.png"))
    item.locator("a", has_text="Conversation").click()
    expect(page.locator("#social-post")).to_contain_text("Rae Lin")
    page.context.close()
