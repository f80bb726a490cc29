"""The demo retailer's help center: returns, sizing, shipping, care guides, repairs and
orders, published in English with a few answers in German, one internal answer for the
agents, and the synonyms its customers use."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.access.scopes import ALL_SCOPES
from accord.helpcenter import service
from accord.helpcenter.schemas import ArticleIn, CategoryIn, TranslationIn

SETTINGS = {
    "title": "Help center",
    "intro": "How can we help you get outside?",
    "locales": ["en", "de"],
    "default_locale": "en",
    "colour": "#1f5f8b",
    "synonyms": [
        "return, send back, exchange",
        "refund, money back",
        "parcel, package, delivery",
        "cancel, stop",
        "broken, damaged, faulty, defect, torn",
        "waterproof, water resistant, rain",
    ],
    "contact": "form",
}

CATEGORIES = [
    ("orders-and-shipping", {"en": "Orders and shipping", "de": "Bestellung und Versand"},
     "Delivery times, tracking and changing an order."),
    ("returns-and-refunds", {"en": "Returns and refunds", "de": "Rückgabe und Erstattung"},
     "Sending something back, exchanges and refunds."),
    ("sizing", {"en": "Sizing and fit", "de": "Größen und Passform"},
     "Finding the right size for boots, jackets and packs."),
    ("care-and-repair", {"en": "Care and repair", "de": "Pflege und Reparatur"},
     "Keeping your gear working for years."),
]  # fmt: skip

# (category, slug, title, summary, body, German (title, body) or None, internal)
ARTICLES: list[tuple[str, str, str, str, str, tuple[str, str] | None, bool]] = [
    (
        "orders-and-shipping",
        "shipping-times-and-costs",
        "Shipping times and costs",
        "Standard delivery takes 2-4 business days and is free over $50.",
        "## Standard\n\nStandard shipping takes **2 to 4 business days** and is free on orders "
        "over $50 (otherwise $5.95).\n\n## Express\n\nOrdered before 2 pm, express delivery "
        "arrives the next business day ($14.95).\n\n| Service | Time | Cost |\n|---|---|---|\n"
        "| Standard | 2-4 business days | free over $50, else $5.95 |\n"
        "| Express | next business day | $14.95 |\n\nYou get a tracking number by email as "
        "soon as your parcel leaves our warehouse.",
        (
            "Lieferzeiten und Versandkosten",
            "Der Standardversand dauert **2 bis 4 Werktage** und ist ab 50 $ kostenlos. "
            "Expressbestellungen vor 14 Uhr kommen am nächsten Werktag an.",
        ),
        False,
    ),
    (
        "orders-and-shipping",
        "track-your-order",
        "Tracking your order",
        "Follow your parcel with the link in your shipping email.",
        "Open the shipping confirmation email and select **Track parcel**. Tracking starts "
        "a few hours after the label is printed. If it has not moved for 3 business days, "
        "contact us and we will ask the carrier.",
        None,
        False,
    ),
    (
        "orders-and-shipping",
        "change-or-cancel-an-order",
        "Changing or cancelling an order",
        "Orders can be changed or cancelled within one hour.",
        "Within **one hour** of placing an order you can change the delivery address or cancel "
        "it from *My account > Orders*. After that it is being packed: you can refuse the "
        "parcel or send it back for a refund.",
        None,
        False,
    ),
    (
        "returns-and-refunds",
        "returns-policy",
        "Returns and exchanges",
        "Return unworn items within 30 days; exchanges ship free.",
        "## How to return an item\n\n1. Sign in and open *My account > Orders*.\n2. Choose "
        "the items and a reason, then print the prepaid label.\n3. Pack the items in their "
        "original packaging and drop the parcel at any post office.\n\nUnworn items can be "
        "returned within **30 days** of delivery. Boots worn outdoors cannot be returned, "
        "but our warranty covers defects.\n\n## Exchanges\n\nChoose *Exchange* instead of "
        "*Return* and we ship the new size as soon as the return is scanned, free of charge.",
        (
            "Rückgabe und Umtausch",
            "Ungetragene Artikel können innerhalb von **30 Tagen** zurückgegeben werden. Drucken "
            "Sie das kostenlose Rücksendeetikett in Ihrem Konto aus.",
        ),
        False,
    ),
    (
        "returns-and-refunds",
        "refunds",
        "When will I get my refund?",
        "Refunds reach your original payment method within 5 business days.",
        "We refund the original payment method within **5 business days** after your return "
        "reaches our warehouse. Card refunds can take another 2-3 days to show on your "
        "statement. Faulty items are refunded in full, shipping included.",
        None,
        False,
    ),
    (
        "sizing",
        "boot-size-guide",
        "Boot size guide",
        "Our boots run true to size; go half a size up for thick socks.",
        "Measure your foot in the evening, standing, with the socks you hike in. Our boots run "
        "**true to size**. Between sizes, choose the larger one for hiking boots and the "
        "smaller one for approach shoes.\n\n| EU | US men | US women | Foot length |\n"
        "|---|---|---|---|\n| 40 | 7 | 8.5 | 25.0 cm |\n| 41 | 8 | 9.5 | 25.7 cm |\n"
        "| 42 | 8.5 | 10 | 26.3 cm |\n| 43 | 9.5 | 11 | 27.0 cm |\n| 44 | 10 | 11.5 | 27.7 cm |",
        (
            "Größentabelle für Schuhe",
            "Unsere Schuhe fallen **normal** aus. Zwischen zwei Größen wählen Sie bei "
            "Wanderschuhen die größere.",
        ),
        False,
    ),
    (
        "sizing",
        "jacket-size-guide",
        "Jacket size guide",
        "Jackets are cut for layering: measure your chest.",
        "Measure around the fullest part of your chest with a light layer on and compare it "
        "with the chart on the product page. Shells are cut to fit over a fleece; if you wear "
        "them only over a T-shirt, choose one size down.",
        None,
        False,
    ),
    (
        "care-and-repair",
        "waterproof-jacket-care",
        "Caring for waterproof jackets",
        "Wash and reproof your shell to keep it dry.",
        "## Washing\n\nWash on a gentle 30 °C cycle with a technical cleaner, never with "
        "fabric softener, and rinse twice.\n\n## Reproofing\n\nTumble dry on low heat for 20 "
        "minutes to reactivate the water-repellent finish. When water stops beading on the "
        "surface, spray on a reproofer and dry again.",
        (
            "Pflege von wasserdichten Jacken",
            "Mit Spezialwaschmittel bei 30 °C waschen, ohne Weichspüler. Danach bei niedriger "
            "Temperatur trocknen, um die Imprägnierung zu reaktivieren.",
        ),
        False,
    ),
    (
        "care-and-repair",
        "tent-repair",
        "Repairing a torn tent",
        "Patch small tears yourself; larger damage is covered by our repair service.",
        "Clean and dry the area, then apply a repair patch on both sides of the fabric and "
        "seal the edges with seam sealer. A snapped pole can be splinted with the repair "
        "sleeve that comes with every tent. For larger tears, send the tent to our repair "
        "service: we quote before we repair.",
        None,
        False,
    ),
    (
        "care-and-repair",
        "lifetime-warranty",
        "Our lifetime warranty",
        "Defects in materials and workmanship are covered for as long as you own the product.",
        "We repair or replace any product with a manufacturing defect, for as long as you own "
        "it. Normal wear, accidents and misuse are not covered, but we repair them at cost. "
        "Start a claim from *My account > Orders* or write to us with a photo.",
        None,
        False,
    ),
    (
        "returns-and-refunds",
        "refund-overrides",
        "Refund overrides (agents)",
        "When an agent may refund outside the policy.",
        "Agents may refund up to **$150** outside the 30-day window for a customer with a "
        "lifetime value above $1,000. Above that, ask a team lead. Always note the reason on "
        "the conversation.",
        None,
        True,
    ),
]


def ensure_helpcenter(session: Session, workspace_id: uuid.UUID) -> int:
    """Publish the demo help center's articles that do not exist yet; returns how many."""
    actor = Principal(
        workspace_id=workspace_id, kind="cli", label="demo", scopes=frozenset(map(str, ALL_SCOPES))
    )
    existing = {view.article.slug for view in service.list_articles(session, workspace_id)}
    if not existing:
        service.save_settings(session, workspace_id, SETTINGS, actor=actor)
    categories = {c.slug: c.id for c in service.categories(session, workspace_id)}
    for position, (slug, names, description) in enumerate(CATEGORIES):
        if slug not in categories:
            made = service.create_category(
                session,
                actor,
                CategoryIn(
                    slug=slug, names=names, descriptions={"en": description}, position=position
                ),
            )
            categories[slug] = made.id
    count = 0
    for position, (category, slug, title, summary, body, german, internal) in enumerate(ARTICLES):
        if slug in existing:
            continue
        view = service.create_article(
            session,
            actor,
            ArticleIn(
                title=title,
                summary=summary,
                body=body,
                slug=slug,
                locale="en",
                category_id=categories[category],
                visibility="internal" if internal else "public",
                status="published",
            ),
        )
        view.article.position = position
        if german is not None:
            service.save_translation(
                session,
                actor,
                view.article.id,
                "de",
                TranslationIn(title=german[0], body=german[1]),
            )
            service.set_status(session, actor, view.article.id, "de", "published")
        count += 1
    return count
