"""``cchc db``: the database schema (Alembic migrations)."""

from __future__ import annotations

import typer

from cchc.commands.common import console, safe_url, state_of
from cchc.migrations import current_revisions, revisions_text, upgrade
from workflows.database import make_engine

app = typer.Typer(help="Manage the database schema.", no_args_is_help=True)


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Create or migrate the schema to the latest revision."""
    settings = state_of(ctx).settings()
    engine = make_engine(settings.database_url)
    try:
        before = current_revisions(engine)
        upgrade(engine)
        after = current_revisions(engine)
    finally:
        engine.dispose()
    console.print(
        f"Database {safe_url(settings.database_url)}: "
        f"{revisions_text(before) if before else 'empty'} → {revisions_text(after)}",
        highlight=False,
    )
