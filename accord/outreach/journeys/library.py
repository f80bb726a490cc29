"""Ready-made journeys: each a definition to start from (its emails written, its waits
and goal set), made into a draft by ``POST /api/v1/outreach/journeys`` with its key."""

from __future__ import annotations

from typing import Any

HOUR = 3600
DAY = 86400


def _email(step_id: str, subject: str, body: str, **more: Any) -> dict[str, Any]:
    return {
        "id": step_id,
        "kind": "email",
        "subject": subject,
        "text": body,
        "html": "<html><body>"
        + "".join(f"<p>{p}</p>" for p in body.split("\n\n"))
        + "</body></html>",
        **more,
    }


TEMPLATES: dict[str, dict[str, Any]] = {
    "cart_abandonment": {
        "name": "Cart abandonment",
        "description": "Someone started checking out and did not buy: a reminder after an "
        "hour, another a day later if they did not open the first; buying ends it.",
        "definition": {
            "trigger": {"kind": "event", "event": "Checkout Started"},
            "goal": {"event": "Order Completed"},
            "reentry": "after_finish",
            "holdout_percent": 10,
            "steps": [
                {"id": "wait-1h", "kind": "wait", "seconds": HOUR},
                _email(
                    "reminder",
                    "{{ person.first_name | default('Hello') }}, you left something behind",
                    "Your cart is waiting: https://shop.example/cart",
                ),
                {"id": "wait-1d", "kind": "wait", "seconds": DAY},
                {
                    "id": "opened",
                    "kind": "branch",
                    "condition": {"kind": "opened", "step": "reminder"},
                    "yes": "end",
                },
                _email(
                    "second-reminder",
                    "Still thinking it over?",
                    "Your cart is still here: https://shop.example/cart",
                ),
                {"id": "end", "kind": "exit"},
            ],
        },
    },
    "welcome": {
        "name": "Welcome series",
        "description": "A new subscriber gets a welcome at once, then what people like "
        "most three days later.",
        "definition": {
            "trigger": {"kind": "event", "event": "Signed Up"},
            "reentry": "never",
            "steps": [
                _email(
                    "welcome",
                    "Welcome, {{ person.first_name | default('friend') }}",
                    "Thanks for joining us.",
                ),
                {"id": "wait-3d", "kind": "wait", "seconds": 3 * DAY, "at_hour": 10},
                _email(
                    "favourites",
                    "What our customers love",
                    "Our favourites: https://shop.example/best",
                ),
            ],
        },
    },
    "post_purchase": {
        "name": "Post-purchase",
        "description": "Thanks after an order, a review request a week later, a "
        "suggestion two weeks after that.",
        "definition": {
            "trigger": {"kind": "event", "event": "Order Completed"},
            "reentry": "always",
            "steps": [
                _email(
                    "thanks",
                    "Thank you for your order",
                    "We are packing it now.",
                    purpose="service",
                ),
                {"id": "wait-7d", "kind": "wait", "seconds": 7 * DAY, "at_hour": 10},
                _email("review", "How do you like it?", "Tell us: https://shop.example/review"),
                {"id": "wait-14d", "kind": "wait", "seconds": 14 * DAY, "at_hour": 10},
                _email(
                    "cross-sell",
                    "Goes well with your order",
                    "You may like: https://shop.example/more",
                ),
            ],
        },
    },
    "win_back": {
        "name": "Win-back",
        "description": "Customers entering an at-risk segment get an offer; a second "
        "one a week later unless they bought.",
        "definition": {
            "trigger": {"kind": "manual"},
            "goal": {"event": "Order Completed"},
            "holdout_percent": 10,
            "steps": [
                _email(
                    "offer",
                    "We miss you, {{ person.first_name | default('friend') }}",
                    "Here is 15% off your next order: https://shop.example/back",
                ),
                {"id": "wait-7d", "kind": "wait", "seconds": 7 * DAY},
                _email(
                    "last-chance",
                    "Your offer ends soon",
                    "Last days for your 15% off: https://shop.example/back",
                ),
            ],
        },
    },
    "birthday": {
        "name": "Birthday",
        "description": "A birthday greeting with a gift, sent at 9 in the morning in the "
        "customer's time zone, every year on the date their birthday trait holds.",
        "definition": {
            "trigger": {"kind": "date", "field": "birthday"},
            "reentry": "always",
            "steps": [
                {"id": "morning", "kind": "wait", "seconds": 0, "at_hour": 9},
                _email(
                    "greeting",
                    "Happy birthday, {{ person.first_name | default('friend') }}!",
                    "A gift from us: https://shop.example/gift",
                ),
            ],
        },
    },
    "re_engage": {
        "name": "Re-engage on another channel",
        "description": "People who stopped opening email (put in by hand or through the "
        "API, e.g. the members of a segment such as no Email Opened in 90 days) get a text "
        "instead; a week later, those who have not bought are handed to an agent to call.",
        "definition": {
            "trigger": {"kind": "manual"},
            "goal": {"event": "Order Completed"},
            "holdout_percent": 10,
            "steps": [
                {
                    "id": "text",
                    "kind": "sms",
                    "text": "Hi {{ person.first_name | default('there') }}, it has been a "
                    "while! 15% off with code BACK15: https://shop.example/back",
                },
                {"id": "wait-7d", "kind": "wait", "seconds": 7 * DAY, "at_hour": 10},
                {
                    "id": "call",
                    "kind": "task",
                    "subject": "Call {{ person.first_name | default('this customer') }}: "
                    "stopped reading our email",
                    "text": "No order since the text a week ago. Ask how we can help.",
                    "via": "phone",
                },
            ],
        },
    },
}
