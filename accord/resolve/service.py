"""Real-time deterministic identity resolution.

Each pending event is resolved in order: its identifiers are created (unique per
workspace, so concurrent arrivals cannot make two of one), the links it makes are
recorded, and its person is found. The common case (known identifiers of one person, or
all-new ones) is a fast path. Anything else recomputes the canonical partition of the
connected part of the identity graph (``graph.partition``) and applies the difference:
identifiers, their events and orders move, absorbed profiles become tombstones pointing
at their survivor, and each merge is recorded with its evidence so it can be split.
"""

from __future__ import annotations

import logging
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from accord.collect import identifiers as ids
from accord.collect.messages import ALIAS_PREVIOUS
from accord.collect.models import Event, EventFacts, PendingEvent
from accord.collect.repository import EventRepository
from accord.govern.consent import service as consent
from accord.kit import changes
from accord.kit.dialect import lock_workspace
from accord.profile import service as profiles
from accord.profile.models import Profile
from accord.profile.repository import ProfileRepository
from accord.resolve import graph
from accord.resolve.batch import BatchCache
from accord.resolve.consent import record_consent
from accord.resolve.context import WorkspaceContext
from accord.resolve.floors import Floors
from accord.resolve.known import settle_known
from accord.resolve.models import Identifier, Merge
from accord.resolve.repository import (
    IdentifierRepository,
    LinkRepository,
    MergeRepository,
    MoveRepository,
    SeparationRepository,
)
from accord.resolve.rules import LAST_SEEN_RESOLUTION, primary_of

log = logging.getLogger("accord.resolve")
MAX_COMPONENT = 5000


# --- identifiers of an event -------------------------------------------------------------


def _pairs(
    session: Session, ctx: WorkspaceContext, event: EventFacts, cache: BatchCache | None = None
) -> list[tuple[str, str]]:
    """The event's identifiers; an alias's previousId is a user id if one is known by
    that value, otherwise an anonymous id. A batch has already looked both up."""
    out: list[tuple[str, str]] = []
    for type_name, value in event.identifiers:
        if type_name == ALIAS_PREVIOUS:
            if cache is not None:
                known = cache.known_at(event, (ids.USER_ID, value))
            else:
                known = bool(
                    IdentifierRepository.from_session(session).find(
                        ctx.workspace_id, [(ids.USER_ID, value)]
                    )
                )
            type_name = ids.USER_ID if known else ids.ANONYMOUS_ID
        if (type_name, value) not in out:
            out.append((type_name, value))
    return out


def _identifiers(
    session: Session, ctx: WorkspaceContext, event: EventFacts, cache: BatchCache
) -> list[Identifier]:
    rows = [cache.identifier(session, ctx, event, p) for p in _pairs(session, ctx, event, cache)]
    for ident in rows:
        if event.timestamp - ident.last_seen_at > LAST_SEEN_RESOLUTION:
            ident.last_seen_at = event.timestamp
    return rows


def _link(
    ctx: WorkspaceContext, event: EventFacts, rows: list[Identifier], cache: BatchCache
) -> int:
    active = [r for r in rows if not r.blocked]
    if len(active) < 2:
        return 0
    hub = active[0]
    return sum(cache.add_link(ctx, hub, other, event) for other in active[1:])


def _block_shared_devices(
    session: Session, ctx: WorkspaceContext, rows: list[Identifier], cache: BatchCache
) -> list[Identifier]:
    """A browser or device seen with too many user ids is shared: it stops linking."""
    weak = [r for r in rows if r.type in ids.WEAK_TYPES and not r.blocked]
    if not weak or not any(r.type == ids.USER_ID for r in rows):
        return []
    blocked = []
    for r in weak:
        if cache.user_ids_linked(session, ctx, r) >= ctx.rules.shared_device_threshold:
            r.blocked = True
            blocked.append(r)
    return blocked


# --- the fast path ------------------------------------------------------------------------


def _fits(ctx: WorkspaceContext, counts: Counter[str], new: list[Identifier]) -> bool:
    counts = Counter(counts)
    for ident in new:
        rule = ctx.rules.graph.rule(ident.type)
        counts[ident.type] += 1
        if rule.unique and counts[ident.type] > 1:
            return False
        if rule.limit is not None and counts[ident.type] > rule.limit:
            return False
    return True


def _fast_path(
    session: Session,
    ctx: WorkspaceContext,
    rows: list[Identifier],
    new_links: int,
    cache: BatchCache,
) -> bool:
    active = [r for r in rows if not r.blocked]
    if not active:  # every identifier is blocked: the event belongs to nobody
        return True
    held = {r.profile_id for r in active if r.profile_id is not None}
    unassigned = [r for r in active if r.profile_id is None]
    if not held:
        if not _fits(ctx, Counter(), unassigned):
            return False
        profile = cache.new_profile(ctx.workspace_id)
        cache.counts[profile.id] = Counter()
        _attach(profile, unassigned, cache)
        return True
    if len(held) > 1:
        return False
    (profile_id,) = held
    held_profile = cache.profile(session, profile_id)
    if held_profile is None or (held_profile.contested and (new_links or unassigned)):
        return False
    if unassigned:
        if not _fits(ctx, cache.type_counts(session, profile_id), unassigned):
            return False
        _attach(held_profile, unassigned, cache)
    return True


def _attach(profile: Profile, rows: list[Identifier], cache: BatchCache) -> None:
    counts = cache.counts.setdefault(profile.id, Counter())
    for r in rows:
        cache.assign(r, profile.id)
        counts[r.type] += 1
        if r.type == ids.EMAIL and not profile.email:
            cache.set_computed(profile, {"email": r.value})
        elif r.type == ids.PHONE and not profile.phone:
            cache.set_computed(profile, {"phone": r.value})


# --- the canonical path -------------------------------------------------------------------


@dataclass
class Component:
    nodes: dict[uuid.UUID, Identifier]
    edges: list[tuple[uuid.UUID, uuid.UUID, str | None]]


def _load_component(
    session: Session, ctx: WorkspaceContext, start: Iterable[Identifier], through: set[uuid.UUID]
) -> Component:
    """The connected part of the graph around ``start``; blocked identifiers are not
    crossed, except those in ``through`` (just blocked: their old links are re-examined)."""
    nodes: dict[uuid.UUID, Identifier] = {i.id: i for i in start}
    links = LinkRepository.from_session(session)
    idents = IdentifierRepository.from_session(session)
    edges: dict[tuple[uuid.UUID, uuid.UUID], str | None] = {}
    frontier = [i.id for i in nodes.values() if not i.blocked or i.id in through]
    while frontier and len(nodes) < MAX_COMPONENT:
        found = links.neighbours(ctx.workspace_id, frontier)
        fresh: set[uuid.UUID] = set()
        for link in found:
            edges[(link.a_id, link.b_id)] = link.message_id
            for n in (link.a_id, link.b_id):
                if n not in nodes:
                    fresh.add(n)
        loaded = idents.by_ids(fresh)
        nodes.update(loaded)
        frontier = [n for n, i in loaded.items() if not i.blocked]
    if len(nodes) >= MAX_COMPONENT:
        log.warning("identity component of %s nodes truncated", len(nodes))
    return Component(nodes=nodes, edges=[(a, b, m) for (a, b), m in edges.items()])


def _choose_profiles(
    groups: list[set[uuid.UUID]],
    nodes: dict[uuid.UUID, Identifier],
    profile_rows: dict[uuid.UUID, Profile],
    hints: dict[uuid.UUID, uuid.UUID],
) -> list[uuid.UUID | None]:
    """Which existing profile each group keeps: a hinted one (a split restores the
    absorbed profile), else the one holding most of the group, else the oldest."""
    order = sorted(range(len(groups)), key=lambda i: (-len(groups[i]), min(map(str, groups[i]))))
    taken: set[uuid.UUID] = set()
    chosen: list[uuid.UUID | None] = [None] * len(groups)
    for i in order:
        group = groups[i]
        hinted = Counter(hints[n] for n in group if n in hints)
        held = Counter(nodes[n].profile_id for n in group if nodes[n].profile_id in profile_rows)
        candidates = [p for p, _ in hinted.most_common()] + sorted(
            (p for p in held if p is not None),
            key=lambda p: (-held[p], profile_rows[p].created_at, str(p)),
        )
        for p in candidates:
            if p not in taken:
                chosen[i] = p
                taken.add(p)
                break
    return chosen


def _evidence(
    comp: Component, moved: set[uuid.UUID], group: set[uuid.UUID], trigger: EventFacts | None
) -> dict[str, object]:
    for a, b, message_id in comp.edges:
        if (a in moved and b in group - moved) or (b in moved and a in group - moved):
            x, y = comp.nodes[a], comp.nodes[b]
            return {
                "identifiers": [f"{x.type}:{x.value}", f"{y.type}:{y.value}"],
                "link_message_id": message_id,
                "event_message_id": trigger.message_id if trigger else None,
            }
    return {"event_message_id": trigger.message_id if trigger else None}


def repartition(
    session: Session,
    ctx: WorkspaceContext,
    start: Iterable[Identifier],
    *,
    trigger: EventFacts | None = None,
    through: set[uuid.UUID] | None = None,
    hints: dict[uuid.UUID, uuid.UUID] | None = None,
    actor: str = "resolver",
    rule: str | None = None,
    evidence: dict[str, object] | None = None,
    recorded: list[Merge] | None = None,
) -> set[uuid.UUID]:
    """Recompute the people of the connected part around ``start`` and apply the change;
    returns the profiles whose identifiers changed (each recomputed). A merge made by
    another rule (a probabilistic match) names it, with its own evidence; the merges
    recorded are appended to ``recorded``."""
    comp = _load_component(session, ctx, start, through or set())
    active = {k: v for k, v in comp.nodes.items() if not v.blocked}
    node_map = {k: graph.Node(v.type, v.value) for k, v in active.items()}
    edges = [(a, b) for a, b, _ in comp.edges]
    separations = SeparationRepository.from_session(session).touching(list(active))
    groups = graph.partition(node_map, edges, ctx.rules.graph, separations=separations)
    before = {k: v.profile_id for k, v in comp.nodes.items()}
    profile_rows = ProfileRepository.from_session(session).by_ids(
        [p for p in set(before.values()) | set((hints or {}).values()) if p is not None]
    )
    chosen = _choose_profiles(groups, comp.nodes, profile_rows, hints or {})
    idents = IdentifierRepository.from_session(session)
    moves = MoveRepository.from_session(session)
    changed: set[uuid.UUID] = set()
    contested = len(groups) > len(graph.connected_components(list(active), edges))
    target_of: dict[uuid.UUID, uuid.UUID] = {}
    for group, profile_id in zip(groups, chosen, strict=True):
        if profile_id is None:
            profile = ProfileRepository.from_session(session).add(
                Profile(workspace_id=ctx.workspace_id, traits={}, stats={})
            )
            profile_rows[profile.id] = profile
            profile_id = profile.id
        profile = profile_rows[profile_id]
        if profile.merged_into_id is not None:
            profile.merged_into_id = None  # revived by a split
            changed.add(profile_id)
        profile.contested = contested
        moved = [n for n in group if before.get(n) != profile_id]
        for n in group:
            target_of[n] = profile_id
        if moved:
            idents.assign(moved, profile_id)
            moves.move_events(moved, profile_id, {before.get(n) for n in moved})
            for n in moved:
                comp.nodes[n].profile_id = profile_id
            changed.add(profile_id)
            changed.update(p for n in moved if (p := before.get(n)) is not None)
    # Blocked identifiers belong to nobody: their events go with the event's next
    # identifier, or stay unattributed when it has none.
    newly_free = [k for k, v in comp.nodes.items() if v.blocked and v.profile_id is not None]
    if newly_free:
        idents.assign(newly_free, None)
        changed.update(p for k in newly_free if (p := before.get(k)) is not None)
        for k in newly_free:
            comp.nodes[k].profile_id = None
        held_by = {before.get(k) for k in newly_free}
        changed.update(_rehome_events(session, ctx, newly_free, held_by))
    merges = _record_merges(
        session, ctx, comp, groups, before, target_of, profile_rows, trigger, actor, rule, evidence
    )
    if recorded is not None:
        recorded.extend(merges)
    for merge in merges:
        absorbed = profile_rows.get(merge.absorbed_id)
        if absorbed is not None and absorbed.merged_into_id == merge.survivor_id:
            # The person's consent follows them; where the two disagreed the stricter
            # state stands.
            consent.on_merge(
                session, ctx.workspace_id, merge.survivor_id, merge.absorbed_id, merge.id
            )
    for profile_id in changed:
        changed_profile = profile_rows.get(profile_id) or session.get(Profile, profile_id)
        if changed_profile is not None and changed_profile.merged_into_id is None:
            profiles.recompute(session, changed_profile, ctx.profile)
            _fill_contact(session, changed_profile)
    # A person gained or lost identifiers, events, a merge: everything may differ.
    changes.note(session, ctx.workspace_id, changed, {changes.EVERYTHING})
    return changed


def _rehome_events(
    session: Session,
    ctx: WorkspaceContext,
    blocked: list[uuid.UUID],
    held_by: set[uuid.UUID | None],
) -> set[uuid.UUID]:
    """Events whose primary identifier was just blocked (held by ``held_by`` until now) get
    their next one."""
    idents = IdentifierRepository.from_session(session)
    receiving: set[uuid.UUID] = set()
    for event in MoveRepository.from_session(session).events_of(blocked, held_by):
        rows = list(idents.find(ctx.workspace_id, _pairs(session, ctx, event)).values())
        primary = primary_of(rows, ctx.rules)
        event.primary_identifier_id = primary.id if primary else None
        event.profile_id = primary.profile_id if primary else None
        event.status = "resolved" if event.profile_id else "unattributed"
        MoveRepository.from_session(session).move_orders([event.id], event.profile_id)
        if event.profile_id is not None:
            receiving.add(event.profile_id)
    session.flush()
    return receiving


def _record_merges(
    session: Session,
    ctx: WorkspaceContext,
    comp: Component,
    groups: list[set[uuid.UUID]],
    before: dict[uuid.UUID, uuid.UUID | None],
    target_of: dict[uuid.UUID, uuid.UUID],
    profile_rows: dict[uuid.UUID, Profile],
    trigger: EventFacts | None,
    actor: str,
    rule: str | None = None,
    evidence: dict[str, object] | None = None,
) -> list[Merge]:
    held_before: dict[uuid.UUID, set[uuid.UUID]] = defaultdict(set)
    for n, p in before.items():
        if p is not None:
            held_before[p].add(n)
    still_holding = set(target_of.values())
    group_of = {n: g for g in groups for n in g}
    repo = MergeRepository.from_session(session)
    made: list[Merge] = []
    for old, old_nodes in held_before.items():
        destinations = Counter(target_of[n] for n in old_nodes if n in target_of)
        for dest, _ in destinations.most_common():
            if dest == old:
                continue
            moved = {n for n in old_nodes if target_of.get(n) == dest}
            group = group_of[next(iter(moved))]
            absorbed_whole = old not in still_holding
            default_rule = "shared_identifier" if absorbed_whole else "conflict_reassignment"
            made.append(
                repo.add(
                    Merge(
                        workspace_id=ctx.workspace_id,
                        survivor_id=dest,
                        absorbed_id=old,
                        rule=rule if rule and absorbed_whole else default_rule,
                        evidence={
                            **_evidence(comp, moved, group, trigger),
                            **(evidence if rule and absorbed_whole and evidence else {}),
                            "by": actor,
                        },
                        survivor_identifiers=sorted(str(n) for n in group - moved),
                        absorbed_identifiers=sorted(str(n) for n in moved),
                    )
                )
            )
        if old not in still_holding and destinations:
            survivor = destinations.most_common(1)[0][0]
            old_profile = profile_rows.get(old)
            if old_profile is not None and old_profile.merged_into_id is None:
                old_profile.merged_into_id = survivor
                MoveRepository.from_session(session).redirect_tombstones(old, survivor)
    return made


def _fill_contact(session: Session, profile: Profile) -> None:
    """Email and phone for search fall back to the person's identifiers."""
    if profile.email and profile.phone:
        return
    for ident in IdentifierRepository.from_session(session).of_profile(profile.id):
        if ident.type == ids.EMAIL and not profile.email:
            profile.email = ident.value
        elif ident.type == ids.PHONE and not profile.phone:
            profile.phone = ident.value


# --- entry points -------------------------------------------------------------------------


def resolve_event(
    session: Session, ctx: WorkspaceContext, event: EventFacts, cache: BatchCache
) -> None:
    touched: set[uuid.UUID] = set()
    rows = _identifiers(session, ctx, event, cache)
    new_links = _link(ctx, event, rows, cache)
    newly_blocked = _block_shared_devices(session, ctx, rows, cache) if new_links else []
    done = (
        not newly_blocked
        and (new_links == 0 or _all_unheld_or_one(rows))
        and _fast_path(session, ctx, rows, new_links, cache)
    )
    if not done:
        cache.write(session)
        cache.new_profiles.clear()
        touched = repartition(
            session, ctx, rows, trigger=event, through={r.id for r in newly_blocked}
        )
        cache.forget(touched)
    primary = primary_of(rows, ctx.rules)
    cache.settle(
        event,
        primary.id if primary else None,
        primary.profile_id if primary else None,
        "resolved" if primary else "unattributed",
    )
    if event.profile_id is not None:
        profile = cache.profile(session, event.profile_id)
        if profile is not None:
            if event.profile_id in touched:
                # The person is recomputed from stored events: this one's row first.
                cache.write(session)
                profiles.record_order(session, event, ctx.profile)
                profiles.recompute(session, profile, ctx.profile)
                _fill_contact(session, profile)
            else:
                cache.fold(event.profile_id, event)
                if profiles.order_event_kind(event) is not None:
                    cache.insert_new_profiles(session)  # an order points at its buyer
                    profiles.apply_order(session, profile, event, ctx.profile)


def _all_unheld_or_one(rows: list[Identifier]) -> bool:
    """New links only matter to the partition when they join identifiers already held by
    a person to others (held or new); links among new identifiers or into one person
    are the fast path's business."""
    held = {r.profile_id for r in rows if not r.blocked and r.profile_id is not None}
    return len(held) <= 1


def pending_workspaces(
    session: Session, limit: int = 50, floors: Floors | None = None
) -> list[uuid.UUID]:
    """Workspaces with events to resolve. With ``floors``, those found above their
    floors, or from the start when that look is due (``Floors.full_due``: after a while
    under load, sooner when nothing is found above the floors)."""
    events = EventRepository.from_session(session)
    if floors is None:
        return events.pending_workspaces(limit)
    if not floors.full_due():
        found = events.pending_above(floors.known())[:limit]
        if found or not floors.full_due(idle=True):
            return found
    found = events.pending_workspaces(limit)
    floors.looked_in_full(found)
    return found


def resolve_pending(
    session: Session,
    workspace_id: uuid.UUID,
    *,
    limit: int = 500,
    ids: list[uuid.UUID] | None = None,
    floors: Floors | None = None,
) -> int:
    """Resolve up to ``limit`` pending events of one workspace, oldest first (only those
    of ``ids`` when given: the resolver isolating an event that fails; only those above
    the workspace's floor with ``floors``, which learn the batch's oldest). The caller
    commits. Serialized per workspace, so resolution never races with itself; its
    statements are planned for their values (``lock_workspace``)."""
    lock_workspace(session, workspace_id, "resolve", plan_each_time=True)
    after = floors.after(workspace_id) if floors is not None else None
    events = EventRepository.from_session(session).pending(workspace_id, limit, ids, after)
    if not events:
        return 0
    if floors is not None:
        floors.read(workspace_id, events[0].id)
    ctx = WorkspaceContext.load(session, workspace_id)
    rest = settle_known(session, ctx, events)
    if not rest:
        record_consent(session, workspace_id, events)
        _note(session, workspace_id, events)
        return len(events)
    cache = BatchCache.prepare(session, ctx, rest)
    # Writes gather in the session and go out together; the paths that query what this
    # batch changed flush first.
    with session.no_autoflush:
        for event in rest:
            resolve_event(session, ctx, event, cache)
    cache.write(session, last=True)
    record_consent(session, workspace_id, events)
    _note(session, workspace_id, events, born=cache.new_profiles.keys())
    return len(events)


def _note(
    session: Session,
    workspace_id: uuid.UUID,
    events: list[PendingEvent],
    born: Iterable[uuid.UUID] = (),
) -> None:
    """Tell who listens which people the batch touched, with which events, and which of
    them it made (a person the batch made has no events but the batch's: one merged
    or moved meanwhile is noted whole by the repartition that did it)."""
    topics = {"activity"}
    for e in events:
        topics.add(f"event:{e.name if e.type == 'track' else e.type}")
        if e.name:
            topics.add(f"event:{e.name}")
        if e.traits or e.type in ("identify", "alias"):
            topics.update(("traits", "identifiers"))
        if profiles.order_event_kind(e) is not None:
            topics.add("orders")
    changes.note(
        session,
        workspace_id,
        (e.profile_id for e in events),
        topics,
        events=[(e.profile_id, e.id) for e in events],
        born=born,
        marks={e.id: e.touch for e in events},
    )


def resolve_now(session: Session, workspace_id: uuid.UUID, event: Event) -> uuid.UUID | None:
    """Resolve one pending event straight away (an inbound message needs its person
    before it can join a conversation); returns the person. The caller commits."""
    if event.status != "pending":
        return event.profile_id
    lock_workspace(session, workspace_id, "resolve")
    ctx = WorkspaceContext.load(session, workspace_id)
    cache = BatchCache.prepare(session, ctx, [event])
    with session.no_autoflush:
        resolve_event(session, ctx, event, cache)
    cache.write(session)
    record_consent(session, workspace_id, [event])
    return event.profile_id


def held_identifiers(
    session: Session, workspace_id: uuid.UUID, pairs: list[tuple[str, str]]
) -> set[tuple[str, str]]:
    """Which of these (type, value) pairs belong to a person and are not blocked (what an
    overlay import may enrich)."""
    found = IdentifierRepository.from_session(session).find(workspace_id, pairs)
    return {p for p, i in found.items() if i.profile_id is not None and not i.blocked}
