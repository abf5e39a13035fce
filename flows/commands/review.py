"""``cchc review``: the review-meeting group of ``cchc.commands.review_cmd`` with ``review
run``, which runs the meeting's Prefect flow now (the scheduled deployment runs the same)."""

from __future__ import annotations

from pathlib import Path

import typer

from cchc.commands.common import state_of
from cchc.commands.cycle_common import (
    AS_HELP,
    JSON_HELP,
    acting,
    index_set_path,
    open_workspace,
    organization_path,
    print_json,
    reporting,
    require_plan,
    require_roles,
    say,
)
from cchc.commands.review_cmd import _month_in_plan, app
from flows.commands import prefect_logs_to_file

__all__ = ["app"]


@app.command("run")
def run(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="The plan under review."),
    month: str = typer.Option(
        ..., help="The month, YYYY-MM (e.g. 2025-11), a week YYYY-Www, or previous."
    ),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    chair: str = typer.Option(None, help="Who chairs (default: the Chairman)."),
    out: Path = typer.Option(
        None,
        help="Folder for the report and notice (default DATA_DIR/review); a sub-folder per month.",
    ),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Run the monthly-review flow at once (the scheduled deployment runs the same flow)."""
    from flows.review import monthly_review_flow  # imports prefect: only when the flow runs

    settings = state_of(ctx).settings()
    # Checked before Prefect starts: an unknown person exits 2 with a hint, not a traceback.
    with reporting(), open_workspace(ctx) as ws:
        require_roles(ws, acting(ws, person), "meeting")
        require_plan(ws, plan)
        chair_id = chair or ws.organization.chairman.id
        acting(ws, chair_id, "--chair")
        month = _month_in_plan(ws, plan, month)
    folder = out or settings.data_dir / "review"
    prefect_logs_to_file(state_of(ctx))
    # The flow opens its own workspace: it gets this ward's files (--tenant/--org, --index-set).
    result = monthly_review_flow(
        settings.database_url,
        str(settings.data_dir),
        plan,
        month,
        person,
        chair_id,
        str(folder),
        organization=str(organization_path(ctx)),
        index_set=str(index_set_path(ctx)),
    )
    if as_json:
        print_json(result)
        return
    say(
        f"[green]✓[/] Giao ban {month}: {result['conclusions']} kết luận dự kiến; "
        f"tệp trong {folder}"
    )
    for path in result["files"]:
        say(f"   {path}")


# Listed first in `cchc review --help`, as before it moved here.
app.registered_commands.insert(0, app.registered_commands.pop())
