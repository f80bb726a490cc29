"""What a post wants: each intent, urgent subtype and spam signal on hand-written posts,
in English and with the common cues of Spanish, French, German and Portuguese."""

from __future__ import annotations

import pytest

from accord.social.intent import KINDS, Intent, intents
from accord.social.sentiment import Sentiment, analyse


def kinds(text: str) -> set[str]:
    return {i.kind for i in intents(text)}


def one(text: str, kind: str) -> Intent:
    found = [i for i in intents(text) if i.kind == kind]
    assert found, f"no {kind} in {text!r}: {intents(text)}"
    return found[0]


def test_a_neutral_factual_post_wants_nothing() -> None:
    assert intents("Acme opens a new store in Leeds on Monday.") == []
    assert intents("") == []


def test_every_intent_is_well_formed() -> None:
    text = (
        "My Acme charger caught fire!! Worst product ever, I'm calling my lawyer and "
        "switching to Globex. How do I get a refund?"
    )
    found = intents(text)
    assert {i.kind for i in found} >= {"urgent", "complaint", "churn_threat", "question"}
    for i in found:
        assert i.kind in KINDS
        assert 0.0 <= i.confidence <= 1.0
        assert i.cue
        assert (i.subtype is not None) == (i.kind == "urgent")
    # Most urgent first.
    assert found[0].kind == "urgent"


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("The app doesn't work since the update", "doesn't work"),
        ("Still waiting for my order after three weeks", "still waiting"),
        ("Worst delivery company in the country", "worst"),
        ("You charged twice for the same order", "charged twice"),
        ("My parcel never arrived", "never arrived"),
    ],
)
def test_complaint_cues(text: str, cue: str) -> None:
    complaint = one(text, "complaint")
    assert complaint.cue == cue
    assert complaint.confidence >= 0.7


def test_negative_sentiment_alone_is_a_complaint_with_its_words_as_cue() -> None:
    complaint = one("the new checkout is awful and slow 😡", "complaint")
    assert "awful" in complaint.cue or "😡" in complaint.cue


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("How do I change my delivery address", "how do i"),
        ("Does anyone know if Acme ships to Canada", "does anyone know"),
        ("Is there a way to export my invoices", "is there a way"),
        ("Can I pay with PayPal", "can i"),
    ],
)
def test_question_openers(text: str, cue: str) -> None:
    assert one(text, "question").cue == cue
    assert one(text + "?", "question").confidence > one(text, "question").confidence


def test_a_question_mark_is_a_question_and_a_mid_sentence_can_is_not() -> None:
    assert one("Acme, your new plan costs what?", "question").cue == "?"
    assert "question" not in kinds("I think you can do better, Acme.")
    assert "question" in kinds("¿Cómo puedo cambiar mi contraseña")


@pytest.mark.parametrize(
    "text",
    [
        "Thank you so much @acme, support fixed it in minutes!",
        "I highly recommend Acme to anyone",
        "Love this app ❤️",
        "Great support from the Acme team today",
    ],
)
def test_praise(text: str) -> None:
    praise = one(text, "praise")
    assert praise.confidence >= 0.6
    assert "complaint" not in kinds(text)


def test_thanks_that_are_not_praise() -> None:
    assert "praise" not in kinds("Thanks for nothing, Acme. Useless.")
    assert "complaint" in kinds("Thanks for nothing, Acme. Useless.")
    assert "praise" not in kinds("thanks in advance, how can I export my data?")
    assert "praise" not in kinds("I can't recommend Acme, it broke in a week")


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("Thinking of buying the Acme X2 this weekend", "thinking of buying"),
        ("Where can I buy the X2 in Lisbon", "where can i buy"),
        ("Should I get the X2 or the X3", "should i get"),
        ("Any discount for students on the X2", "any discount"),
        ("What's the price of the X2 in Europe", "price of"),
    ],
)
def test_purchase_intent(text: str, cue: str) -> None:
    assert one(text, "purchase_intent").cue == cue


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("That's it, I'm switching to Globex", "switching to"),
        ("Going to cancel my subscription tomorrow", "cancel my subscription"),
        ("I'm going to leave Acme after this", "going to leave"),
        ("Never buying again from Acme", "never buying again"),
    ],
)
def test_churn_threat(text: str, cue: str) -> None:
    churn = one(text, "churn_threat")
    assert churn.cue == cue
    assert churn.confidence >= 0.85


def test_moving_to_a_named_competitor() -> None:
    assert one("Useless again. Moving to Globex.", "churn_threat").cue == "Moving to Globex"
    # A move to a place is no threat, unless the name is a known competitor.
    assert "churn_threat" not in kinds("Moving to Berlin next month, any tips?")
    sure = intents("moving to globex next month", competitors=frozenset({"globex"}))
    assert [i.confidence for i in sure if i.kind == "churn_threat"] == [0.95]


@pytest.mark.parametrize(
    ("text", "subtype", "cue"),
    [
        ("My Acme charger caught fire last night", "safety", "caught fire"),
        ("There is smoke coming out of the X2", "safety", "smoke"),
        ("My son was injured by the blender blade", "safety", "was injured by"),
        ("The heater burned my hand", "safety", "burned my"),
        ("My kid was choking on a piece of the toy", "safety", "choking"),
        ("Had an allergic reaction to the new formula", "safety", "allergic reaction"),
        ("I'm calling my lawyer", "legal", "lawyer"),
        ("I'll sue you over this", "legal", "sue you"),
        ("This deserves a class action lawsuit", "legal", "class action"),
        ("I'll report you to consumer protection", "legal", "report you to"),
        ("Filing a GDPR complaint today", "legal", "gdpr complaint"),
        ("Acme is down for me", "outage", "is down"),
        ("The dashboard is not loading at all", "outage", "not loading"),
        ("Another outage this morning", "outage", "outage"),
        ("I can't log in since 8am", "outage", "can't log in"),
        ("Getting a 500 error on checkout", "outage", "500 error"),
    ],
)
def test_urgent_subtypes(text: str, subtype: str, cue: str) -> None:
    urgent = [i for i in intents(text) if i.kind == "urgent"]
    assert [(i.subtype, i.cue) for i in urgent] == [(subtype, cue)]
    assert urgent[0].confidence >= 0.6


@pytest.mark.parametrize(
    "text",
    [
        "DM me for the best crypto signals, earn $500 a day",
        "Follow back for a free giveaway! https://a.example https://b.example",
        "Huge sale on followers #free #followers #giveaway #win #promo https://x.example",
        "🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥🔥 click the link 🔥🔥🔥",
        "Earn $ from home with my passive income course, link in bio",
    ],
)
def test_spam(text: str) -> None:
    spam = one(text, "spam")
    assert spam.confidence >= 0.6
    assert "praise" not in kinds(text) or spam.confidence < 0.8


def test_spam_needs_more_than_one_weak_signal() -> None:
    assert "spam" not in kinds("I bought crypto with the Acme card and it was declined")
    assert "spam" not in kinds("NOOOOOO my order is late again!!!")
    assert "spam" not in kinds("Read the update: https://acme.example/blog #release")
    flood = one("WIN WIN WIN!!!!!!!!!!!!!! 🎁🎁🎁🎁🎁🎁🎁🎁🎁🎁🎁🎁 giveaway", "spam")
    assert "repeated" in flood.cue


def test_a_negated_cue_counts_for_less() -> None:
    assert "urgent" not in kinds("Luckily nobody was hurt, not injured, just scared")
    assert "urgent" not in kinds("There was no smoke at all")
    assert "urgent" in kinds("There was smoke everywhere")


def test_a_capitalised_cue_inside_a_sentence_reads_as_a_name() -> None:
    assert "urgent" not in kinds("Great goal from Eden Hazard tonight")
    assert "urgent" in kinds("Fire hazard: the charger gets hot")
    assert one("This heater is a hazard", "urgent").subtype == "safety"


def test_a_post_can_want_several_things() -> None:
    found = kinds("Is the app down again? I can't log in and I'm thinking of switching to Globex")
    assert found >= {"urgent", "question", "churn_threat"}


def test_the_sentiment_given_is_used() -> None:
    text = "the checkout page"
    assert "complaint" not in kinds(text)
    sour = Sentiment("negative", -0.8, 0.0, 0.7, 0.3, (("awful", -2.5),))
    complaint = [i for i in intents(text, sour) if i.kind == "complaint"]
    assert complaint
    assert complaint[0].cue == "awful"
    assert intents("great support", analyse("great support")) == intents("great support")


@pytest.mark.parametrize(
    ("text", "kind", "subtype"),
    [
        # Spanish
        ("La app no funciona desde ayer", "complaint", None),
        ("¿Dónde comprar el X2 en Madrid?", "purchase_intent", None),
        ("Voy a darme de baja, me cambio a Globex", "churn_threat", None),
        ("El cargador se incendió", "urgent", "safety"),
        ("Hablaré con mi abogado", "urgent", "legal"),
        ("Muchas gracias por la ayuda", "praise", None),
        # French
        ("L'appli ne marche pas", "complaint", None),
        ("Je vais résilier mon abonnement", "churn_threat", None),
        ("Le site est en panne", "urgent", "outage"),
        ("Je vais porter plainte", "urgent", "legal"),
        ("Merci beaucoup pour votre aide", "praise", None),
        # German
        ("Die App funktioniert nicht", "complaint", None),
        ("Ich kündige meinen Vertrag", "churn_threat", None),
        ("Das Ladegerät ist in Brand geraten", "urgent", "safety"),
        ("Was kostet das X2?", "purchase_intent", None),
        ("Vielen Dank für die schnelle Hilfe", "praise", None),
        # Portuguese
        ("O aplicativo não funciona", "complaint", None),
        ("Quanto custa o X2?", "purchase_intent", None),
        ("O site está fora do ar", "urgent", "outage"),
        ("Vou cancelar minha assinatura", "churn_threat", None),
        ("Muito obrigado pelo atendimento", "praise", None),
    ],
)
def test_other_languages(text: str, kind: str, subtype: str | None) -> None:
    assert (kind, subtype) in {(i.kind, i.subtype) for i in intents(text)}
