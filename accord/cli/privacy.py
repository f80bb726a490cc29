"""``accord privacy ...``: data-subject requests (record, list, export, erase) and the
retention policies, from the command line. Actions are audited as ``cli``."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Annotated

import typer

from accord.cli.context import heard_factory, settings, unit_of_work
from accord.cli.data import WorkspaceOpt, find_workspace
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.kit.db import create_db_engine, create_session_factory, read_only, transaction
from accord.kit.errors import AccordError
from accord.kit.time import utcnow
from accord.privacy import erase, export, service
from accord.privacy.schemas import RequestRead, RetentionReport
from accord.privacy.tasks import run_workspace

privacy_app = typer.Typer(
    help="Data-subject requests (export, erase) and retention.", no_args_is_help=True
)

RequestArg = Annotated[str, typer.Argument(help="The request's id (from `accord privacy list`).")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON.")]


def _fail(error: AccordError) -> typer.Exit:
    field = f" ({error.field})" if error.field else ""
    typer.secho(f"error: {error.message}{field} [{error.code}]", fg="red", err=True)
    return typer.Exit(2)


def _request_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise _fail(AccordError("Not a request id", "invalid", 422, "request_id")) from None


def _show(r: RequestRead, as_json: bool) -> None:
    if as_json:
        typer.echo(r.model_dump_json(indent=2))
        return
    due = "OVERDUE" if r.overdue else f"due {r.due_at:%Y-%m-%d}"
    typer.echo(
        f"{r.id}  {r.kind:<6}  {r.status:<11}  {due:<14}  "
        f"{r.identifier_type}:{r.identifier_value or r.identifier_hint}  "
        f"profiles={r.found.get('profiles', 0)} events={r.found.get('events', 0)}"
    )


@privacy_app.command("request")
def request_command(
    kind: Annotated[str, typer.Argument(help="export, access or erase")],
    identifier: Annotated[
        str, typer.Argument(help="TYPE:VALUE, e.g. email:ana@example.com or phone:+14155550100")
    ],
    workspace: WorkspaceOpt,
    note: Annotated[str | None, typer.Option(help="How it came, how it was verified.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Record a data-subject request by any identifier; the person is looked up at once."""
    type_name, sep, value = identifier.partition(":")
    if not sep or not value:
        raise _fail(AccordError("Give the identifier as TYPE:VALUE", "invalid", 422, "identifier"))
    with unit_of_work(settings()) as session:
        ws = find_workspace(session, workspace)
        made = service.create(
            session,
            Principal.cli(ws.id),
            kind=kind,
            identifier_type=type_name,
            identifier_value=value,
            note=note,
        )
        _show(service.read(made), as_json)


@privacy_app.command("list")
def list_command(
    workspace: WorkspaceOpt,
    status: Annotated[str | None, typer.Option(help="received, in_progress, completed...")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Only those past due.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """The workspace's requests, latest first, with their due dates."""
    with unit_of_work(settings()) as session:
        ws = find_workspace(session, workspace)
        rows = service.list_requests(session, ws.id, status=status, overdue=overdue, limit=500)
        now = utcnow()
        read = [service.read(r, now) for r in rows]
        if as_json:
            typer.echo(json.dumps([r.model_dump(mode="json") for r in read], indent=2))
            return
        for r in read:
            _show(r, False)
        open_count, overdue_count = service.counts(session, ws.id)
        typer.echo(f"{open_count} open, {overdue_count} overdue")


@privacy_app.command("export")
def export_command(
    request_id: RequestArg,
    workspace: WorkspaceOpt,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Zip file (default person-ID.zip).")
    ] = None,
) -> None:
    """Write the person's data (person.json, its schema, their files) to a zip."""
    s = settings()
    rid = _request_id(request_id)
    with unit_of_work(s) as session:
        ws = find_workspace(session, workspace)
        actor = Principal.cli(ws.id)
        _, person = service.start_export(session, actor, rid, via="cli")
    target = output or Path(f"person-{rid}.zip")
    engine = create_db_engine(s.resolved_database_url)
    factory = create_session_factory(engine)
    contents = export.Contents()
    try:
        with read_only(factory) as reader, target.open("wb") as out:
            found_ws = reader.get(Workspace, ws.id)
            assert found_ws is not None
            row = service.get(reader, ws.id, rid)
            for chunk in export.stream(
                reader, found_ws, row, person, data_dir=s.data_dir, contents=contents
            ):
                out.write(chunk)
        with transaction(factory) as writer:
            service.complete_export(writer, actor, rid, contents.as_receipt())
    except AccordError as error:
        raise _fail(error) from None
    finally:
        engine.dispose()
    counts = ", ".join(f"{k} {v}" for k, v in sorted(contents.counts.items()))
    typer.echo(f"wrote {target} ({contents.bytes:,} bytes): {counts}; files {contents.files}")


@privacy_app.command("erase")
def erase_command(
    request_id: RequestArg,
    workspace: WorkspaceOpt,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Erase the person of an erase request everywhere, for good; prints the receipt."""
    s = settings()
    rid = _request_id(request_id)
    if not yes:
        typer.confirm("Erase this person everywhere? This cannot be undone", abort=True)
    with heard_factory(s) as factory, unit_of_work(s, factory) as session:
        ws = find_workspace(session, workspace)
        done = erase.erase_request(
            session, Principal.cli(ws.id), rid, data_dir=s.data_dir, redis_url=s.redis_url
        )
        read = service.read(done)
    if as_json:
        typer.echo(read.model_dump_json(indent=2))
        return
    receipt = read.receipt
    typer.echo(
        f"erased {read.identifier_type}:{read.identifier_hint}: {receipt.get('profiles')} "
        f"profiles, {receipt.get('files_removed')} files, "
        f"{receipt.get('identifiers_suppressed')} identifiers suppressed"
    )
    for table, n in (receipt.get("tables") or {}).items():
        typer.echo(f"  {table:<24} {n:>8}")


@privacy_app.command("retention")
def retention_command(
    workspace: Annotated[
        str | None,
        typer.Option("--workspace", "-w", envvar="ACCORD_WORKSPACE", help="Id or slug (all)."),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only count what would be removed.")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """Apply the retention policies of a workspace (or of every workspace) now."""
    s = settings()
    with unit_of_work(s) as session:
        if workspace is not None:
            targets = [(find_workspace(session, workspace).id, workspace)]
        else:
            targets = [(w.id, w.slug) for w in session.query(Workspace).order_by(Workspace.name)]
    reports: dict[str, RetentionReport] = {}
    with heard_factory(s) as factory:
        for workspace_id, name in targets:
            reports[name] = run_workspace(
                factory,
                workspace_id,
                dry_run=dry_run,
                data_dir=s.data_dir,
                trigger="cli",
                actor=Principal.cli(workspace_id),
            )
    if as_json:
        typer.echo(json.dumps({k: v.model_dump(mode="json") for k, v in reports.items()}, indent=2))
        return
    verb = "would remove" if dry_run else "removed"
    for name, report in reports.items():
        typer.echo(f"{name}:")
        for k in report.kinds:
            kept = f"{k.days} days" if k.days else "kept for good"
            typer.echo(f"  {k.kind:<22} {kept:<14} {verb} {k.count:,}")
