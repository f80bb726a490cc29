"""Why a person is or is not in a segment: each condition of the tree evaluated for
them alone, with the groups' results derived from their parts."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from accord.analyze.segments import rules
from accord.analyze.segments.compile import Compiler, case_flag
from accord.profile.models import Profile


def explain(
    session: Session, compiler: Compiler, node: Any, profile_id: uuid.UUID
) -> dict[str, Any]:
    """The tree with ``holds`` on every node, for one person."""
    if isinstance(node, rules.Group):
        parts = [explain(session, compiler, c, profile_id) for c in node.conditions]
        results = [p["holds"] for p in parts]
        holds = all(results) if node.kind == "all" else any(results)
        return {"kind": node.kind, "holds": holds, "conditions": parts, "text": describe(node)}
    if isinstance(node, rules.Not):
        inner = explain(session, compiler, node.condition, profile_id)
        return {
            "kind": "not",
            "holds": not inner["holds"],
            "condition": inner,
            "text": describe(node),
        }
    flag = session.scalar(
        select(case_flag(compiler.condition(node)))
        .select_from(Profile)
        .where(Profile.id == profile_id)
    )
    return {
        "kind": node.kind,
        "holds": bool(flag),
        "text": describe(node),
        "definition": node.model_dump(mode="json"),
    }


def summary(session: Session, compiler: Compiler, node: Any, profile_id: uuid.UUID) -> str:
    """One line: the conditions that decided it (those that held for a member, those that
    failed for a non-member)."""
    tree = explain(session, compiler, node, profile_id)
    wanted = tree["holds"]
    found: list[str] = []

    def walk(n: dict[str, Any]) -> None:
        if "conditions" in n:
            for c in n["conditions"]:
                walk(c)
        elif n["kind"] == "not":
            walk(n["condition"])
        elif n["holds"] == wanted or n.get("kind") == "not":
            found.append(n["text"])

    walk(tree)
    verb = "held" if wanted else "failed"
    return f"{verb}: " + "; ".join(found[:5]) if found else verb


# --- words ------------------------------------------------------------------------------

OP_WORDS = {
    "eq": "is",
    "neq": "is not",
    "gt": "is more than",
    "gte": "is at least",
    "lt": "is less than",
    "lte": "is at most",
    "contains": "contains",
    "not_contains": "does not contain",
    "starts_with": "starts with",
    "in": "is one of",
    "not_in": "is none of",
    "exists": "is known",
    "not_exists": "is not known",
    "between": "is between",
    "within_last": "is within the last",
    "more_than_ago": "is more than",
    "within_next": "is within the next",
    "anniversary_within": "comes round within",
}


def _value(op: str, value: Any) -> str:
    if op in ("exists", "not_exists"):
        return ""
    if op in ("within_last", "within_next", "anniversary_within"):
        return f" {value:g} days" if isinstance(value, int | float) else f" {value} days"
    if op == "more_than_ago":
        return f" {value:g} days ago" if isinstance(value, int | float) else f" {value} days ago"
    if isinstance(value, list):
        return " " + (
            " and ".join(map(str, value)) if op == "between" else ", ".join(map(str, value))
        )
    return f" {value}"


def window(w: rules.Window | None) -> str:
    if w is None:
        return "ever"
    parts = [(w.days, "day"), (w.hours, "hour"), (w.minutes, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return "in the last " + " ".join(words)


def _match(m: rules.EventMatch) -> str:
    name = {"page": "a page view", "screen": "a screen view"}.get(m.name, m.name)
    if not m.where:
        return name
    tests = " and ".join(f"{t.property} {OP_WORDS[t.op]}{_value(t.op, t.value)}" for t in m.where)
    return f"{name} with {tests}"


SCORE_WORDS = {
    "rfm_group": "RFM group",
    "r_score": "recency score",
    "f_score": "frequency score",
    "m_score": "monetary score",
    "recency_days": "days since the last order",
    "clv": "lifetime value",
    "expected_purchases": "expected purchases",
    "p_alive": "probability still a customer",
    "churn_risk": "churn risk",
    "persona_name": "persona",
    "relationship_value": "relationship value",
    "service_cost": "cost to serve",
}


def describe(node: Any) -> str:
    if isinstance(node, rules.Group):
        return "all of" if node.kind == "all" else "any of"
    if isinstance(node, rules.Not):
        return "not"
    if isinstance(node, rules.TraitCondition | rules.LocationCondition | rules.ValueCondition):
        label = node.field.replace("_", " ")
        return f"{label} {OP_WORDS[node.op]}{_value(node.op, node.value)}"
    if isinstance(node, rules.ScoreCondition):
        label = SCORE_WORDS.get(node.field, node.field.replace("_", " "))
        return f"{label} {OP_WORDS[node.op]}{_value(node.op, node.value)}"
    if isinstance(node, rules.ComputedCondition):
        return f"{node.key} {OP_WORDS[node.op]}{_value(node.op, node.value)}"
    if isinstance(node, rules.EventCondition):
        c = node.count
        if (c.op, c.value) in (("eq", 0), ("lte", 0), ("lt", 1)):
            times = "never"
        else:
            times = (
                f"{OP_WORDS[c.op].replace('is ', '')} {c.value} time{'s' if c.value != 1 else ''}"
            )
        return f"{_match(node)} {times} {window(node.within)}"
    if isinstance(node, rules.SequenceCondition):
        return (
            f"{_match(node.first)} not followed by {_match(node.then)} "
            f"within {window(node.within).replace('in the last ', '')}"
        )
    if isinstance(node, rules.IdentifierCondition):
        return f"has {'an' if node.present else 'no'} identifier of type {node.type}"
    if isinstance(node, rules.ConsentCondition):
        return f"consent for {node.purpose} by {node.channel} is {node.status}"
    if isinstance(node, rules.ServiceCondition):
        what = {
            "open_conversation": "open conversations",
            "conversations": "conversations",
            "csat": "lowest satisfaction score",
        }[node.fact]
        return f"{what} {OP_WORDS[node.op]} {node.value} {window(node.within)}"
    if isinstance(node, rules.SegmentCondition):
        return f"{'in' if node.member else 'not in'} segment {node.segment_id}"
    return str(node.kind)
