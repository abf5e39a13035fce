"""``cchc sweep``: the daily deadline sweep, run now as a Prefect flow."""

from __future__ import annotations

import typer

from cchc.commands.state import AppState
from flows.commands import prefect_logs_to_file


def sweep_command(
    ctx: typer.Context,
    person: str = typer.Option(..., "--as", help="The system (admin) person the sweep acts as."),
) -> None:
    """Run the daily sweep now: reminders, overdue marks, escalations, then delivery."""
    from cchc.commands.cycle_common import (
        acting,
        index_set_path,
        open_workspace,
        organization_path,
        reporting,
        require_any_role,
    )
    from cchc.plan.deadlines import SWEEP_ROLES

    # Checked before Prefect starts: an unknown person exits 2, one without the admin role
    # exits 1 with the refusal audited, instead of a failed flow run and its traceback.
    with reporting(), open_workspace(ctx) as ws:
        require_any_role(ws, acting(ws, person), SWEEP_ROLES, what="run the deadline sweep")
    from cchc.commands.progress import progress_bar
    from flows.sweep import SWEEP_PROGRESS, summary, sweep_flow

    state = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    prefect_logs_to_file(state)
    settings = state.settings()
    with progress_bar("Quét hạn xử lý, gửi thông báo") as progress:
        token = SWEEP_PROGRESS.set(progress)
        try:
            result = sweep_flow(
                settings.database_url,
                str(settings.data_dir),
                person,
                organization=str(organization_path(ctx)),
                index_set=str(index_set_path(ctx)),
            )
        finally:
            SWEEP_PROGRESS.reset(token)
    typer.echo(summary(result))
