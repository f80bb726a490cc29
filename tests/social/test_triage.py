"""Triage decides respond, wait or dismiss and says why in words a person can check."""

from __future__ import annotations

from accord.social.listen import Listener, fingerprint
from accord.social.settings import Competitor, ListeningSettings, TriageRule
from accord.social.triage import Facts, Signal, Triage, compact, duration

SETTINGS = ListeningSettings(
    brands=["Acme"],
    products=["RoadRunner 3000"],
    handles=["@acmehelp"],
    hashtags=["#acmefail"],
    competitors=[Competitor(name="Globex", terms=["#globex"])],
    exclusions=["acme anvil meme"],
    languages=["en", "es"],
)


def _facts(**kw: object) -> Facts:
    base: dict[str, object] = {
        "network": "bluesky",
        "about": "brand",
        "sentiment": "neutral",
        "score": 0.0,
    }
    base.update(kw)
    return Facts(**base)  # type: ignore[arg-type]


def test_the_reason_names_tone_intent_value_reach_and_deadline() -> None:
    verdict = Triage(SETTINGS).decide(
        _facts(
            sentiment="negative",
            score=-0.7,
            signals=(Signal("complaint", 0.8, "charged twice"),),
            followers=12_400,
            customer=True,
            customer_value=2400.0,
        )
    )
    assert verdict.decision == "respond"
    assert verdict.priority == "high"
    assert verdict.within_minutes == 60
    assert verdict.reason == (
        "negative complaint (“charged twice”) from a customer with USD 2,400 lifetime value "
        "and 12k followers: respond within 1 hour"
    )


def test_an_unknown_author_with_a_gripe_is_answered_at_normal_priority() -> None:
    verdict = Triage(SETTINGS).decide(
        _facts(sentiment="negative", signals=(Signal("complaint", 0.7, "broken"),), followers=80)
    )
    assert (verdict.decision, verdict.priority, verdict.rule) == ("respond", "normal", "complaint")
    assert verdict.reason.endswith("from an author with 80 followers: respond within 4 hours")


def test_venting_without_a_gripe_waits_and_says_what_would_change_it() -> None:
    verdict = Triage(SETTINGS).decide(_facts(sentiment="negative", score=-0.4, followers=30))
    assert verdict.decision == "wait"
    assert "respond if they post again or 20 more people engage" in verdict.reason


def test_spam_duplicates_and_competitors_are_dismissed_with_why() -> None:
    triage = Triage(SETTINGS)
    spam = triage.decide(_facts(signals=(Signal("spam", 0.9, "DM me for"),)))
    assert (spam.decision, spam.rule) == ("dismiss", "spam")
    assert "DM me for" in spam.reason
    again = triage.decide(
        _facts(sentiment="negative", signals=(Signal("complaint", 0.8),), duplicate=True)
    )
    assert (again.decision, again.rule) == ("dismiss", "duplicate")
    rival = triage.decide(
        _facts(about="Globex", sentiment="negative", signals=(Signal("complaint", 0.8),))
    )
    assert (rival.decision, rival.rule) == ("dismiss", "competitor")
    assert "share of voice" in rival.reason


def test_urgent_posts_come_first_with_their_kind() -> None:
    verdict = Triage(SETTINGS).decide(
        _facts(sentiment="negative", signals=(Signal("urgent", 0.95, "caught fire", "safety"),))
    )
    assert (verdict.decision, verdict.priority, verdict.within_minutes) == ("respond", "urgent", 30)
    assert verdict.reason.startswith("safety — ")


def test_praise_is_answered_only_for_an_influencer_or_a_valuable_customer() -> None:
    triage = Triage(SETTINGS)
    plain = triage.decide(
        _facts(sentiment="positive", signals=(Signal("praise", 0.8),), followers=40)
    )
    assert plain.decision == "dismiss"
    star = triage.decide(
        _facts(sentiment="positive", signals=(Signal("praise", 0.8),), followers=250_000)
    )
    assert (star.decision, star.priority) == ("respond", "low")
    assert "an influencer with 250k followers" in star.reason


def test_a_workspace_rule_wins_over_the_standard_ones() -> None:
    settings = SETTINGS.model_copy(
        update={
            "rules": [
                TriageRule(name="Recall", words=["recall"], decision="respond", priority="urgent"),
                TriageRule(
                    name="Ignore Reddit praise",
                    networks=["reddit"],
                    sentiments=["positive"],
                    decision="dismiss",
                ),
            ]
        }
    )
    triage = Triage(settings)
    recall = triage.decide(_facts(text="Is there a recall on the RoadRunner?"))
    assert (recall.decision, recall.rule, recall.priority) == ("respond", "rule: Recall", "urgent")
    reddit = triage.decide(_facts(network="reddit", sentiment="positive", followers=900_000))
    assert (reddit.decision, reddit.rule) == ("dismiss", "rule: Ignore Reddit praise")


def test_a_wait_escalates_with_the_reason_first() -> None:
    verdict = Triage(SETTINGS).escalate(
        _facts(sentiment="negative", followers=50), "the author posted again"
    )
    assert verdict.decision == "respond"
    assert verdict.reason.startswith("the author posted again; negative mention from an author")


def test_numbers_read_as_people_say_them() -> None:
    assert [compact(n) for n in (950, 1000, 12_400, 250_000, 1_250_000, 12_000_000)] == [
        "950",
        "1k",
        "12k",
        "250k",
        "1.2M",
        "12M",
    ]
    assert [duration(m) for m in (1, 30, 60, 240, 1440, 2880)] == [
        "1 minute",
        "30 minutes",
        "1 hour",
        "4 hours",
        "1 day",
        "2 days",
    ]


def test_the_listener_hears_words_hashtags_and_handles_but_not_exclusions() -> None:
    ear = Listener(SETTINGS)
    heard = ear.hear("My #ACME order never came, @AcmeHelp please look", "en")
    assert heard is not None
    assert heard.about == "brand"
    assert set(heard.terms) == {"Acme", "@acmehelp"}
    assert ear.hear("the roadrunner   3000 is great") is not None  # spacing does not matter
    assert ear.hear("acmeville is a town") is None  # a whole word only
    assert ear.hear("lol the acme anvil meme again") is None  # an exclusion
    assert ear.hear("Acme es genial", "es") is not None
    assert ear.hear("Acme ist super", "de") is None  # a language not listened to
    assert ear.hear("Acme ist super", None) is not None  # no language said: heard
    rival = ear.hear("switching to #Globex tomorrow")
    assert rival is not None
    assert rival.about == "Globex"
    both = ear.hear("Globex vs Acme: which one?")
    assert both is not None
    assert both.about == "brand"


def test_copies_share_a_fingerprint_whatever_the_links_and_case() -> None:
    a = fingerprint("WIN a free phone!! https://x.example/a @acme")
    b = fingerprint("win a FREE phone https://y.example/b")
    assert a == b
    assert a != fingerprint("win a free laptop")
