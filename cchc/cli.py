"""The ``cchc`` command line. Importing it never imports prefect; flows import it when they run."""

from __future__ import annotations

from pathlib import Path

import typer

from cchc.commands import audit, db, definitions
from cchc.commands.common import AppState

app = typer.Typer(
    name="cchc",
    help="CCHC workflow engine: definitions, database, audit trail and demo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(definitions.app, name="definitions")
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")


@app.callback()
def main_options(
    ctx: typer.Context,
    data_dir: Path = typer.Option(
        None, "--data-dir", envvar="CCHC_DATA_DIR",
        help="Data folder (SQLite file, stored files). Default: ./var",
    ),
    database_url: str = typer.Option(
        None, "--database-url", envvar="CCHC_DATABASE_URL",
        help="SQLAlchemy URL; default: SQLite in the data folder.",
    ),
) -> None:  # fmt: skip
    """Global options, given before the sub-command."""
    ctx.obj = AppState(data_dir=data_dir, database_url=database_url)


@app.command("demo")
def demo_command(
    ctx: typer.Context,
    out: Path = typer.Option(None, help="Folder for the XLSX, DOCX and PNG files "
                             "(default: DATA_DIR/demo-output)."),
    force: bool = typer.Option(False, help="Replace a database the demo did not create."),
) -> None:  # fmt: skip
    """Run the CCHC half-year of the Phù Liễn sample on a fresh SQLite database."""
    from cchc.demo import run_demo

    state = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    raise typer.Exit(run_demo(state.settings().data_dir, out=out, force=force))


def main() -> None:
    """Console-script entry point."""
    app()
