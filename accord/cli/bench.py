"""``accord bench``: benchmarks that print their figures."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import TaskID

from accord.cli import bench_resolve
from accord.cli.bench_run import MigratedDatabaseOpt, run_bench
from accord.cli.context import progress_bar, settings
from accord.kit.db import create_db_engine, create_session_factory

bench_app = typer.Typer(help="Benchmarks (they print their figures).", no_args_is_help=True)
bench_app.command("resolve")(bench_resolve.bench_resolve)
bench_app.command("resolve-db")(bench_resolve.bench_resolve_db)


@bench_app.command("ingest")
def bench_ingest(
    events: Annotated[int, typer.Option(help="Events to send.", min=100)] = 20000,
    concurrency: Annotated[int, typer.Option(help="Concurrent clients.", min=1)] = 8,
    batch_size: Annotated[int, typer.Option(help="Messages per /v1/batch request.")] = 100,
    workers: Annotated[int, typer.Option(help="Server worker processes.")] = 2,
    accept_only: Annotated[
        bool,
        typer.Option(
            "--accept-only",
            help="Measure accepting alone: the server's resolver is off and the events "
            "are removed afterwards.",
        ),
    ] = False,
    rate: Annotated[
        float | None,
        typer.Option(
            help="Steady load: send this many events a second (with --seconds) and report "
            "resolution while it lasts, freshness and the lag at its end.",
            min=1,
        ),
    ] = None,
    seconds: Annotated[
        float, typer.Option(help="How long the steady load lasts (with --rate).", min=1)
    ] = 60,
) -> None:
    """Events/s and latency through /v1/batch, the raw insert limit, and resolution; with
    --rate, a steady load and whether resolution keeps up."""
    from accord.bench import ingest, ingest_steady

    if rate is not None:
        if accept_only:
            typer.echo("error: --rate measures resolution; it cannot be --accept-only", err=True)
            raise typer.Exit(2)
        steady_rate = rate
        run_bench(
            "Sending",
            int(rate * seconds),
            lambda factory, url, data_dir, progress: ingest_steady.run(
                factory,
                url,
                data_dir,
                rate=steady_rate,
                seconds=seconds,
                concurrency=concurrency,
                batch_size=batch_size,
                workers=workers,
                progress=progress,
            ),
        )
        return
    run_bench(
        "Sending",
        events,
        lambda factory, url, data_dir, progress: ingest.run(
            factory,
            url,
            data_dir,
            events=events,
            concurrency=concurrency,
            batch_size=batch_size,
            workers=workers,
            accept_only=accept_only,
            gc_threshold=settings().gc_threshold,
            progress=progress,
        ),
    )


@bench_app.command("touches")
def bench_touches(
    events: Annotated[int, typer.Option(help="Events to accept and resolve.", min=100)] = 40_000,
    mix: Annotated[
        str, typer.Option(help="site (pages mostly from the site's own pages) or bench.")
    ] = "site",
) -> None:
    """The acquisition touches that follow resolution, alone: CPU per event of the job
    and of the database, and how many events it reads back."""
    from accord.bench import touches

    if mix not in touches.MIXES:
        raise typer.BadParameter(f"--mix is one of {', '.join(touches.MIXES)}")
    run_bench(
        "Accepting and resolving",
        events,
        lambda factory, url, data_dir, progress: touches.run(
            factory, url, data_dir, events=events, mix=mix, progress=progress
        ),
    )


@bench_app.command("visitors")
def bench_visitors(
    events: Annotated[int, typer.Option(help="Visitors, a page view each.", min=100)] = 20_000,
    kind: Annotated[
        str, typer.Option(help="new (each event makes a person) or known (seen before).")
    ] = "new",
) -> None:
    """The resolver alone on visitors known by a browser: CPU, wall time, the database's
    CPU and write-ahead log, and the costliest statements, each an event."""
    from accord.bench import visitors

    if kind not in visitors.KINDS:
        raise typer.BadParameter(f"--kind is one of {', '.join(visitors.KINDS)}")
    run_bench(
        "Accepting",
        events,
        lambda factory, url, data_dir, progress: visitors.run(
            factory,
            url,
            data_dir,
            events=events,
            kind=kind,
            gc_threshold=settings().gc_threshold,
            progress=progress,
        ),
    )


@bench_app.command("lookup")
def bench_lookup(
    profiles: Annotated[int, typer.Option(help="Profiles to load.", min=100)] = 100_000,
    events: Annotated[int, typer.Option(help="Events to load.", min=100)] = 1_000_000,
    samples: Annotated[int, typer.Option(help="Requests to time.", min=10)] = 500,
) -> None:
    """p50/p99 of lookup by email and of the 360 view on a large workspace."""
    from accord.bench import lookup

    run_bench(
        "Seeding profiles and events",
        profiles,
        lambda factory, url, data_dir, progress: lookup.run(
            factory,
            url,
            data_dir,
            profiles=profiles,
            events=events,
            samples=samples,
            progress=progress,
        ),
    )


@bench_app.command("privacy")
def bench_privacy(
    profiles: Annotated[int, typer.Option(help="Profiles to load.", min=10)] = 1_000_000,
    events: Annotated[int, typer.Option(help="Events to load.", min=100)] = 10_000_000,
    samples: Annotated[int, typer.Option(help="Consent checks to time.", min=10)] = 2000,
    database_url: MigratedDatabaseOpt = None,
) -> None:
    """p50/p99 of the consent check, and the time to export and to erase one person, on a
    large workspace."""
    from accord.bench import privacy

    run_bench(
        "Seeding events and profiles",
        events + profiles,
        lambda factory, url, data_dir, progress: privacy.run(
            factory,
            url,
            data_dir,
            profiles=profiles,
            events=events,
            samples=samples,
            gc_threshold=settings().gc_threshold,
            progress=progress,
        ),
        database_url,
    )


@bench_app.command("inbox")
def bench_inbox(
    conversations: Annotated[int, typer.Option(help="Conversations to load.", min=10)] = 100_000,
    messages: Annotated[int, typer.Option(help="Messages to load.", min=10)] = 1_000_000,
    samples: Annotated[int, typer.Option(help="Requests of each kind to time.", min=10)] = 500,
) -> None:
    """p50/p99 of the inbox view and the conversation page on a large inbox."""
    from accord.bench import inbox

    run_bench(
        "Seeding conversations and messages",
        conversations,
        lambda factory, url, data_dir, progress: inbox.run(
            factory,
            url,
            data_dir,
            conversations=conversations,
            messages=messages,
            samples=samples,
            progress=progress,
        ),
    )


@bench_app.command("send")
def bench_send(
    recipients: Annotated[int, typer.Option(help="People in the campaign's segment.", min=10)] = (
        100_000
    ),
    senders: Annotated[
        int, typer.Option(help="Delivery jobs, each a thread with its SMTP sessions.", min=1)
    ] = 1,
    sessions: Annotated[
        int, typer.Option(help="SMTP sessions of each delivery job.", min=1, max=8)
    ] = 4,
    limit_messages: Annotated[
        int, typer.Option(help="Pre-rendered messages sent to measure the limit.", min=10)
    ] = 20_000,
    database_url: Annotated[
        str | None, typer.Option(help="Database to run on (default: the configured one).")
    ] = None,
) -> None:
    """A campaign to N people through an SMTP sink on loopback, end to end, beside the
    sink's limit with pre-rendered messages; every recipient accounted for; memory."""
    from accord.bench import send

    secret = settings().resolved_secret_key
    run_bench(
        "Sending the campaign",
        recipients,
        lambda factory, url, data_dir, progress: send.run(
            factory,
            url,
            data_dir,
            recipients=recipients,
            senders=senders,
            sessions=sessions,
            limit_messages=limit_messages,
            secret_key=secret,
            progress=progress,
        ),
        database_url,
    )


@bench_app.command("journeys")
def bench_journeys(
    people: Annotated[int, typer.Option(help="People waiting in the journey.", min=10)] = 100_000,
    idle: Annotated[float, typer.Option(help="Seconds of waiting measured.", min=1)] = 20.0,
    database_url: Annotated[
        str | None, typer.Option(help="Database to run on (default: the configured one).")
    ] = None,
) -> None:
    """N people waiting in a journey on the real job engine: CPU while they wait, and how
    soon every step is taken when their timers end together."""
    from accord.bench import journeys

    s = settings()
    if database_url:
        s = s.on_database(database_url)
    run_bench(
        "People waiting, then their steps",
        people,
        lambda factory, url, data_dir, progress: journeys.run(
            factory, s, people=people, idle=idle, lead=5.0, progress=progress
        ),
        database_url,
    )


@bench_app.command("chat")
def bench_chat(
    clients: Annotated[int, typer.Option(help="Visitor WebSockets held open.", min=1)] = 1000,
    rounds: Annotated[int, typer.Option(help="Agent replies per visitor.", min=1)] = 2,
    workers: Annotated[int, typer.Option(help="Server worker processes.", min=1)] = 2,
    rate: Annotated[float, typer.Option(help="Agent replies per second, in all.")] = 100.0,
) -> None:
    """Delivery p50/p99 of chat messages with N visitors connected and agents answering."""
    from accord.bench import chat

    redis_url = settings().redis_url
    if workers > 1 and not redis_url:
        typer.echo("error: several workers fan out through Redis: set ACCORD_REDIS_URL", err=True)
        raise typer.Exit(2)
    run_bench(
        "Connecting visitors",
        clients,
        lambda factory, url, data_dir, progress: chat.run(
            factory,
            url,
            data_dir,
            clients=clients,
            rounds=rounds,
            workers=workers,
            rate=rate,
            redis_url=redis_url,
            progress=progress,
        ),
    )


@bench_app.command("helpcenter")
def bench_helpcenter(
    articles: Annotated[int, typer.Option(help="Articles to publish.", min=10)] = 10_000,
    searches: Annotated[int, typer.Option(help="Past searches to load.", min=0)] = 1_000_000,
    samples: Annotated[int, typer.Option(help="Questions to time.", min=10)] = 500,
    cold: Annotated[
        bool, typer.Option("--cold", help="Time it before the tables have statistics.")
    ] = False,
    database_url: MigratedDatabaseOpt = None,
) -> None:
    """p50/p99 of the help center's search page, instant results and article page, with
    many articles published and many past searches kept."""
    from accord.bench import helpcenter

    run_bench(
        "Publishing articles and loading past searches",
        articles + searches // 100,
        lambda factory, url, data_dir, progress: helpcenter.run(
            factory,
            url,
            data_dir,
            articles=articles,
            searches=searches,
            samples=samples,
            analyze=not cold,
            progress=progress,
        ),
        database_url,
    )


@bench_app.command("segments")
def bench_segments(
    profiles: Annotated[int, typer.Option(help="Profiles to load.", min=10)] = 1_000_000,
    events: Annotated[int, typer.Option(help="Events to load.", min=100)] = 10_000_000,
    rate: Annotated[
        int, typer.Option(help="Events a second in the real-time run (0: none).")
    ] = 1000,
    seconds: Annotated[int, typer.Option(help="Seconds of the real-time run.", min=1)] = 60,
    rounds: Annotated[int, typer.Option(help="Size estimates of each segment.", min=1)] = 5,
    workers: Annotated[int, typer.Option(help="Server worker processes.", min=1)] = 2,
    reuse: Annotated[
        bool,
        typer.Option(
            "--reuse",
            help="Load the data set once and keep it for later runs (named bench-segments).",
        ),
    ] = False,
    builds: Annotated[
        bool,
        typer.Option(
            help="Build and rebuild the 20 segments (--no-builds: with --reuse, time the"
            " estimates and the real-time run on the segments an earlier run built)."
        ),
    ] = True,
    database_url: MigratedDatabaseOpt = None,
) -> None:
    """The full build of 20 typical segments, the builder's size estimate p99, and the
    latency from an event accepted to the membership it changes, on a large workspace."""
    from accord.bench import segments

    run_bench(
        "Seeding events and profiles",
        events + profiles,
        lambda factory, url, data_dir, progress: segments.run(
            factory,
            url,
            data_dir,
            profiles=profiles,
            events=events,
            rate=rate,
            seconds=seconds,
            rounds=rounds,
            reuse=reuse,
            workers=workers,
            builds_too=builds,
            progress=progress,
        ),
        database_url,
    )


@bench_app.command("analytics")
def bench_analytics(
    customers: Annotated[
        int, typer.Option(help="Customers to load (every one has orders).", min=10)
    ] = 1_000_000,
    orders: Annotated[
        int, typer.Option(help="Orders to load (at least one a customer).", min=10)
    ] = 10_000_000,
    samples: Annotated[int, typer.Option(help="Requests of each dashboard to time.", min=10)] = 300,
    reuse: Annotated[
        bool,
        typer.Option(
            "--reuse",
            help="Load the data set once and keep it for later runs (named "
            "bench-analytics-CUSTOMERS-ORDERS).",
        ),
    ] = False,
    database_url: Annotated[
        str | None,
        typer.Option(help="The database to load, migrated first (default: the configured one)."),
    ] = None,
) -> None:
    """The full recompute of customer analytics (RFM, lifetime value, churn, personas) on
    a large shop: its time, stages and peak memory; then p50/p99 of the dashboards."""
    from accord.bench import analytics

    if orders < customers:
        typer.secho("error: every customer has an order: --orders >= --customers", err=True)
        raise typer.Exit(2)
    s = settings()
    url = database_url or s.resolved_database_url
    engine = create_db_engine(url)
    try:
        with progress_bar(transient=True) as bar:
            seeding = bar.add_task("Seeding customers, events and orders", total=None)
            shown: dict[str, TaskID] = {}

            def stage(said: str, share: float) -> None:
                if "stage" not in shown:
                    bar.update(seeding, visible=False)
                    shown["stage"] = bar.add_task(said, total=100)
                bar.update(shown["stage"], completed=round(share * 100), description=said[:60])

            result = analytics.run(
                create_session_factory(engine),
                url,
                s.data_dir,
                customers=customers,
                orders=orders,
                samples=samples,
                reuse=reuse,
                gc_threshold=s.gc_threshold,
                progress=lambda n: bar.advance(seeding, n),
                stage=stage,
            )
    finally:
        engine.dispose()
    for line in result.lines():
        typer.echo(line)


@bench_app.command("sentiment")
def bench_sentiment(
    data: Annotated[
        Path | None,
        typer.Option(
            help="A labelled set of posts: a TweetEval-style folder (<split>_text.txt and "
            "<split>_labels.txt, labels 0 negative, 1 neutral, 2 positive) or a TSV/CSV file "
            "of text and label.",
        ),
    ] = None,
    split: Annotated[str, typer.Option(help="The split to score (train, val or test).")] = "test",
    limit: Annotated[int | None, typer.Option(help="Score only the first N posts.", min=1)] = None,
    rounds: Annotated[
        int, typer.Option(help="Timed passes over the posts (the best is kept).", min=1)
    ] = 3,
) -> None:
    """Accuracy, macro-F1, per-class F1 and posts a second of Accord's sentiment beside
    VADER's, on a public labelled set of social posts (no database involved); and the
    posts a second of Accord's intents."""
    from accord.bench import sentiment

    if data is None:
        typer.echo(f"error: no data set. {sentiment.DATA_HELP}", err=True)
        raise typer.Exit(2)
    try:
        with progress_bar(transient=True) as progress:
            task = progress.add_task("Scoring Accord, then VADER, then intents", total=3)
            result = sentiment.run(
                data, split, limit, rounds, progress=lambda n: progress.advance(task, n)
            )
    except sentiment.DataError as e:
        typer.echo(f"error: {e}. {sentiment.DATA_HELP}", err=True)
        raise typer.Exit(2) from e
    for line in result.lines():
        typer.echo(line)


@bench_app.command("social")
def bench_social(
    posts: Annotated[int, typer.Option(help="Posts in the stream heard.", min=100)] = 20_000,
    customers: Annotated[
        int, typer.Option(help="Customers with a Bluesky handle in the identity graph.", min=0)
    ] = 5_000,
    batch: Annotated[int, typer.Option(help="Posts per fetched batch.", min=1)] = 200,
    sentiment_data: Annotated[
        Path | None,
        typer.Option(help="A labelled set of posts: also print sentiment beside VADER's."),
    ] = None,
    database_url: Annotated[
        str | None, typer.Option(help="Database to run on (default: the configured one).")
    ] = None,
) -> None:
    """A stream of posts heard, scored and triaged end to end (mentions per second, the
    triage queue's delay and read time)."""
    from accord.bench import social

    run_bench(
        "Posts heard, scored and triaged",
        posts,
        lambda factory, url, data_dir, progress: social.run(
            factory,
            url,
            posts=posts,
            customers=customers,
            batch=batch,
            progress=progress,
            sentiment_data=sentiment_data,
        ),
        database_url,
    )
