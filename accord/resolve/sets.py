"""Joining many pairs of people at once: what a matching run decided, written in sets.

``repartition`` recomputes one connected part of the identity graph per change, which
is exact for anything but costs a few milliseconds and some thirty statements each.
A run that joins thousands of pairs writes them here instead: the joins are replayed in
memory, in their order, exactly as one repartition after another would have made them
(the same survivor, the same link between the two best identifiers, one merge per
absorbed person with the identifiers of each side at that moment, so ``split`` undoes
each as before), and the result is written set by set, a statement per table and 5,000
rows: links, identifiers, events, orders, tombstones, merges, golden records.

A cluster whose joining the graph's rules could reshape (a person already contested, a
separation touching one of its identifiers, two values of a unique type, more values of
a limited type than allowed) is left to the caller, who joins it one pair at a time
through ``repartition``."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from accord.collect import identifiers as ids
from accord.collect.repository import EventRepository
from accord.govern.consent import repository as consent_repo
from accord.govern.consent import service as consent
from accord.kit import changes
from accord.kit.dialect import ROWS_PER_STATEMENT, insert_ignore, update_by_id
from accord.kit.ids import new_id
from accord.kit.time import utcnow
from accord.profile import service as profiles
from accord.profile.models import Profile
from accord.profile.repository import Head, OrderRepository, ProfileRepository
from accord.resolve import graph
from accord.resolve.context import WorkspaceContext
from accord.resolve.models import Identifier, IdentityLink, KnownIdentifier, Merge
from accord.resolve.repository import IdentifierRepository, SeparationRepository


@dataclass(frozen=True)
class Join:
    """Two live people to become one, and why (kept as the merge's evidence; built when
    the merge is written, so a run's evidence is never all held at once)."""

    a: uuid.UUID
    b: uuid.UUID
    evidence: Callable[[], dict[str, Any]]


@dataclass
class Outcome:
    merges: list[uuid.UUID] = field(default_factory=list)  # the merges recorded
    joined: dict[uuid.UUID, uuid.UUID] = field(default_factory=dict)  # absorbed -> live
    left: list[Join] = field(default_factory=list)  # for the one-by-one path


@dataclass
class _Side:
    """A person as the replay builds it: the profile that holds it, its identifiers."""

    profile: Head
    nodes: list[KnownIdentifier]


class _Typed(Protocol):
    @property
    def type(self) -> str: ...
    @property
    def value(self) -> str: ...


Ident = TypeVar("Ident", bound=_Typed)


def strongest(ctx: WorkspaceContext, nodes: Iterable[Ident]) -> Ident:
    """The identifier a match links of a person: the one of highest priority, then by
    type and value (one pair at a time and in sets alike)."""
    return min(nodes, key=lambda i: (-ctx.rules.priority(i.type), i.type, i.value))


def _survivor(x: _Side, y: _Side) -> tuple[_Side, _Side]:
    """Which side keeps its profile: the one holding more identifiers, else the older
    (the order in which ``repartition`` chooses)."""

    def rank(s: _Side) -> tuple[int, Any, str]:
        return (-len(s.nodes), s.profile.created_at, str(s.profile.id))

    return (x, y) if rank(x) <= rank(y) else (y, x)


def _reshapes(ctx: WorkspaceContext, sides: Sequence[_Side], touched: set[uuid.UUID]) -> bool:
    """Whether the graph's rules could split or trim this cluster once joined."""
    if any(s.profile.contested for s in sides):
        return True
    counts: dict[str, set[str]] = defaultdict(set)
    for side in sides:
        for node in side.nodes:
            if node.id in touched:
                return True
            counts[node.type].add(node.value)
    for type_name, values in counts.items():
        rule = ctx.rules.graph.rule(type_name)
        if rule.unique and len(values) > 1:
            return True
        if rule.limit is not None and len(values) > rule.limit:
            return True
    return False


@dataclass
class People:
    """Some people as one transaction read them: who each is (merged or live), the
    identifiers each holds, and the separations touching those identifiers."""

    heads: dict[uuid.UUID, Head]
    nodes: dict[uuid.UUID, list[KnownIdentifier]]
    separations: list[tuple[frozenset[uuid.UUID], frozenset[uuid.UUID]]]

    @classmethod
    def load(
        cls,
        session: Session,
        ids: Iterable[uuid.UUID],
        heads: Mapping[uuid.UUID, Head] | None = None,
    ) -> People:
        """``heads``: those of them the caller has read already in this transaction."""
        wanted = set(ids)
        known = {p: h for p, h in (heads or {}).items() if p in wanted}
        missing = [p for p in wanted if p not in known]
        if missing:
            known.update(ProfileRepository.from_session(session).heads_of(missing))
        nodes: dict[uuid.UUID, list[KnownIdentifier]] = defaultdict(list)
        for ident in IdentifierRepository.from_session(session).held_by(list(known)):
            if not ident.blocked and ident.profile_id is not None:
                nodes[ident.profile_id].append(ident)
        separations = SeparationRepository.from_session(session).touching(
            [i.id for held in nodes.values() for i in held]
        )
        return cls(known, dict(nodes), separations)

    def covers(self, ids: Iterable[uuid.UUID]) -> bool:
        return all(p in self.heads for p in ids)


def join(
    session: Session,
    ctx: WorkspaceContext,
    joins: Sequence[Join],
    *,
    rule: str,
    link_message_id: str,
    actor: str,
    read: People | None = None,
    on_step: Callable[[str], None] | None = None,
) -> Outcome:
    """Join the pairs of live people in ``joins``, in order, in the caller's transaction.
    A join whose people are already one (through earlier joins) is skipped; the joins of
    a cluster the graph could reshape come back in ``Outcome.left``. ``read``: the
    people as the caller read them in this transaction, when it has; ``on_step`` hears
    how far the writing is."""
    out = Outcome()
    wanted = {p for j in joins for p in (j.a, j.b)}
    if read is None or not read.covers(wanted):
        read = People.load(session, wanted)
    people = {p: read.heads[p] for p in wanted if p in read.heads}
    usable: list[Join] = []
    for j in joins:
        if j.a == j.b:
            continue
        both = [people.get(j.a), people.get(j.b)]
        if all(
            p is not None and p.merged_into_id is None and p.workspace_id == ctx.workspace_id
            for p in both
        ):
            usable.append(j)
        else:
            out.left.append(j)
    if not usable:
        return out
    nodes = {p: read.nodes.get(p, []) for p in people}
    touched = {i for side_a, side_b in read.separations for i in side_a | side_b}
    reshaped: set[uuid.UUID] = set()  # the people of clusters left to the graph
    for group in graph.connected_components(
        sorted({p for j in usable for p in (j.a, j.b)}, key=str), [(j.a, j.b) for j in usable]
    ):
        if any(not nodes.get(p) for p in group) or _reshapes(
            ctx, [_Side(people[p], nodes[p]) for p in group], touched
        ):
            reshaped |= group
    plain: list[Join] = []
    for j in usable:
        (out.left if j.a in reshaped else plain).append(j)
    if plain:
        out.merges, out.joined = _write(
            session, ctx, plain, people, nodes, rule, link_message_id, actor, on_step
        )
    return out


def _write(
    session: Session,
    ctx: WorkspaceContext,
    joins: Sequence[Join],
    people: Mapping[uuid.UUID, Head],
    nodes: Mapping[uuid.UUID, list[KnownIdentifier]],
    rule: str,
    link_message_id: str,
    actor: str,
    on_step: Callable[[str], None] | None,
) -> tuple[list[uuid.UUID], dict[uuid.UUID, uuid.UUID]]:
    say = on_step or (lambda _: None)
    # The replay: each join as one repartition would make it.
    side_of: dict[uuid.UUID, _Side] = {p: _Side(people[p], list(nodes[p])) for p in people}
    holder: dict[uuid.UUID, uuid.UUID] = {p: p for p in people}  # absorbed -> who holds it

    def live(p: uuid.UUID) -> uuid.UUID:
        while holder[p] != p:
            holder[p] = holder[holder[p]]
            p = holder[p]
        return p

    now = utcnow()
    links: list[dict[str, Any]] = []
    made: list[_Made] = []
    for j in joins:
        a, b = side_of[live(j.a)], side_of[live(j.b)]
        if a is b:
            continue
        ia, ib = strongest(ctx, a.nodes), strongest(ctx, b.nodes)
        low, high = (ia, ib) if ia.id < ib.id else (ib, ia)
        links.append(
            {
                "id": new_id(),
                "workspace_id": ctx.workspace_id,
                "a_id": low.id,
                "b_id": high.id,
                "event_id": None,
                "message_id": link_message_id[:200],
                "created_at": now,
            }
        )
        keep, gone = _survivor(a, b)
        made.append(
            _Made(
                new_id(),
                keep.profile.id,
                gone.profile.id,
                [f"{ia.type}:{ia.value}", f"{ib.type}:{ib.value}"],
                sorted(str(n.id) for n in keep.nodes),
                sorted(str(n.id) for n in gone.nodes),
                j,
            )
        )
        keep.nodes.extend(gone.nodes)
        holder[gone.profile.id] = keep.profile.id
    say(f"linking {len(made):,} pairs of people")
    insert_ignore(session, IdentityLink.__table__, links, ["workspace_id", "a_id", "b_id"])
    absorbed = [m.absorbed for m in made]
    root_of = {g: live(g) for g in absorbed}
    roots = sorted(set(root_of.values()), key=str)
    # Identifiers, the events they are the primary identifier of, the orders, and the
    # tombstones of people merged earlier into someone absorbed now.
    moved = {i.id: root_of[g] for g in absorbed for i in nodes[g]}
    IdentifierRepository.from_session(session).assign_each(moved)
    for i, p in moved.items():
        _refresh_loaded(session, Identifier, i, "profile_id", p)
    # An absorbed person's events are those of their identifiers, which all move.
    EventRepository.from_session(session).move_people(root_of)
    orders = OrderRepository.from_session(session)
    orders.assign_each({o: root_of[p] for o, p in orders.of_profiles(absorbed)})
    profile_repo = ProfileRepository.from_session(session)
    profile_repo.redirect_each(root_of)
    update_by_id(
        session,
        Profile.__table__,
        [{"id": g, "merged_into_id": r} for g, r in root_of.items()],
    )
    for g, r in root_of.items():
        _refresh_loaded(session, Profile, g, "merged_into_id", r)
    for start in range(0, len(made), ROWS_PER_STATEMENT):
        say(f"recording merges {start:,} of {len(made):,}")
        insert_ignore(
            session,
            Merge.__table__,
            [
                m.row(ctx.workspace_id, rule, link_message_id[:200], actor, now)
                for m in made[start : start + ROWS_PER_STATEMENT]
            ],
            ["id"],
        )
    # Consent follows each merge in turn (the stricter state stands where two disagree).
    holding = set(consent_repo.ConsentRepository.from_session(session).holders(list(people)))
    for m in made:
        if m.absorbed in holding:
            consent.on_merge(session, ctx.workspace_id, m.survivor, m.absorbed, m.id)
            holding.add(m.survivor)
    for start in range(0, len(roots), ROWS_PER_STATEMENT):
        say(f"golden records {start:,} of {len(roots):,}")
        part = roots[start : start + ROWS_PER_STATEMENT]
        rows = profiles.recomputed(session, part, ctx.profile)
        for root, row in rows.items():
            _fill_contact(row, side_of[root].nodes)  # the root's side holds them all now
        profile_repo.write_computed(
            [{"id": r, "contested": False, **row} for r, row in rows.items()]
        )
    for root in roots:
        loaded = session.identity_map.get(identity_key(Profile, root))
        if loaded is not None:
            session.expire(loaded)
    changes.note(session, ctx.workspace_id, [*roots, *absorbed], {changes.EVERYTHING})
    session.flush()
    return [m.id for m in made], root_of


@dataclass(frozen=True, slots=True)
class _Made:
    """A merge as the replay made it, written later."""

    id: uuid.UUID
    survivor: uuid.UUID
    absorbed: uuid.UUID
    linked: list[str]  # the two identifiers the match linked, as type:value
    survivor_identifiers: list[str]
    absorbed_identifiers: list[str]
    join: Join

    def row(
        self, workspace_id: uuid.UUID, rule: str, link: str, actor: str, at: datetime
    ) -> dict[str, Any]:
        return {
            "id": self.id,
            "workspace_id": workspace_id,
            "survivor_id": self.survivor,
            "absorbed_id": self.absorbed,
            "rule": rule,
            "evidence": {
                "identifiers": self.linked,
                "link_message_id": link,
                "event_message_id": None,
                **self.join.evidence(),
                "by": actor,
            },
            "survivor_identifiers": self.survivor_identifiers,
            "absorbed_identifiers": self.absorbed_identifiers,
            "created_at": at,
            "undone_at": None,
            "undone_by": None,
        }


def _refresh_loaded(
    session: Session, cls: type[Any], key: uuid.UUID, name: str, value: uuid.UUID
) -> None:
    """A row the session already holds takes the value just written to the database."""
    held = session.identity_map.get(identity_key(cls, key))
    if held is not None:
        set_committed_value(held, name, value)


def _fill_contact(row: dict[str, Any], held: Sequence[KnownIdentifier]) -> None:
    """Email and phone for search fall back to the person's identifiers (by type and
    value, as the one-by-one path reads them)."""
    for ident in sorted(held, key=lambda i: (i.type, i.value)):
        if ident.type == ids.EMAIL and not row["email"]:
            row["email"] = ident.value
        elif ident.type == ids.PHONE and not row["phone"]:
            row["phone"] = ident.value
