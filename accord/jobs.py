"""The deployment's jobs: every background job registered by name on the job engine
(``kit/jobs.py``), and the wiring that lets lower layers start jobs without knowing of
them (changes noted by resolution, consent and the inbox evaluate segments)."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial

from sqlalchemy.orm import Session, sessionmaker

from accord.analyze.acquisition import tasks as acquisition_tasks
from accord.analyze.acquisition import touches as acquisition_touches
from accord.analyze.audiences import tasks as audience_tasks
from accord.analyze.scoring import service as scoring_service
from accord.analyze.scoring import tasks as scoring_tasks
from accord.analyze.segments import service as segment_service
from accord.analyze.segments import tasks as segment_tasks
from accord.analyze.segments.service import Engine
from accord.config import Settings
from accord.helpcenter import tasks as helpcenter_tasks
from accord.inbox.scoring_facts import ServiceHistory, service_costs
from accord.inbox.segment_facts import FACTS
from accord.kit import changes
from accord.kit.jobs import Jobs, crontab
from accord.kit.time import utcnow
from accord.outreach import tasks as outreach_tasks
from accord.outreach.job import Deployment
from accord.outreach.journeys import tasks as journey_tasks
from accord.social import tasks as social_tasks
from accord.social.sources import registry as social_sources


def segment_engine(jobs: Jobs | None = None) -> Engine:
    """The segment engine with the inbox's service facts, and (given the jobs) timers
    and deliveries scheduled on the job engine: after every commit that changed
    memberships, the audiences' dispatch of the workspace."""
    if jobs is None:
        return Engine(facts=FACTS)
    dispatch = audience_tasks.DispatchSoon(jobs)

    def changed(workspace_id: uuid.UUID) -> None:
        dispatch(workspace_id)
        jobs.enqueue("journeys.segments", workspace_id)

    return Engine(
        facts=FACTS,
        schedule_sweep=lambda workspace_id, at: jobs.enqueue(
            "segments.sweep", workspace_id, at, at=at
        ),
        changed=changed,
    )


def scoring_inputs() -> scoring_service.Inputs:
    """What customer analytics reads of the inbox: service history and its costs."""
    return scoring_service.Inputs(service=ServiceHistory(), costs_of=service_costs)


def build(settings: Settings, factory: sessionmaker[Session]) -> tuple[Jobs, Engine]:
    jobs = Jobs(settings, factory)
    engine = segment_engine(jobs)
    jobs.task("segments.drain", partial(segment_tasks.drain, engine=engine))
    jobs.periodic("segments.drain_all", partial(segment_tasks.drain_all, engine=engine), crontab())
    jobs.task("acquisition.follow", acquisition_tasks.follow)
    jobs.periodic("acquisition.follow_all", acquisition_tasks.follow_all, crontab())
    jobs.task("segments.build", partial(segment_tasks.build, engine=engine))
    jobs.task("segments.sweep", partial(segment_tasks.sweep, engine=engine))
    jobs.periodic("segments.sweep_due", partial(segment_tasks.sweep_due, engine=engine), crontab())
    jobs.periodic(
        "segments.calendar", partial(segment_tasks.calendar, engine=engine), crontab(minute="*/15")
    )
    sender = audience_tasks.sender(jobs)
    jobs.task("audiences.dispatch", partial(audience_tasks.dispatch, sender=sender))
    jobs.task(
        "audiences.deliver",
        partial(audience_tasks.deliver, secret_key=settings.resolved_secret_key, sender=sender),
    )
    jobs.periodic("audiences.sweep", partial(audience_tasks.sweep, sender=sender), crontab())
    jobs.periodic("audiences.prune", audience_tasks.prune, crontab(minute="7"))
    jobs.periodic("helpcenter.publish_due", helpcenter_tasks.publish_due, crontab())
    deployment = Deployment(
        secret_key=settings.resolved_secret_key,
        base_url=settings.base_url,
        sessions=settings.outreach_sessions,
    )
    jobs.task(
        "outreach.deliver",
        partial(outreach_tasks.deliver, deployment=deployment),
        retries=0,  # a delivery stopped midway is recovered and started again by the sweep
    )
    jobs.periodic("outreach.sweep", partial(outreach_tasks.sweep, enqueue=jobs.enqueue), crontab())
    jobs.task("journeys.advance", partial(journey_tasks.advance, enqueue=jobs.enqueue))
    jobs.task("journeys.hear", partial(journey_tasks.hear, enqueue=jobs.enqueue))
    jobs.task("journeys.segments", partial(journey_tasks.segments, enqueue=jobs.enqueue))
    jobs.task("journeys.deliver", partial(journey_tasks.deliver, deployment=deployment), retries=0)
    jobs.periodic("journeys.sweep", partial(journey_tasks.sweep, enqueue=jobs.enqueue), crontab())
    jobs.periodic(
        "journeys.dates", partial(journey_tasks.on_dates, enqueue=jobs.enqueue), crontab(minute="5")
    )
    listening = social_tasks.Listening(
        connectors=social_sources.connectors(),
        secret_key=settings.resolved_secret_key,
        base_url=settings.base_url,
        private_hosts=settings.social_private_hosts,
    )
    jobs.task(
        "social.fetch",
        partial(social_tasks.fetch, listening=listening, enqueue=jobs.enqueue),
        retries=0,  # a failed fetch is recorded on its source, which backs off
    )
    jobs.task("social.open", partial(social_tasks.open_conversations, listening=listening))
    jobs.periodic("social.watch", partial(social_tasks.watch, listening=listening), crontab())
    jobs.periodic(
        "social.sweep",
        partial(social_tasks.sweep, listening=listening, enqueue=jobs.enqueue),
        crontab(),
    )
    inputs = scoring_inputs()

    def rebuild_on_scores(workspace_id: uuid.UUID) -> None:
        with factory() as session:
            ids = segment_service.depending_on(session, workspace_id, "scores")
        for segment_id in ids:
            jobs.enqueue("segments.build", workspace_id, segment_id)

    jobs.task(
        "scoring.recompute",
        partial(scoring_tasks.recompute, inputs=inputs, after=rebuild_on_scores),
        retries=2,  # a run that could not start (a locked database) is tried again
        retry_delay=5,
    )
    jobs.periodic(
        "scoring.nightly",
        partial(scoring_tasks.nightly, enqueue=jobs.enqueue),
        crontab(minute="30", hour="3"),
    )
    return jobs, engine


class TopicsInUse:
    """What each workspace's active segments depend on, as this process last read it (at
    most ``ttl`` seconds ago)."""

    def __init__(self, ttl: float = 5.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self.clock = clock
        self._seen: dict[uuid.UUID, tuple[float, frozenset[str]]] = {}

    def read(self, session: Session, workspace_id: uuid.UUID) -> frozenset[str]:
        now = self.clock()
        held = self._seen.get(workspace_id)
        if held is None or now - held[0] > self.ttl:
            held = (now, segment_service.topics_in_use(session, workspace_id))
            self._seen[workspace_id] = held
        return held[1]

    def held(self, workspace_id: uuid.UUID) -> frozenset[str] | None:
        held = self._seen.get(workspace_id)
        return None if held is None else held[1]


def evaluate_on_change(jobs: Jobs, in_use: TopicsInUse | None = None) -> changes.Listener:
    """What a change starts: the people it touched kept in its own transaction, then,
    once committed, a job that evaluates every change waiting for the workspace.

    The job is started only when a segment of the workspace depends on what changed (a
    chat message in a workspace with no segment on service facts starts nothing). The
    people are kept either way, so a segment created while the change commits still
    hears of it: the minutely ``segments.drain_all`` evaluates what no job was started
    for."""
    in_use = in_use or TopicsInUse()

    def record(session: Session, change: changes.Changes) -> None:
        segment_service.note_dirty(session, change.workspace_id, change.profiles, change.topics)
        in_use.read(session, change.workspace_id)

    def committed(change: changes.Changes) -> None:
        held = in_use.held(change.workspace_id)
        if held is None or segment_service.asks_for(held, change.topics):
            jobs.enqueue("segments.drain", change.workspace_id)

    return changes.Listener(committed=committed, record=record)


def listen_to_changes(
    jobs: Jobs, factory: sessionmaker[Session], *, touches_later: float | None = None
) -> list[changes.Listener]:
    """Everything that hears what a transaction of ``factory`` changed about people, set
    alike in every process that changes them (the API workers, the resolver process and
    the job consumers): the segments' evaluation, each person's acquisition touches, and
    the events active journeys wait for. ``touches_later`` (the resolver process, the
    commands; ``ACCORD_TOUCHES_FOLLOW_SECONDS``) keeps the touches' work in the change
    and leaves it to a job (``acquisition.follow``) that many seconds later, so a
    stream's batches reach their people without waiting for it, and the batches
    committed meanwhile are advanced together. Returns the listeners, for
    ``changes.unlisten``."""
    later = Soon(jobs, "acquisition.follow", after=touches_later) if touches_later else None
    listeners = [
        evaluate_on_change(jobs),
        acquisition_touches.listener(later),
        # Events some journey listens for, kept with the change and heard by a job.
        journey_tasks.listener(jobs.enqueue),
    ]
    for listener in listeners:
        changes.listen(factory, listener)
    return listeners


class Soon:
    """Starts the job ``name`` of a workspace ``after`` seconds from now, unless the one
    started last for it is not yet due: that one takes this change too, since it begins
    once due, after this change committed. A stream's batches that commit within
    ``after`` seconds are so followed by one job, each person advanced once. (``after``:
    ``ACCORD_TOUCHES_FOLLOW_SECONDS``, as ``listen_to_changes`` passes it.)"""

    def __init__(
        self,
        jobs: Jobs,
        name: str,
        after: float,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], datetime] = utcnow,
    ) -> None:
        self.jobs = jobs
        self.name = name
        self.after = after
        self.clock = clock
        self.wall = wall
        self._due: dict[uuid.UUID, float] = {}
        self._lock = threading.Lock()

    def __call__(self, workspace_id: uuid.UUID) -> None:
        with self._lock:
            now = self.clock()
            due = self._due.get(workspace_id)
            if due is not None and now < due:
                return
            self._due[workspace_id] = now + self.after
        self.jobs.enqueue(self.name, workspace_id, at=self.wall() + timedelta(seconds=self.after))
