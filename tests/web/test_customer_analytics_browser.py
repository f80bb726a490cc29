"""Customer analytics in a real browser (Debian's Chromium through Playwright): a shop's
two years of orders and conversations, scored once by the recompute job; every dashboard
opened (customer value, churn risk, personas, Pareto and cost to serve, cohorts), a
chart's data table opened and its CSV downloaded, a recompute started from the button
with its progress followed to the end, the riskiest customer's 360 with its Value & risk
card, and a segment on scores made in the builder. Screenshots land in test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from accord.analyze.scoring import queries, service, tasks
from accord.analyze.scoring.models import CustomerScore, ScoringRun
from accord.inbox.scoring_facts import ServiceHistory
from accord.kit.db import create_db_engine, create_session_factory, transaction
from accord.kit.time import utcnow
from tests.analyze.shop import seed_shop
from tests.helpers import PASSWORD
from tests.served import Served, served_workspace
from tests.web.test_browser import ARTIFACTS, browser  # noqa: F401 (Chromium)

pytestmark = pytest.mark.browser
ANALYST = "rui.analyst@alpine.test"
INPUTS = service.Inputs(
    service=ServiceHistory(), costs_of=lambda s, w: {"email": 4.0, "chat": 2.5, "phone": 6.0}
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("customer-analytics")
    with served_workspace(tmp, "Alpine Goods", {ANALYST: "analyst"}) as served:
        engine = create_db_engine(served.url)
        factory = create_session_factory(engine)
        ws = served.ws.workspace.id
        with transaction(factory) as session:
            seed_shop(session, ws, utcnow(), customers=400)
            run, _ = service.request(session, ws, "test")
            run_id = run.id
        tasks.recompute(factory, ws, run_id, inputs=INPUTS)
        with factory() as session:
            done = session.get(ScoringRun, run_id)
            assert done is not None
            assert done.status == "done", done.error
        engine.dispose()
        yield served


def _riskiest(s: Served) -> tuple[str, str]:
    engine = create_db_engine(s.url)
    with create_session_factory(engine)() as session:
        # The first customer to win back: as the last recompute ranked them.
        [row] = [r["score"] for r in queries.at_risk(session, s.ws.workspace.id, 1)]
        out = str(row.profile_id), str(row.persona_name)
    engine.dispose()
    return out


def _counts(s: Served) -> tuple[int, int]:
    """Champions, and customers with a churn risk of at least 50%."""
    engine = create_db_engine(s.url)
    ws = CustomerScore.workspace_id == s.ws.workspace.id
    with create_session_factory(engine)() as session:
        champions = session.scalar(
            select(func.count()).where(ws, CustomerScore.rfm_group == "champions")
        )
        risky = session.scalar(select(func.count()).where(ws, CustomerScore.churn_risk >= 0.5))
    engine.dispose()
    return int(champions or 0), int(risky or 0)


def _runs(s: Served) -> int:
    engine = create_db_engine(s.url)
    with create_session_factory(engine)() as session:
        n = session.scalar(select(func.count()).where(ScoringRun.workspace_id == s.ws.workspace.id))
    engine.dispose()
    return int(n or 0)


def _shot(page: Any, name: str) -> None:
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_customer_analytics_dashboards(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1360, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/analytics/customers")
    page.fill("#email", ANALYST)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")

    # Customer value.
    expect(page.locator("#nav-customer-analytics")).to_have_attribute("aria-current", "page")
    expect(page.locator("#tab-value")).to_have_attribute("aria-current", "page")
    expect(page.locator("#last-run")).to_contain_text("400 customers")
    expect(page.locator("#rfm-groups svg")).to_be_visible()
    expect(page.locator("#rfm-group-table")).to_contain_text("Champions")
    expect(page.locator("#rfm-grid svg")).to_be_visible()
    expect(page.locator("#holdout-words")).to_contain_text("repeat purchases over the next")
    expect(page.locator("#lifetime-holdout svg")).to_be_visible()
    expect(page.locator("#model-parameters")).to_contain_text("BG/NBD")
    expect(page.locator("#clv svg")).to_be_visible()
    # A chart's data table, then its CSV.
    table = page.locator("#rfm-groups .chart-table")
    expect(table).to_be_hidden()
    page.locator("#rfm-groups .chart-data > summary").click()
    expect(table).to_be_visible()
    expect(table).to_contain_text("Share of revenue")
    with page.expect_download() as download:
        page.locator("#rfm-groups [data-export=csv]").click()
    assert download.value.suggested_filename == "rfm-groups.csv"
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0] == "Category,Share of customers (%),Share of revenue (%)"
    assert any(line.startswith("Champions,") for line in lines)
    _shot(page, "customer-analytics-value.png")

    # Churn risk, and the riskiest customer's 360.
    page.locator("#tab-churn").click()
    expect(page.locator("#auc-words")).to_contain_text("ranks a churner above a stayer")
    expect(page.locator("#auc-words")).to_contain_text("recency alone")
    expect(page.locator("#churn-auc svg")).to_be_visible()
    expect(page.locator("#churn-calibration svg")).to_be_visible()
    rows = page.locator("#at-risk-table tbody tr")
    expect(rows).to_have_count(20)
    expect(rows.first.locator(".ca-why")).to_contain_text("Raised most by")
    _shot(page, "customer-analytics-churn.png")
    riskiest, persona = _riskiest(s)
    rows.first.locator("a").click()
    expect(page).to_have_url(f"{s.base}/customers/{riskiest}")
    card = page.locator("#value-risk")
    expect(card).to_contain_text("Churn risk")
    expect(card).to_contain_text("Raised most by")
    expect(card).to_contain_text(persona)
    expect(card).to_contain_text("Relationship value")
    card.screenshot(path=str(ARTIFACTS / "customer-analytics-360-card.png"))
    _shot(page, "customer-analytics-360.png")

    # Personas, Pareto and cost to serve, cohorts.
    page.goto(f"{s.base}/analytics/customers/personas")
    expect(page.locator("#persona-cards .persona").first).to_be_visible()
    expect(page.locator("#personas-chart svg")).to_be_visible()
    _shot(page, "customer-analytics-personas.png")
    page.locator("#tab-pareto").click()
    expect(page.locator("#pareto .chart-summary")).to_contain_text("The top 20% of the")
    expect(page.locator("#pareto svg")).to_be_visible()
    expect(page.locator("#value-cost-chart svg")).to_be_visible()
    expect(page.locator("#quadrants")).to_contain_text("Valuable and costly")
    _shot(page, "customer-analytics-pareto.png")
    page.locator("#tab-cohorts").click()
    expect(page.locator("#cohort-retention svg")).to_be_visible()
    expect(page.locator("#cohort-sizes svg")).to_be_visible()
    _shot(page, "customer-analytics-cohorts.png")

    # A recompute from the button: the progress shows, then the page reloads when done.
    runs = _runs(s)
    page.locator("#tab-value").click()
    # The value page has loaded before its button is pressed (else the click may land on
    # the cohorts page while it is being left, and the run be followed from neither).
    expect(page).to_have_url(f"{s.base}/analytics/customers")
    expect(page.locator("#tab-value")).to_have_attribute("aria-current", "page")
    page.locator("#recompute").click()
    expect(page).to_have_url(f"{s.base}/analytics/customers?started=new")
    seen = page.locator("#scoring-run, #run-done").first
    expect(seen).to_be_visible()
    if page.locator("#scoring-run").count():
        # The run may finish (and the page reload) at any moment: the whole page is
        # photographed, which does not need the progress card to still be attached.
        page.screenshot(path=str(ARTIFACTS / "customer-analytics-progress.png"))
    expect(page.locator("#run-done")).to_be_visible(timeout=120_000)  # a busy job engine
    expect(page.locator("#scoring-run")).to_have_count(0)
    expect(page.locator("#recompute")).to_be_enabled()
    assert _runs(s) == runs + 1
    _shot(page, "customer-analytics-recomputed.png")

    # A phone-width screen: the charts scroll sideways in their cards, nothing overlaps.
    small = browser.new_context(
        viewport={"width": 420, "height": 860}, storage_state=context.storage_state()
    )
    phone = small.new_page()
    phone.goto(f"{s.base}/analytics/customers")
    expect(phone.locator("#rfm-groups svg")).to_be_visible()
    _shot(phone, "customer-analytics-phone.png")
    small.close()
    context.close()


def test_a_segment_on_scores_in_the_builder(
    served: Served,
    browser: Any,  # noqa: F811
) -> None:
    from playwright.sync_api import expect

    s = served
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    page = context.new_page()
    page.goto(f"{s.base}/login?next=/segments/new")
    page.fill("#email", ANALYST)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.get_by_role("button", name="+ Condition").last.click()
    row = page.locator('.sg-cond[data-path="root.0"]')
    row.get_by_label("Condition", exact=True).select_option("score")
    score = row.get_by_label("Score", exact=True)
    expect(score).to_have_value("rfm_group")
    expect(score.locator("option[value=churn_risk]")).to_have_text("Churn risk (0 to 1)")
    group = row.get_by_label("Value", exact=True)
    expect(group.locator("option[value=champions]")).to_have_text("Champions")
    group.select_option("champions")
    champions, risky = _counts(s)
    assert champions
    assert risky
    assert champions != risky
    size = page.locator("#estimate-size")
    expect(size).to_have_text(f"{champions:,}")
    # Churn risk is a number compared.
    score.select_option("churn_risk")
    expect(row.get_by_label("Operator", exact=True)).to_have_value("gte")
    row.get_by_label("Value", exact=True).fill("0.5")
    expect(size).to_have_text(f"{risky:,}")
    page.locator("#json-view summary").click()
    assert '"field": "churn_risk"' in page.locator("#definition").input_value()
    _shot(page, "customer-analytics-segment-builder.png")
    context.close()
