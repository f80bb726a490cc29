"""Analytics > Segments: the list (size, last built, status; duplicate, archive, restore),
a segment's page (its size over time, the definition in words, a sample of its members,
recent entries and exits, and why one person is or is not in it) and the Segments card
of the Customer 360. The builder is ``segment_builder.py``."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from accord.analyze.segments import api as segments_api
from accord.analyze.segments import queries, rules, service
from accord.analyze.segments.api import segment_engine
from accord.analyze.segments.explain import describe
from accord.analyze.segments.schemas import SegmentRead
from accord.customers import queries as customer_queries
from accord.govern.access.scopes import Scope
from accord.govern.workspaces.models import Workspace
from accord.kit.deps import DbSession
from accord.kit.errors import AccordError, invalid, not_found
from accord.profile.models import Profile
from accord.profile.queries import live_profile
from accord.web.auth import Console, ConsoleUser
from accord.web.pages import page

router = APIRouter(prefix="/segments", include_in_schema=False)

MEMBERS_PAGE = 20
HISTORY = 25
PERIODS = (30, 90, 365)
NOTICES = {
    "archived": "archived: its members left it and it is no longer kept up to date",
    "restored": "restored and built again",
}


# --- words ---------------------------------------------------------------------------------


def all_segments(session: Session, console: Console) -> list[SegmentRead]:
    """Every segment of the workspace, archived ones too, by name: the REST API's list."""
    rows: list[SegmentRead] = segments_api.list_segments(session, console.principal, True)["data"]
    return rows


def names_of(segments: list[SegmentRead]) -> dict[str, str]:
    """Segments' names by id (a definition may name any of them, archived ones too)."""
    return {str(s.id): s.name for s in segments}


def named(text: str, names: dict[str, str]) -> str:
    """A description with the segments it names by name rather than by id."""
    for sid, name in names.items():
        if sid in text:
            text = text.replace(f"segment {sid}", f"segment “{name}”")
    return text


def words(node: Any, names: dict[str, str]) -> dict[str, Any]:
    """The rule tree as nested lines of words (``explain.describe`` on each node)."""
    children: list[Any] = []
    if isinstance(node, rules.Group):
        children = node.conditions
    elif isinstance(node, rules.Not):
        children = [node.condition]
    link = str(node.segment_id) if isinstance(node, rules.SegmentCondition) else None
    return {
        "kind": node.kind,
        "text": named(describe(node), names),
        "link": link,
        "children": [words(c, names) for c in children],
    }


def why_tree(tree: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``queries.why``'s tree in the shape of ``words``, with ``holds`` on each node."""
    children = tree.get("conditions") or ([tree["condition"]] if "condition" in tree else [])
    return {
        "kind": tree["kind"],
        "text": named(tree["text"], names),
        "holds": tree["holds"],
        "children": [why_tree(c, names) for c in children],
    }


# --- the chart -----------------------------------------------------------------------------


@dataclass
class Chart:
    """A size-over-time line drawn as SVG on the server: coordinates in a fixed view box
    the page scales to its width."""

    width: int
    height: int
    line: str
    area: str
    ticks: list[tuple[float, int]]  # (y, size)
    labels: list[tuple[float, str, str]]  # (x, text, anchor)
    points: list[tuple[float, float, float, str, int]]  # (x, y, band width, day, size)
    last: tuple[float, float, int]
    summary: str
    left: int
    right: int
    top: int
    bottom: float


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5 times a power of ten at or above ``value`` (4 at least)."""
    if value <= 4:
        return 4
    step = 1
    while True:
        for m in (1, 2, 5):
            if m * step >= value:
                return m * step
        step *= 10


def _day(day: str) -> str:
    d = date.fromisoformat(day)
    return f"{d.strftime('%b')} {d.day}"


def chart(points: list[tuple[str, int]], width: int = 720, height: int = 200) -> Chart:
    left, right, top, bottom = 44, 14, 12, 26
    top_value = nice_ceiling(max((s for _, s in points), default=0))
    inner_w, inner_h = width - left - right, height - top - bottom
    n = len(points)
    step = inner_w / (n - 1) if n > 1 else inner_w

    def x(i: int) -> float:
        return round(left + i * step, 1) if n > 1 else left + inner_w / 2

    def y(size: int) -> float:
        return round(top + (1 - size / top_value) * inner_h, 1)

    coords = [(x(i), y(s)) for i, (_, s) in enumerate(points)]
    line = " ".join(f"{'M' if i == 0 else 'L'}{cx},{cy}" for i, (cx, cy) in enumerate(coords))
    base = top + inner_h
    area = f"{line} L{coords[-1][0]},{base} L{coords[0][0]},{base} Z" if coords else ""
    ticks = [(y(v), v) for v in (0, top_value // 2, top_value)]
    picks = sorted({0, n // 2, n - 1}) if n else []
    anchors = {0: "start", n - 1: "end"}
    labels = [(x(i), _day(points[i][0]), anchors.get(i, "middle")) for i in picks]
    band = max(step, 1.0)
    bands = [
        (round(cx - band / 2, 1), cy, round(band, 1), day, size)
        for (cx, cy), (day, size) in zip(coords, points, strict=True)
    ]
    sizes = [s for _, s in points]
    summary = (
        f"Size over the last {n} days: {sizes[0]:,} on {points[0][0]}, "
        f"{sizes[-1]:,} on {points[-1][0]}; lowest {min(sizes):,}, highest {max(sizes):,}"
        if points
        else "No sizes yet"
    )
    last = (coords[-1][0], coords[-1][1], sizes[-1]) if points else (0.0, 0.0, 0)
    return Chart(
        width, height, line, area, ticks, labels, bands, last, summary, left, right, top, base
    )


# --- finding a person ----------------------------------------------------------------------


def find_person(session: Session, workspace_id: uuid.UUID, text: str) -> Profile:
    """A live person by profile id, email, phone, ``type:value`` of any identifier, user
    id, or a name that only one person has."""
    text = text.strip()
    if not text:
        raise invalid("Type an email, a phone, an id or a name", field="person")
    try:
        return live_profile(session, workspace_id, uuid.UUID(text))
    except ValueError:
        pass
    workspace = session.get(Workspace, workspace_id)
    region = workspace.default_region if workspace else "US"
    tries: list[dict[str, str]] = []
    if ":" in text and "@" not in text:
        tries.append({"identifier": text})
    elif "@" in text:
        tries.append({"email": text})
    else:
        if any(c.isdigit() for c in text) and not any(c.isalpha() for c in text):
            tries.append({"phone": text})
        tries.append({"user_id": text})
    for given in tries:
        try:
            type_name, value = customer_queries.parse_lookup(
                email=given.get("email"),
                phone=given.get("phone"),
                user_id=given.get("user_id"),
                anonymous_id=None,
                identifier=given.get("identifier"),
                region=region,
            )
            return customer_queries.lookup(session, workspace_id, type_name, value)
        except AccordError:
            continue
    found = customer_queries.search(session, workspace_id, text, limit=2, offset=0)
    if len(found) == 1:
        return found[0]
    if found:
        raise invalid(f"More than one person matches “{text}”: give an email or id", "person")
    raise not_found(f"Person “{text}”", field="person")


# --- the list ------------------------------------------------------------------------------


def _list_page(
    request: Request,
    session: Session,
    console: Console,
    *,
    archived: bool = False,
    error: AccordError | None = None,
    notice: str | None = None,
) -> HTMLResponse:
    console.principal.require(Scope.ANALYTICS_READ)
    rows = all_segments(session, console)
    shown = [s for s in rows if (s.status == "archived") == archived]
    return page(
        request,
        session,
        console,
        "segments/list.html",
        "segments",
        status_code=error.status if error else 200,
        segments=shown,
        archived=archived,
        active_count=sum(1 for s in rows if s.status == "active"),
        archived_count=sum(1 for s in rows if s.status == "archived"),
        can_write=console.principal.has(Scope.SEGMENTS_WRITE),
        error=error,
        notice=notice,
    )


@router.get("")
def segments_list(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    archived: bool = False,
    done: str | None = None,
    sid: uuid.UUID | None = None,
) -> HTMLResponse:
    notice = None
    if done in NOTICES and sid is not None:
        try:
            row = service.get(session, console.principal.workspace_id, sid)
            notice = f"“{row.name}” {NOTICES[done]}."
        except AccordError:
            notice = None
    return _list_page(request, session, console, archived=archived, notice=notice)


# Duplicate, archive and restore are the REST API's own functions, called for the
# signed-in user once their role may change segments.


@router.post("/{segment_id:uuid}/duplicate")
def duplicate(
    request: Request, session: DbSession, console: ConsoleUser, segment_id: uuid.UUID
) -> Response:
    """A copy named "(copy)", built, opened in the builder to be changed."""
    console.principal.require(Scope.SEGMENTS_WRITE)
    engine = segment_engine(request)
    copy = segments_api.duplicate_segment(segment_id, request, session, console.principal, engine)
    return RedirectResponse(
        f"/segments/{copy.segment.id}/edit?copied={segment_id}", status_code=303
    )


@router.post("/{segment_id:uuid}/archive")
def archive(
    request: Request, session: DbSession, console: ConsoleUser, segment_id: uuid.UUID
) -> Response:
    """Members leave it; refused (409, on the list) while another segment uses it."""
    console.principal.require(Scope.SEGMENTS_WRITE)
    service.get(session, console.principal.workspace_id, segment_id)  # 404 first
    try:
        with session.begin_nested():
            segments_api.archive_segment(segment_id, session, console.principal)
    except AccordError as error:
        return _list_page(request, session, console, error=error)
    return RedirectResponse(f"/segments?done=archived&sid={segment_id}", status_code=303)


@router.post("/{segment_id:uuid}/restore")
def restore(
    request: Request, session: DbSession, console: ConsoleUser, segment_id: uuid.UUID
) -> Response:
    console.principal.require(Scope.SEGMENTS_WRITE)
    engine = segment_engine(request)
    segments_api.restore_segment(segment_id, request, session, console.principal, engine)
    return RedirectResponse(f"/segments?done=restored&sid={segment_id}", status_code=303)


def people_of(
    session: Session, workspace_id: uuid.UUID, ids: list[uuid.UUID]
) -> dict[uuid.UUID, Profile]:
    """The people of a page of history, each looked up (a few dozen at most): one
    merged into another since is shown as the person they became, one erased not at
    all."""
    out: dict[uuid.UUID, Profile] = {}
    for pid in ids:
        try:
            out[pid] = live_profile(session, workspace_id, pid)
        except AccordError:
            continue
    return out


# --- a segment -----------------------------------------------------------------------------


@router.get("/{segment_id:uuid}")
def segment_page(
    request: Request,
    session: DbSession,
    console: ConsoleUser,
    segment_id: uuid.UUID,
    days: int = 90,
    person: str | None = None,
    after: uuid.UUID | None = None,
    saved: str | None = None,
) -> HTMLResponse:
    console.principal.require(Scope.ANALYTICS_READ)
    workspace_id = console.principal.workspace_id
    segment = service.get(session, workspace_id, segment_id)
    days = days if days in PERIODS else 90
    names = names_of(all_segments(session, console))
    members = segments_api.segment_members(
        segment.id, session, console.principal, MEMBERS_PAGE, after
    )
    changes = queries.history(session, segment, HISTORY)
    people = people_of(session, workspace_id, sorted({c.profile_id for c in changes}))
    explained: dict[str, Any] | None = None
    explain_error: AccordError | None = None
    if person:
        try:
            who = find_person(session, workspace_id, person)
            got = queries.why(session, segment_engine(request), segment, who.id)
            explained = {
                "person": who,
                "member": got["member"],
                "holds": got["holds"],
                "tree": why_tree(got["tree"], names),
            }
        except AccordError as error:
            explain_error = error
    return page(
        request,
        session,
        console,
        "segments/segment.html",
        "segments",
        segment=segment,
        words=words(rules.parse(segment.definition), names),
        chart=chart(queries.sizes(session, segment, days)),
        days=days,
        periods=PERIODS,
        members=members.data,
        next_after=members.next_after,
        after=after,
        changes=changes,
        people=people,
        person=person or "",
        explained=explained,
        explain_error=explain_error,
        saved=saved,
        can_write=console.principal.has(Scope.SEGMENTS_WRITE),
        definition_json=segment.definition,
    )


# --- the Customer 360 ----------------------------------------------------------------------


def person_segments(
    request: Request, session: Session, console: Console, profile_id: uuid.UUID
) -> dict[str, Any] | None:
    """The 360's Segments card: the person's segments now (since when), their latest
    entries and exits, and their computed traits. None for a role that reads no
    analytics."""
    if not console.principal.has(Scope.ANALYTICS_READ):
        return None
    workspace_id = console.principal.workspace_id
    got = queries.of_profile(session, workspace_id, profile_id)
    computed = queries.computed_values(session, segment_engine(request), workspace_id, profile_id)
    return {"current": got["current"], "history": got["history"][:10], "computed": computed}
