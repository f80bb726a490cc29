"""The demo retailer's community: customers asking about gear care, sizing and returns,
other customers and the support team answering, votes, and an accepted answer. Runs once
(a workspace with community questions is left as it is)."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

from accord.govern.access.principal import Principal
from accord.govern.access.scopes import ALL_SCOPES
from accord.govern.workspaces.service import get_workspace
from accord.helpcenter.community import members, moderation, posts

MEMBERS = {
    "maya": ("maya.lindqvist@example.com", "Maya L."),
    "tom": ("tom.okafor@example.com", "Tom O."),
    "ines": ("ines.romero@example.com", "Inés R."),
    "sam": ("sam.whitfield@example.com", "Sam W."),
}

# (asker, title, body, [(answerer, body, voters)], index of the accepted answer or None)
THREADS: list[tuple[str, str, str, list[tuple[str, str, list[str]]], int | None]] = [
    (
        "maya",
        "How do I wash my Ridge rain jacket without ruining the membrane?",
        "The care label has faded. It is the 2.5-layer shell from last autumn and it has "
        "started to wet out on the shoulders.",
        [
            (
                "tom",
                "Wash it at **30 °C** with a technical wash (no softener, no powder), rinse "
                "twice, then tumble dry on low for 20 minutes: the heat revives the "
                "water-repellent finish. If it still wets out, spray on a DWR reproofer.",
                ["maya", "sam", "ines"],
            ),
            ("sam", "I hang mine to dry and iron it on low under a towel. Works too.", ["maya"]),
        ],
        0,
    ),
    (
        "ines",
        "Do the Summit hiking boots run small?",
        "I am a 39 in trainers. Should I order a 40 for long days with thick socks?",
        [
            (
                "maya",
                "They run true to size, but with thick wool socks I went half a size up "
                "and my toes stopped hitting the front on descents.",
                ["ines", "tom"],
            ),
        ],
        0,
    ),
    (
        "sam",
        "Can I return a tent I have already pitched once in the garden?",
        "Pitched it to check the size, it is too small for the three of us. Still clean "
        "and dry, all the bags are there.",
        [],
        None,
    ),
]


def ensure_community(session: Session, workspace_id: uuid.UUID) -> int:
    """Post the demo threads when the community is empty; returns how many questions."""
    workspace = get_workspace(session, workspace_id)
    if posts.list_questions(session, workspace).total:
        return 0
    actor = Principal(
        workspace_id=workspace_id, kind="cli", label="demo", scopes=frozenset(map(str, ALL_SCOPES))
    )
    people = {
        key: members.join(session, workspace, email, name) for key, (email, name) in MEMBERS.items()
    }

    def shown(kind: str, post: posts.Post) -> None:
        if post.status != "visible":  # a first post waits for a moderator: the demo's approves
            moderation.moderate(session, actor, kind, post.id, "approve")

    for asker, title, body, replies, accepted in THREADS:
        question = posts.ask(session, workspace, people[asker], title=title, body=body, locale="en")
        shown("question", question)
        made = []
        for answerer, text, voters in replies:
            answer = posts.answer(session, workspace, people[answerer], question.id, body=text)
            shown("answer", answer)
            for voter in voters:
                posts.vote(session, workspace, people[voter], "answer", answer.id, 1)
            made.append(answer)
        if accepted is not None:
            posts.accept(session, workspace, made[accepted].id, member=people[asker])
    return len(THREADS)
