"""Customer service facts for segments: an open conversation, how many conversations,
a satisfaction score. Handed to the segment engine by the edge, so segments read the
inbox without the analyze layer importing it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import exists, func, literal, select

from accord.analyze.segments.compile import FactCompiler, FactContext, compare
from accord.analyze.segments.rules import ServiceCondition
from accord.inbox.models import Conversation
from accord.profile.models import Profile

UNRESOLVED = ("open", "pending", "snoozed")


def _window(cond: ServiceCondition, ctx: FactContext, column: Any) -> list[Any]:
    return [column > ctx.now - cond.within.delta] if cond.within is not None else []


def _count(cond: ServiceCondition, ctx: FactContext, *where: Any) -> Any:
    counted = (
        select(func.count())
        .where(
            Conversation.profile_id == Profile.id,
            Conversation.workspace_id == ctx.workspace_id,
            Conversation.created_at <= ctx.now,
            *where,
        )
        .scalar_subquery()
    )
    return compare(counted, cond.op, cond.value)


def open_conversation(cond: ServiceCondition, ctx: FactContext) -> Any:
    return _count(
        cond,
        ctx,
        Conversation.status.in_(UNRESOLVED),
        *_window(cond, ctx, Conversation.created_at),
    )


def conversations(cond: ServiceCondition, ctx: FactContext) -> Any:
    return _count(cond, ctx, *_window(cond, ctx, Conversation.created_at))


def csat(cond: ServiceCondition, ctx: FactContext) -> Any:
    """A score ``op value`` was given (in the window): "CSAT at most 2 in 30 days"."""
    return exists(
        select(literal(1)).where(
            Conversation.profile_id == Profile.id,
            Conversation.workspace_id == ctx.workspace_id,
            Conversation.csat_score.is_not(None),
            Conversation.csat_at <= ctx.now,
            compare(Conversation.csat_score, cond.op, cond.value),
            ctx.scope(Conversation.profile_id),
            *_window(cond, ctx, Conversation.csat_at),
        )
    )


def _times(column: Any, *where: Any) -> Any:
    """When each person's oldest row in the window was made (it leaves the window first)."""

    def times(cond: ServiceCondition, ctx: FactContext) -> Any:
        assert cond.within is not None
        return (
            select(Conversation.profile_id, func.min(column))
            .where(
                Conversation.workspace_id == ctx.workspace_id,
                Conversation.profile_id.is_not(None),
                column > ctx.now - cond.within.delta,
                column <= ctx.now,
                ctx.scope(Conversation.profile_id),
                *where,
            )
            .group_by(Conversation.profile_id)
        )

    return times


class Fact:
    """A fact's SQL and, for a window, when each person's value may change by time."""

    def __init__(self, compile: FactCompiler, times: Any) -> None:
        self.compile = compile
        self.times = times

    def __call__(self, cond: ServiceCondition, ctx: FactContext) -> Any:
        return self.compile(cond, ctx)


FACTS: dict[str, FactCompiler] = {
    "open_conversation": Fact(
        open_conversation, _times(Conversation.created_at, Conversation.status.in_(UNRESOLVED))
    ),
    "conversations": Fact(conversations, _times(Conversation.created_at)),
    "csat": Fact(csat, _times(Conversation.csat_at, Conversation.csat_score.is_not(None))),
}
