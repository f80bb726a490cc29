from __future__ import annotations

import json
import os
import uuid
from typing import Annotated

import typer
from sqlalchemy.orm import Session, sessionmaker

from accord.cli.acquisition import acquisition_app
from accord.cli.bench import bench_app
from accord.cli.context import heard_factory, progress_bar, settings, unit_of_work
from accord.cli.data import export_app, import_command
from accord.cli.match import resolve_command
from accord.cli.privacy import privacy_app
from accord.cli.scoring import scores_app
from accord.cli.worker import worker_app
from accord.govern.access import resets
from accord.govern.access import service as access
from accord.govern.access.principal import Principal
from accord.govern.workspaces import service as workspaces
from accord.kit import migrate

app = typer.Typer(
    help="Accord: collect, resolve, profile, analyze and engage your customers.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
workspace_app = typer.Typer(help="Workspaces (tenants).", no_args_is_help=True)
user_app = typer.Typer(help="Console users.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(workspace_app, name="workspace")
app.add_typer(user_app, name="user")
app.add_typer(export_app, name="export")
app.add_typer(bench_app, name="bench")
app.add_typer(worker_app, name="worker")
app.add_typer(privacy_app, name="privacy")
app.add_typer(scores_app, name="scores")
app.add_typer(acquisition_app, name="acquisition")
app.command("import")(import_command)
app.command("resolve")(resolve_command)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.", envvar="PORT")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    demo_site: Annotated[
        bool, typer.Option("--demo-site", help="Also serve the demo shop at /demo.")
    ] = False,
) -> None:
    """Serve the API and the console."""
    import uvicorn

    from accord.kit.process import Supervisor

    s = settings()
    children: list[Supervisor] = []
    if s.resolve_worker and s.resolve_process:
        children.append(Supervisor(["worker", "resolve"], name="resolver"))
        os.environ["ACCORD_RESOLVE_WORKER"] = "false"  # the API workers leave it to the process
    if s.jobs_worker and s.jobs_process:
        children.append(Supervisor(["worker", "jobs"], name="jobs"))
        os.environ["ACCORD_JOBS_WORKER"] = "false"  # the API workers only enqueue
    for child in children:
        child.start()
    if demo_site:
        os.environ["ACCORD_DEMO_SITE"] = "true"  # read by each worker's create_app()
    if "ACCORD_BASE_URL" not in os.environ:
        # Links sent to customers (surveys, the widget snippet) name where this serves.
        public = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
        os.environ["ACCORD_BASE_URL"] = f"http://{public}:{port}"
    typer.echo(f"Accord console: http://{host}:{port}/   API docs: http://{host}:{port}/docs")
    try:
        uvicorn.run(
            "accord.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=s.log_level,
            proxy_headers=True,
        )
    finally:
        for child in children:
            child.stop()


@app.command("smtp")
def smtp(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 2525,
) -> None:
    """Receive email for every workspace's support addresses (SMTP listener)."""
    import time

    from accord.channels.inbound import InboundHandler, smtp_controller
    from accord.outreach.receipts import email_report

    s = settings()
    with heard_factory(s) as factory:
        handler = InboundHandler(
            factory,
            secret_key=s.resolved_secret_key,
            base_url=s.base_url,
            data_dir=s.ensure_data_dir(),
            reported=email_report,
        )
        controller = smtp_controller(handler, host, port)
        controller.start()
        typer.echo(f"Accord SMTP listener on {host}:{port} (Ctrl+C stops)")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
        finally:
            controller.stop()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply every pending migration."""
    s = settings()
    migrate.upgrade(s.resolved_database_url)
    heads = migrate.current_heads(s.resolved_database_url)
    typer.echo(f"database at {', '.join(heads)} ({s.resolved_database_url.split(':', 1)[0]})")


@workspace_app.command("create")
def workspace_create(
    name: Annotated[str, typer.Argument(help="The business's name.")],
    region: Annotated[str, typer.Option(help="Default phone region (ISO country).")] = "US",
    timezone: Annotated[str, typer.Option(help="IANA time zone.")] = "UTC",
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Create a workspace with a write key and a full-scope API token."""
    with unit_of_work(settings()) as session:
        p = workspaces.create_workspace(session, name, default_region=region, timezone=timezone)
        out = {
            "workspace_id": str(p.workspace.id),
            "name": p.workspace.name,
            "slug": p.workspace.slug,
            "write_key": p.write_key,
            "api_token": p.api_token,
        }
    if as_json:
        typer.echo(json.dumps(out))
    else:
        for k, v in out.items():
            typer.echo(f"{k}: {v}")
        typer.echo("The API token is shown only now; Accord keeps a hash of it.")


@user_app.command("create")
def user_create(
    email: Annotated[str, typer.Argument(help="The user's email (their sign-in).")],
    role: Annotated[str, typer.Option(help="admin, agent or analyst.")],
    workspace: Annotated[uuid.UUID, typer.Option(help="Workspace id.")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    password: Annotated[
        str | None,
        typer.Option(envvar="ACCORD_NEW_USER_PASSWORD", help="Generated when omitted."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON object.")] = False,
) -> None:
    """Add a user to a workspace (creating the account if the email is new)."""
    with unit_of_work(settings()) as session:
        workspaces.get_workspace(session, workspace)
        membership, generated = access.add_member(
            session,
            workspace_id=workspace,
            email=email,
            role=role,
            name=name,
            password=password,
            actor=Principal.cli(workspace),
        )
        out = {
            "user_id": str(membership.user_id),
            "email": membership.user.email,
            "role": membership.role,
            "workspace_id": str(workspace),
        }
        if generated:
            out["password"] = generated
    if as_json:
        typer.echo(json.dumps(out))
    else:
        for k, v in out.items():
            typer.echo(f"{k}: {v}")


@user_app.command("reset-link")
def user_reset_link(
    email: Annotated[str, typer.Argument(help="The email the user signs in with.")],
) -> None:
    """Make a link that sets a new password for a user (works once, within an hour)."""
    s = settings()
    with unit_of_work(s) as session:
        link = resets.issue_reset_link(session, s, email=email)
    typer.echo(link)
    typer.echo(
        "Give this link to its user only: it sets a new password for the account, works "
        "once, within an hour, and signs every session of the account out.",
        err=True,
    )


@app.command()
def demo(
    customers: Annotated[
        int, typer.Option(help="Customers of the demo retailer to generate.", min=0)
    ] = 1500,
) -> None:
    """Create the demo workspace, its admin and sample data; print how to sign in."""
    from accord.demo import service as demo_service
    from accord.demo.load import already_loaded
    from accord.kit.db import create_db_engine, create_session_factory

    s = settings()
    saved = demo_service.load_credentials(s)
    with unit_of_work(s) as session:
        info = demo_service.ensure_demo(session, saved)
    demo_service.save_credentials(s, info)
    engine = create_db_engine(s.resolved_database_url)
    factory = create_session_factory(engine)
    workspace_id = uuid.UUID(info.workspace_id)
    with factory() as session:
        loaded = already_loaded(session, workspace_id)
    if customers and not loaded:
        load_with_progress(factory, workspace_id, customers)
    engine.dispose()
    if customers:
        from accord.demo.conversations import load_conversations

        with unit_of_work(s) as session:
            made = load_conversations(
                session, workspace_id, secret_key=s.resolved_secret_key, base_url=s.base_url
            )
        if made:
            typer.echo(f"Demo inbox: {made} conversations across web, email, phone, chat, social")
    from accord.demo.chat import ensure_identity, ensure_triggers
    from accord.demo.helpcenter import ensure_helpcenter

    with unit_of_work(s) as session:
        ensure_triggers(session, workspace_id)
        ensure_identity(session, workspace_id, s.resolved_secret_key)
        answers = ensure_helpcenter(session, workspace_id)
    if answers:
        typer.echo(
            f"Demo help center: {answers} answers at {s.base_url}/help/{demo_service.DEMO_SLUG}"
        )
    from accord.demo.community import ensure_community

    with unit_of_work(s) as session:
        if ensure_community(session, workspace_id):
            typer.echo(f"Demo community: {s.base_url}/help/{demo_service.DEMO_SLUG}/community")
    if customers and not loaded:
        # Walk-ins known only by name and postcode join their online profiles; run once,
        # on the data just loaded (running `accord demo` again changes nothing).
        from accord.cli.match import run_with_progress

        run = run_with_progress(s, workspace_id, "Demo Outfitters", "duckdb")
        typer.echo(
            f"Probabilistic matching: {run.merged} merged, {run.proposed} for review,"
            f" {run.households} household links"
        )
    if customers:
        from accord.demo.segments import ensure_segments
        from accord.jobs import segment_engine

        with unit_of_work(s) as session:
            built = ensure_segments(session, workspace_id, segment_engine())
        if built:
            typer.echo(f"Demo segments: {built} built (Segments in the console)")
        from accord.demo.outreach import ensure_outreach

        with unit_of_work(s) as session:
            reached = ensure_outreach(session, workspace_id)
        if reached:
            typer.echo(reached)
        from accord.demo.social import ensure_social

        with unit_of_work(s) as session:
            heard = ensure_social(
                session, workspace_id, secret_key=s.resolved_secret_key, base_url=s.base_url
            )
        if heard:
            typer.echo(heard)
        from accord.demo.acquisition import ensure_acquisition

        acquired = ensure_acquisition(s, workspace_id)
        if acquired:
            typer.echo(acquired)
        from accord.cli.scoring import recompute_with_progress, summary

        status, metrics = recompute_with_progress(s, workspace_id)
        if status == "done":
            typer.echo("Customer analytics (Analytics > Customers):")
            typer.echo("  " + summary(metrics).replace("\n", "\n  "))
    state = "created" if info.created else "already set up"
    typer.echo(f"Demo workspace {state}: {info.workspace_id}")
    typer.echo(f"  Console:   {s.base_url}/")
    typer.echo(f"  Sign in:   {info.admin_email} / {info.admin_password}")
    typer.echo(f"  Write key: {info.write_key}")
    typer.echo(
        f"  Demo shop: {s.base_url}/demo/ (the chat widget; Inbox > Live visitors; "
        "served by `accord serve --demo-site`)"
    )
    if info.api_token:
        typer.echo(f"  API token: {info.api_token}")


def load_with_progress(
    factory: sessionmaker[Session], workspace_id: uuid.UUID, customers: int
) -> None:
    from accord.demo.load import load_retail
    from accord.demo.retail import Retail

    total = sum(1 for _ in Retail(customers).messages())
    with progress_bar() as progress:
        sent = progress.add_task("Sending demo events", total=total)
        resolved = progress.add_task("Resolving onto profiles", total=total)
        load_retail(
            factory,
            workspace_id,
            customers,
            on_sent=lambda n: progress.advance(sent, n),
            on_resolved=lambda n: progress.advance(resolved, n),
        )


if __name__ == "__main__":
    app()
