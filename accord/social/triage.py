"""Respond, wait or dismiss: the triage of one mention, with the reason in words.

The workspace's own rules (``ListeningSettings.rules``) are tried first, in order; then
the standard ones, each named so a person can see which decided:

1. ``spam``: the post reads as spam: dismiss.
2. ``duplicate``: the author said the same thing already: dismiss.
3. ``urgent``: safety, legal or an outage: respond first (the urgent SLA).
4. ``competitor``: it is about a competitor, not the brand: dismiss (it still counts for
   share of voice).
5. ``churn threat``: the author says they will leave: respond (high priority for an
   influencer or a valuable customer).
6. ``complaint``: a gripe about the product or the service (a complaint named by its
   words, not only a negative tone): respond; high priority for an influencer or a
   valuable customer.
7. ``question`` and ``purchase intent``: respond.
8. ``praise``: thank an influencer or a valuable customer; otherwise nothing to answer.
9. ``negative``: negative without a gripe, a question or a threat: wait, and respond if
   the author posts again or the post draws more people in.
10. ``nothing to answer``: dismiss.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from accord.social.settings import ListeningSettings, TriageRule

# A complaint this sure names a gripe (a cue such as "charged twice", "arrived broken");
# below it the post only sounds negative, and waits.
GRIPE = 0.6
PRIORITY_WORDS = {"urgent": "urgent", "high": "high", "normal": "normal", "low": "low"}
INTENT_WORDS = {
    "complaint": "complaint",
    "question": "question",
    "praise": "praise",
    "purchase_intent": "purchase question",
    "churn_threat": "threat to leave",
    "urgent": "urgent post",
    "spam": "spam",
}


@dataclass(frozen=True)
class Signal:
    """One intent the post shows (``accord.social.intent``), as triage reads it."""

    kind: str
    confidence: float
    cue: str = ""
    subtype: str | None = None


@dataclass(frozen=True)
class Facts:
    """What triage knows of a mention."""

    network: str
    about: str  # "brand" or a competitor's name
    sentiment: str  # positive, neutral, negative
    score: float
    signals: tuple[Signal, ...] = ()
    followers: int | None = None
    customer: bool = False  # the author is a known person in the identity graph
    customer_value: float | None = None  # their lifetime revenue
    duplicate: bool = False
    text: str = ""


@dataclass(frozen=True)
class Verdict:
    decision: str  # respond, wait, dismiss
    reason: str
    rule: str
    priority: str = "normal"
    within_minutes: int | None = None  # for respond: the SLA
    signals: tuple[str, ...] = field(default=())


def compact(n: int) -> str:
    """12400 -> "12k", 1250000 -> "1.3M", 950 -> "950"."""
    if n >= 1_000_000:
        v = n / 1_000_000
        return f"{v:.1f}M".replace(".0M", "M") if v < 10 else f"{v:.0f}M"
    if n >= 1000:
        v = n / 1000
        return f"{v:.1f}k".replace(".0k", "k") if v < 10 else f"{v:.0f}k"
    return str(n)


def duration(minutes: int) -> str:
    """30 -> "30 minutes", 60 -> "1 hour", 1440 -> "1 day"."""
    if minutes % 1440 == 0:
        days = minutes // 1440
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes % 60 == 0:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours != 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def _signal(facts: Facts, kind: str) -> Signal | None:
    found = [s for s in facts.signals if s.kind == kind]
    return max(found, key=lambda s: s.confidence) if found else None


class Triage:
    """The triage of a workspace, built once per batch from its settings."""

    def __init__(self, settings: ListeningSettings) -> None:
        self.settings = settings

    # Who the author is, in words.
    def influencer(self, facts: Facts) -> bool:
        return (facts.followers or 0) >= self.settings.influencer_followers

    def valuable(self, facts: Facts) -> bool:
        return facts.customer_value is not None and (
            facts.customer_value >= self.settings.valuable_customer
        )

    def who(self, facts: Facts) -> str:
        parts: list[str] = []
        if facts.customer_value:
            parts.append(f"{self.settings.currency} {facts.customer_value:,.0f} lifetime value")
        if facts.followers:
            parts.append(f"{compact(facts.followers)} followers")
        if facts.customer:
            base = "a customer"
            if not facts.customer_value:
                base = "a known customer"
        elif self.influencer(facts):
            base = "an influencer"
        else:
            base = "an author"
        return f"{base} with {' and '.join(parts)}" if parts else base

    def what(self, facts: Facts, kind: str | None) -> str:
        tone = facts.sentiment
        if kind is None:
            return f"{tone} mention"
        return f"{tone} {INTENT_WORDS.get(kind, kind)}"

    def respond(self, facts: Facts, rule: str, kind: str | None, priority: str) -> Verdict:
        minutes = self.settings.sla.minutes(priority)
        found = _signal(facts, kind) if kind else None
        cue = found.cue if found is not None else ""
        said = f" (\u201c{cue}\u201d)" if cue else ""
        reason = (
            f"{self.what(facts, kind)}{said} from {self.who(facts)}: "
            f"respond within {duration(minutes)}"
        )
        return Verdict("respond", reason, rule, priority, minutes)

    def wait(self, facts: Facts, rule: str, kind: str | None) -> Verdict:
        reason = (
            f"{self.what(facts, kind)} from {self.who(facts)}: wait; respond if they post "
            f"again or {self.settings.engagement_growth} more people engage"
        )
        return Verdict("wait", reason, rule, "low")

    def dismiss(self, rule: str, why: str) -> Verdict:
        return Verdict("dismiss", f"dismiss: {why}", rule, "low")

    def _custom(self, facts: Facts, rule: TriageRule) -> bool:
        kinds = {s.kind for s in facts.signals}
        text = facts.text.lower()
        checks = [
            not rule.sentiments or facts.sentiment in rule.sentiments,
            not rule.intents or bool(kinds & set(rule.intents)),
            not rule.networks or facts.network in rule.networks,
            not rule.about or facts.about.lower() in {a.lower() for a in rule.about},
            rule.min_followers is None or (facts.followers or 0) >= rule.min_followers,
            rule.min_customer_value is None
            or (facts.customer_value or 0) >= rule.min_customer_value,
            rule.known_customer is None or facts.customer == rule.known_customer,
            not rule.words or any(w.lower() in text for w in rule.words),
        ]
        return all(checks)

    def decide(self, facts: Facts) -> Verdict:
        for rule in self.settings.rules:
            if self._custom(facts, rule):
                strongest = max(facts.signals, key=lambda s: s.confidence, default=None)
                kind = strongest.kind if strongest else None
                name = f"rule: {rule.name}"
                if rule.decision == "respond":
                    return self.respond(facts, name, kind, rule.priority)
                if rule.decision == "wait":
                    return self.wait(facts, name, kind)
                return self.dismiss(name, f"{self.what(facts, kind)} ({rule.name})")
        return self.standard(facts)

    def standard(self, facts: Facts) -> Verdict:
        spam = _signal(facts, "spam")
        if spam is not None and spam.confidence >= 0.5:
            return self.dismiss("spam", f"spam{f' (“{spam.cue}”)' if spam.cue else ''}")
        if facts.duplicate:
            return self.dismiss("duplicate", "the author posted the same text already")
        urgent = _signal(facts, "urgent")
        if urgent is not None and facts.about == "brand":
            verdict = self.respond(facts, "urgent", "urgent", "urgent")
            kind = urgent.subtype or "urgent"
            return Verdict(
                "respond",
                f"{kind} — {verdict.reason}",
                "urgent",
                "urgent",
                verdict.within_minutes,
            )
        if facts.about != "brand":
            return self.dismiss(
                "competitor", f"about {facts.about}, not the brand; counted for share of voice"
            )
        important = self.influencer(facts) or self.valuable(facts)
        if _signal(facts, "churn_threat") is not None:
            return self.respond(
                facts, "churn threat", "churn_threat", "high" if important else "normal"
            )
        gripe = _signal(facts, "complaint")
        if gripe is not None and gripe.confidence >= GRIPE:
            return self.respond(facts, "complaint", "complaint", "high" if important else "normal")
        for kind, rule in (("question", "question"), ("purchase_intent", "purchase intent")):
            if _signal(facts, kind) is not None:
                return self.respond(facts, rule, kind, "high" if important else "normal")
        if _signal(facts, "praise") is not None or facts.sentiment == "positive":
            if important:
                return self.respond(facts, "praise", "praise", "low")
            return self.dismiss("praise", f"{self.what(facts, 'praise')}: nothing to answer")
        if facts.sentiment == "negative":
            return self.wait(facts, "negative", None)
        return self.dismiss("nothing to answer", "no gripe, question or request to answer")

    def escalate(self, facts: Facts, why: str) -> Verdict:
        """A wait that turns into respond (the author posted again; more people engaged)."""
        verdict = self.respond(
            facts, "escalated", None, "high" if self.influencer(facts) else "normal"
        )
        return Verdict(
            "respond",
            f"{why}; {verdict.reason}",
            "escalated",
            verdict.priority,
            verdict.within_minutes,
        )
