"""A question page's schema.org ``QAPage`` data, for search engines: the question, its
accepted answer and the other visible answers (a waiting answer is never included)."""

from __future__ import annotations

from typing import Any

from accord.helpcenter.community.models import CommunityAnswer
from accord.helpcenter.community.posts import QuestionPage


def qa_page(shown: QuestionPage, url: str) -> dict[str, Any]:
    """``url``: the question's canonical address."""

    def answer(a: CommunityAnswer) -> dict[str, Any]:
        author = shown.members.get(a.member_id)
        return {
            "@type": "Answer",
            "text": a.body[:2000],
            "upvoteCount": max(a.score, 0),
            "dateCreated": a.created_at.isoformat(),
            "author": {"@type": "Person", "name": author.name if author else "member"},
            "url": f"{url}#answer-{a.id}",
        }

    q = shown.question
    visible = [a for a in shown.answers if a.status == "visible"]
    accepted = next((a for a in visible if a.accepted), None)
    return {
        "@context": "https://schema.org",
        "@type": "QAPage",
        "mainEntity": {
            "@type": "Question",
            "name": q.title,
            "text": q.body[:2000],
            "answerCount": len(visible),
            "upvoteCount": max(q.score, 0),
            "dateCreated": q.created_at.isoformat(),
            "author": {"@type": "Person", "name": shown.asker.name if shown.asker else "member"},
            **({"acceptedAnswer": answer(accepted)} if accepted else {}),
            "suggestedAnswer": [answer(a) for a in visible if not a.accepted][:20],
        },
    }
