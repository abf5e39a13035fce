"""``cchc definitions``: check definition files and draw their state diagrams."""

from __future__ import annotations

from pathlib import Path

import typer

from cchc.commands.common import console, fail
from cchc.runtime import definitions_dir, registry
from notifications.catalog import template_names
from workflows.definition.loader import check_paths
from workflows.diagram import mermaid
from workflows.errors import DefinitionError, UnknownKindError

app = typer.Typer(help="Check workflow definitions and draw them.", no_args_is_help=True)


@app.command("check")
def check(
    paths: list[Path] = typer.Argument(
        None, help="Files or folders to check (default: the definitions folder)."
    ),
) -> None:
    """Validate definitions; print every problem as `file:line: CODE message` and exit 1."""
    targets = paths or [definitions_dir()]
    missing = [p for p in targets if not p.exists()]
    if missing:
        raise fail(f"no such file or folder: {', '.join(map(str, missing))}")
    definitions, problems = check_paths(targets, registry=registry(), templates=template_names())
    for problem in problems:
        typer.echo(problem.format())
    if definitions is None:
        typer.echo(f"{len(problems)} problem(s) found.", err=True)
        raise typer.Exit(1)
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
    from cchc.runtime import load

    try:
        definition = load(directory).get(kind)
    except (DefinitionError, UnknownKindError) as exc:
        raise fail(str(exc)) from exc
    typer.echo(mermaid(definition), nl=False)
