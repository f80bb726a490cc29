"""The consent vocabulary: channels, purposes, statuses, legal bases and sources, which
state is stricter, and which purposes need an opt-in in which region."""

from __future__ import annotations

from typing import Final

# Where a person can be reached. "ads" is an advertising audience (a hashed list sent to an
# ad network); "social" a reply or a direct message on a social network; "all" in a
# record means every channel.
CHANNELS: Final = ("email", "sms", "phone", "chat", "social", "push", "post", "ads")
# Why they would be contacted or their data used.
PURPOSES: Final = ("service", "marketing", "personalization", "surveys", "advertising")
ALL: Final = "all"

GRANTED: Final = "granted"
DENIED: Final = "denied"
WITHDRAWN: Final = "withdrawn"
PENDING: Final = "pending"  # waiting for a double opt-in confirmation
STATUSES: Final = (GRANTED, DENIED, WITHDRAWN, PENDING)
REFUSING: Final = frozenset({DENIED, WITHDRAWN})
# Strictest first: on a merge the stricter state of the two people stands.
STRICTNESS: Final = {DENIED: 3, WITHDRAWN: 3, PENDING: 1, GRANTED: 0}

LEGAL_BASES: Final = (
    "consent",
    "contract",
    "legal_obligation",
    "vital_interest",
    "public_task",
    "legitimate_interest",
)
SOURCES: Final = (
    "form",
    "import",
    "api",
    "tracking",
    "agent",
    "preference_center",
    "unsubscribe_link",
    "sms_stop",
    "sms_start",
    "email_reply",
    "double_opt_in",
    "bounce",
    "complaint",
    "merge",
    "expiry",
)

OPT_IN: Final = "opt_in"
OPT_OUT: Final = "opt_out"

# Regions whose law asks for consent before marketing (GDPR and ePrivacy in the EEA, the
# UK's PECR, Canada's CASL, Switzerland, Brazil's LGPD). The rest are opt-out by default.
EEA: Final = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
    ]
)


def region_of(country: str | None, fallback: str) -> str:
    """The consent region of a two-letter country code: EU for the EEA, else the
    country itself (GB, CA, US...), else the workspace's region."""
    code = (country or "").strip().upper()
    if len(code) != 2 or not code.isalpha():
        code = (fallback or "").strip().upper()
    return "EU" if code in EEA else code or "US"


def stricter(a: str, b: str) -> str:
    """The stricter of two states (a denial on either side stands)."""
    return a if STRICTNESS.get(a, 0) >= STRICTNESS.get(b, 0) else b


# What the preference center offers: each purpose a customer can choose, on the channels
# it applies to ("all" where the purpose is not about a channel).
CENTER: Final = (
    ("marketing", ("email", "sms", "phone", "post", "push")),
    ("surveys", ("email", "sms")),
    ("personalization", (ALL,)),
    ("advertising", ("ads",)),
)
PURPOSE_LABELS: Final = {
    "service": "Messages about your orders and requests",
    "marketing": "News and offers",
    "personalization": "Recommendations based on what you do with us",
    "surveys": "Surveys about our service",
    "advertising": "Ads on other sites based on your data",
}
CHANNEL_LABELS: Final = {
    "email": "Email",
    "sms": "Text message",
    "phone": "Phone call",
    "chat": "Chat",
    "social": "Social networks",
    "push": "App notification",
    "post": "Post",
    "ads": "Ad networks",
    ALL: "Everywhere",
}
