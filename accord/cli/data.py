"""``accord import`` and ``accord export``: files in and out of a workspace."""

from __future__ import annotations

import json
import sys
import uuid
from functools import partial
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.orm import Session

from accord.cli.context import (
    bulk_settings,
    heard_factory,
    progress_bar,
    settings,
    unit_of_work,
)
from accord.cli.resolving import alongside
from accord.collect import imports
from accord.customers import export as profile_export
from accord.govern.access.principal import Principal
from accord.govern.workspaces.models import Workspace
from accord.govern.workspaces.repository import WorkspaceRepository
from accord.kit.errors import AccordError
from accord.resolve import service as resolve
from accord.resolve import settings as identity
from accord.resolve.worker import resolve_workspace

export_app = typer.Typer(help="Export data from a workspace.", no_args_is_help=True)

WorkspaceOpt = Annotated[
    str, typer.Option("--workspace", "-w", envvar="ACCORD_WORKSPACE", help="Workspace id or slug.")
]


def find_workspace(session: Session, ref: str) -> Workspace:
    repo = WorkspaceRepository.from_session(session)
    try:
        found = repo.get(uuid.UUID(ref))
    except ValueError:
        found = repo.get_by_slug(ref)
    if found is None:
        raise AccordError(f"No workspace {ref!r}", code="not_found", status=404, field="workspace")
    return found


def import_command(
    kind: Annotated[str, typer.Argument(help="contacts, orders, events or overlay")],
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSONL")],
    workspace: WorkspaceOpt,
    map_: Annotated[
        list[str] | None,
        typer.Option(
            "--map",
            help="column=identifier:TYPE, column=trait:NAME, column=property:NAME, "
            "column=timestamp, column=event or column=skip (repeatable)",
        ),
    ] = None,
    mapping_file: Annotated[
        Path | None, typer.Option(help="JSON object of column -> target.", exists=True)
    ] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="csv or jsonl")] = None,
    channel: Annotated[str | None, typer.Option(help="Channel of the rows (store...).")] = None,
    report_file: Annotated[
        Path | None, typer.Option("--report", help="Write the full report as JSON here.")
    ] = None,
) -> None:
    """Import contacts, orders, events or a third-party overlay from CSV or JSONL."""
    if kind not in imports.KINDS:
        typer.secho(f"error: kind is one of {', '.join(imports.KINDS)}", fg="red", err=True)
        raise typer.Exit(2)
    s = bulk_settings()
    try:
        mapping = imports.Mapping.parse(map_ or [], mapping_file)
    except AccordError as error:
        typer.secho(f"error: {error.message} [{error.code}]", fg="red", err=True)
        raise typer.Exit(2) from None
    with unit_of_work(s) as session:
        ws = find_workspace(session, workspace)
        workspace_id = ws.id
    total = sum(1 for _ in imports.read_rows(file, fmt))
    with (
        heard_factory(s) as factory,
        progress_bar() as progress,
        alongside(s.resolved_database_url, s, workspace_id, total) as resolver,
    ):
        read = progress.add_task(f"Importing {file.name}", total=total)
        # Resolved beside the import by a process of its own (a large file), else after
        # it; the total is known once every row is accepted.
        resolving = progress.add_task("Resolving onto profiles", total=None)

        def accepted(n: int) -> None:
            progress.advance(read, n)
            progress.update(resolving, completed=resolver.resolved)

        with unit_of_work(s, factory) as session:
            report = imports.run_import(
                session,
                workspace_id=workspace_id,
                kind=kind,
                rows=imports.read_rows(file, fmt),
                mapping=mapping,
                source=f"import:{kind}:{file.name}",
                channel=channel,
                progress=accepted,
                on_batch=session.commit,
                held=partial(resolve.held_identifiers, session),
                declare=partial(identity.declare_types, session, Principal.cli(workspace_id)),
            )
        progress.update(resolving, total=report.loaded)
        resolver.finish(lambda n: progress.update(resolving, completed=n))
        # What the process left, if any (all of it, for a small file).
        resolve_workspace(factory, workspace_id, on_batch=lambda n: progress.advance(resolving, n))
    typer.echo(
        f"{report.rows} rows: {report.loaded} loaded, {report.duplicates} already imported, "
        f"{len(report.errors)} rejected"
        + (f", {report.unmatched} matched nobody (overlay)" if kind == "overlay" else "")
        + (
            f", {report.suppressed} carried a suppressed identifier (an erased person's)"
            if report.suppressed
            else ""
        )
    )
    if report.declared_types:
        typer.echo(f"declared identifier types: {', '.join(report.declared_types)}")
    for err in report.errors[:50]:
        typer.echo(f"  line {err.line}: {err.field}: {err.reason}", err=True)
    if len(report.errors) > 50:
        typer.echo(f"  ... and {len(report.errors) - 50} more (see --report)", err=True)
    if report_file:
        report_file.write_text(json.dumps(report.as_dict(), indent=2))


@export_app.command("profiles")
def export_profiles(
    workspace: WorkspaceOpt,
    fmt: Annotated[str, typer.Option("--format", help="jsonl or csv")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout).")
    ] = None,
) -> None:
    """Every person with identifiers, traits and computed values."""
    if fmt not in profile_export.FORMATS:
        typer.secho("error: --format is jsonl or csv", fg="red", err=True)
        raise typer.Exit(2)
    s = settings()
    with unit_of_work(s) as session:
        ws = find_workspace(session, workspace)
        out = output.open("w", newline="") if output else sys.stdout
        try:
            for chunk in profile_export.stream(session, ws.id, fmt):
                out.write(chunk)
        finally:
            if output:
                out.close()
