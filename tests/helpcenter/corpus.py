"""A small help center of an outdoor retailer, for search and page tests: each article
is written the way a support team writes, the questions the way customers ask."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.helpers import bearer

ARTICLES: list[dict[str, Any]] = [
    {
        "slug": "returns-and-refunds",
        "title": "Returns and refunds",
        "summary": "Return unworn items within 30 days for a full refund.",
        "body": "## How to return an item\n\nYou can return unworn items within **30 days** "
        "of delivery. Print the prepaid label from your account, pack the item in its "
        "original packaging and drop it at any post office.\n\n## Refunds\n\nWe refund "
        "the original payment method within 5 business days after the return arrives. "
        "Damaged or faulty items are refunded in full, including shipping.",
    },
    {
        "slug": "size-guide",
        "title": "Size guide for boots and jackets",
        "summary": "Find the right size before you order.",
        "body": "Our boots run true to size; if you are between sizes, choose the larger "
        "one for hiking with thick socks. Jackets are cut for layering: measure your "
        "chest and compare it with the size chart on each product page.",
    },
    {
        "slug": "shipping-times",
        "title": "Shipping times and costs",
        "summary": "Standard delivery takes 2-4 business days.",
        "body": "Standard shipping takes 2 to 4 business days and is free over $50. "
        "Express delivery arrives the next business day when ordered before 2 pm. "
        "You get a tracking number by email as soon as your order leaves the warehouse.",
    },
    {
        "slug": "waterproofing-care",
        "title": "Caring for waterproof jackets",
        "summary": "Wash and reproof your shell to keep it dry.",
        "body": "Wash the jacket on a gentle cycle with a technical cleaner, never with "
        "fabric softener. Tumble dry on low heat to reactivate the water-repellent "
        "finish, and reproof it with a spray when water stops beading.",
    },
    {
        "slug": "tent-repair",
        "title": "Repairing a torn tent",
        "summary": "Patch small tears yourself; larger damage is covered by the warranty.",
        "body": "Clean the area, apply a repair patch on both sides of the fabric and "
        "seal the edges. Poles that snapped can be splinted with the repair sleeve "
        "included with every tent.",
    },
    {
        "slug": "warranty",
        "title": "Our lifetime warranty",
        "summary": "Defects in materials and workmanship are covered for life.",
        "body": "We repair or replace any product with a manufacturing defect, for as "
        "long as you own it. Normal wear and accidents are not covered, but we offer "
        "repairs at cost.",
    },
    {
        "slug": "payment-methods",
        "title": "Payment methods",
        "summary": "Cards, PayPal and gift cards.",
        "body": "We accept Visa, Mastercard, American Express, PayPal and our gift "
        "cards. Your card is charged when the order ships.",
    },
    {
        "slug": "change-or-cancel-order",
        "title": "Changing or cancelling an order",
        "summary": "Orders can be changed within one hour.",
        "body": "Within one hour of placing it you can change the address or cancel "
        "the order from your account. After that it is packed: refuse the parcel or "
        "send it back for a refund.",
    },
]


def publish_corpus(client: TestClient, token: str, *, locale: str = "en") -> dict[str, str]:
    """Publish every article; returns slug -> article id."""
    ids = {}
    for article in ARTICLES:
        r = client.post(
            "/api/v1/help/articles",
            headers=bearer(token),
            json={**article, "locale": locale, "status": "published"},
        )
        assert r.status_code == 201, r.text
        ids[article["slug"]] = r.json()["id"]
    return ids
