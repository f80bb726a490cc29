"""Search on both databases over a small fixed help center: customers' questions, worded
their way, find the article written our way in the top three (stemming, typos, the
workspace's synonyms); searches are recorded, the ones that found nothing too."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.govern.workspaces.service import ProvisionedWorkspace
from accord.helpcenter.models import HelpSearch
from accord.helpcenter.query import Vocabulary, analyse
from tests.helpcenter.corpus import publish_corpus
from tests.helpers import bearer

SYNONYMS = [
    "parcel, package, delivery",
    "cancel, stop",
    "broken, damaged, faulty, defect",
    "return, send back",
    "refund, money back",
]

# A question, as a customer types it -> the article that answers it.
QUESTIONS = [
    ("how do I send back boots that don't fit", "returns-and-refunds"),
    ("when do I get my money back", "returns-and-refunds"),
    ("refunding a damaged item", "returns-and-refunds"),
    ("which size should I order for hiking boots", "size-guide"),
    ("how long until my package arrives", "shipping-times"),
    ("is delivery free", "shipping-times"),
    ("my rain jacket is not waterproof anymore", "waterproofing-care"),
    ("washing a shell jacket", "waterproofing-care"),
    ("hole in my tent", "tent-repair"),
    ("broken tent pole", "tent-repair"),
    ("is my product guaranteed for life", "warranty"),
    ("can I pay with paypal", "payment-methods"),
    ("stop my order", "change-or-cancel-order"),
    # Typed wrong: one letter off, two letters swapped.
    ("shiping costs", "shipping-times"),
    ("retrun policy", "returns-and-refunds"),
    ("waranty", "warranty"),
]


@pytest.fixture
def center(client: TestClient, workspace: ProvisionedWorkspace) -> ProvisionedWorkspace:
    r = client.put(
        "/api/v1/help/settings", headers=bearer(workspace.api_token), json={"synonyms": SYNONYMS}
    )
    assert r.status_code == 200, r.text
    publish_corpus(client, workspace.api_token)
    return workspace


def test_questions_worded_differently_find_their_article_in_the_top_three(
    client: TestClient, center: ProvisionedWorkspace
) -> None:
    missed = []
    for question, expected in QUESTIONS:
        r = client.get(f"/api/v1/help/search?q={question}", headers=bearer(center.api_token))
        assert r.status_code == 200, r.text
        top = [hit["slug"] for hit in r.json()["results"][:3]]
        if expected not in top:
            missed.append((question, expected, top))
    assert missed == [], "\n".join(map(str, missed))


def test_a_typo_is_read_as_the_article_word_and_said_so(
    client: TestClient, center: ProvisionedWorkspace
) -> None:
    page = client.get(f"/help/{center.workspace.slug}/search?q=shiping")
    assert page.status_code == 200
    assert 'id="corrected"' in page.text
    assert "<strong>shipping</strong>" in page.text
    assert "Shipping times and costs" in page.text


def test_instant_results_match_the_word_being_typed(
    client: TestClient, center: ProvisionedWorkspace
) -> None:
    r = client.get(f"/help/{center.workspace.slug}/search.json?q=waterpr")
    assert r.status_code == 200
    titles = [hit["title"] for hit in r.json()["results"]]
    assert titles[0] == "Caring for waterproof jackets"


def test_searches_are_recorded_and_those_that_found_nothing_too(
    client: TestClient, session: Session, center: ProvisionedWorkspace
) -> None:
    slug = center.workspace.slug
    assert client.get(f"/help/{slug}/search?q=Quantum  teleporter?").status_code == 200
    page = client.get(f"/help/{slug}/search?q=return policy")
    assert page.status_code == 200
    # Instant results while typing are not recorded.
    assert client.get(f"/help/{slug}/search.json?q=retu").status_code == 200
    rows = list(
        session.scalars(
            select(HelpSearch)
            .where(HelpSearch.workspace_id == center.workspace.id)
            .order_by(HelpSearch.at)
        )
    )
    assert [(r.normalized, r.results > 0, r.source) for r in rows] == [
        ("quantum teleporter", False, "center"),
        ("return policy", True, "center"),
    ]
    assert 'id="no-results"' in client.get(f"/help/{slug}/search?q=quantum teleporter").text


def test_typo_correction_keeps_the_word_typed_and_prefers_the_common_word() -> None:
    vocabulary = Vocabulary({"shipping": 40, "shopping": 2, "return": 30, "returns": 12})
    query = analyse("shiping retrun xyzzy", vocabulary)
    terms = {c.word: c.terms() for c in query.concepts}
    assert terms["shiping"] == ["shiping", "shipping"]
    assert terms["retrun"][0] == "retrun"
    assert terms["retrun"][1] in ("return", "returns")
    assert terms["xyzzy"] == ["xyzzy"]  # nothing close: searched as typed
    assert query.corrected["shiping"] == "shipping"


def test_a_word_being_typed_is_a_prefix_from_its_third_letter() -> None:
    """One or two letters of the word being typed would ask for every word they begin:
    the question is what was typed before them; from three letters they are a prefix."""
    assert [c.word for c in analyse("broken tent p", typing=True).concepts] == ["broken", "tent"]
    assert [c.word for c in analyse("broken tent po", typing=True).concepts] == ["broken", "tent"]
    pol = analyse("broken tent pol", typing=True).concepts
    assert [(c.word, c.prefix) for c in pol] == [("broken", False), ("tent", False), ("pol", True)]
    # Alone, a fragment is kept as it is (exact), and a finished word is no prefix.
    assert [(c.word, c.prefix) for c in analyse("po", typing=True).concepts] == [("po", False)]
    assert not analyse("broken tent pole ", typing=True).concepts[-1].prefix
