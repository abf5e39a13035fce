"""``cchc definitions``: check definition files, draw their state diagrams, register them."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from cchc.commands.common import console, fail
from cchc.commands.problems import print_problems
from cchc.runtime import definitions_dir, load, registry
from notifications.catalog import template_names

if TYPE_CHECKING:
    from cchc.reference_data import Snapshot
from workflows.definition.loader import check_paths
from workflows.diagram import mermaid
from workflows.errors import DefinitionError, UnknownKindError

app = typer.Typer(help="Check workflow definitions and draw them.", no_args_is_help=True)


@app.command("check")
def check(
    paths: list[Path] = typer.Argument(
        None, help="Files or folders to check (default: the definitions folder)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of lines."),
) -> None:
    """Validate definitions; print every problem as `file:line: CODE message` and exit 1."""
    targets = paths or [definitions_dir()]
    missing = [p for p in targets if not p.exists()]
    if missing:
        raise fail(f"no such file or folder: {', '.join(map(str, missing))}")
    definitions, problems = check_paths(targets, registry=registry(), templates=template_names())
    if definitions is None:
        print_problems(problems, refused=False, as_json=as_json)
        raise typer.Exit(1)
    if as_json:
        kinds = [
            {
                "kind": kind,
                "version": d.version,
                "title": d.title,
                "states": len(d.states),
                "transitions": len(d.transitions),
                "content_hash": d.content_hash,
            }
            for kind, d in definitions.workflows.items()
        ]
        typer.echo(
            json.dumps(
                {"ok": True, "problems": [asdict(p) for p in problems], "definitions": kinds},
                ensure_ascii=False,
                indent=2,
            )
        )
        return
    for problem in problems:
        typer.echo(problem.format())
    for kind, definition in definitions.workflows.items():
        console.print(
            f"[green]✓[/] {kind} v{definition.version} ({definition.title}): "
            f"{len(definition.states)} states, {len(definition.transitions)} transitions, "
            f"hash {definition.content_hash[:12]}",
            highlight=False,
        )


@app.command("diagram")
def diagram(
    kind: str = typer.Argument(..., help="The kind to draw, e.g. approval_request."),
    directory: Path = typer.Option(None, "--dir", help="Definitions folder."),
) -> None:
    """Print a Mermaid state diagram of KIND."""

    try:
        definition = load(directory).get(kind)
    except (DefinitionError, UnknownKindError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(mermaid(definition), nl=False)


@app.command("apply")
def apply_definitions(
    ctx: typer.Context,
    person: str = typer.Option(..., "--as", help="The administrator registering them."),
    yes: bool = typer.Option(False, "--yes", help="Register without asking."),
) -> None:
    """Register the definitions folder in use (CCHC_DEFINITIONS_DIR or the project's): workflow
    definitions, roles, calendar, emulation configuration and task deadlines, for the ward
    (admin)."""
    from cchc.commands.apply_common import apply, folder_definitions
    from cchc.plan.deadlines import load_policy
    from cchc.reference_data import deadlines_snapshot, definitions_snapshot, file_snapshot
    from cchc.workspace import Workspace

    def read(ws: Workspace) -> list[Snapshot]:
        directory = definitions_dir()
        deadlines = directory / "task-deadlines.yaml"
        definitions = folder_definitions(ws.sessions)  # not the registered ones in ws.engine
        return [
            definitions_snapshot(definitions, directory),
            file_snapshot("calendar", directory / "calendar.yaml"),
            file_snapshot("emulation", directory / "emulation.yaml"),
            deadlines_snapshot(load_policy(deadlines), deadlines),
        ]

    apply(ctx, ("definitions", "calendar", "emulation", "deadlines"), read, person, yes)
