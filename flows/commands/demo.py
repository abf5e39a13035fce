"""``cchc demo``: the half-year of the Phù Liễn sample, running its Prefect flows."""

from __future__ import annotations

from pathlib import Path

import typer

from cchc.commands.state import AppState


def demo_command(
    ctx: typer.Context,
    out: Path = typer.Option(
        None, help="Folder for the XLSX, DOCX and PNG files (default: DATA_DIR/demo-output)."
    ),
    force: bool = typer.Option(False, help="Replace a database the demo did not create."),
) -> None:
    """Run the CCHC half-year of the Phù Liễn sample on a fresh SQLite database."""
    from flows.demo import run_demo

    state = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    raise typer.Exit(
        run_demo(state.settings().data_dir, out=out, force=force, verbose=state.verbose)
    )
