"""``cchc deploy``: the review meeting and the daily sweep as Prefect deployments."""

from __future__ import annotations

import typer

from cchc.commands.state import AppState


def deploy_command(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="The plan the review meetings follow."),
    person: str = typer.Option(..., "--as", help="The focal official the reviews run as."),
    chair: str = typer.Option(..., help="Who chairs the meetings (signs the notice)."),
    cadence: str = typer.Option("monthly", help="monthly or weekly."),
    work_pool: str = typer.Option(None, help="Prefect work pool for a worker to run it."),
    sweep_as: str = typer.Option(
        None, help="Also register the daily deadline sweep, run as this (admin) person."
    ),
) -> None:
    """Register the review meeting (and the daily sweep) as Prefect deployments (GMT+7 cron)."""
    import os

    from cchc.commands.cycle_common import (
        acting,
        open_workspace,
        reporting,
        require_any_role,
        require_plan,
        require_roles,
    )
    from cchc.plan.deadlines import SWEEP_ROLES

    # The scheduled runs act as these people: an unknown person, or one who could not do the
    # work, is refused now (exit 2 / exit 1, audited) rather than in every scheduled run.
    with reporting(), open_workspace(ctx) as ws:
        require_roles(ws, acting(ws, person), "meeting")
        acting(ws, chair)
        require_plan(ws, plan)
        if sweep_as:
            require_any_role(ws, acting(ws, sweep_as), SWEEP_ROLES, what="run the deadline sweep")
    from cchc.vietnam import TIMEZONE
    from flows.deployments import apply, review_spec, sweep_spec

    # Stored absolute: a worker runs the deployments from a folder of its own.
    settings = (ctx.obj if isinstance(ctx.obj, AppState) else AppState()).settings().absolute()
    if not os.environ.get("PREFECT_API_URL"):
        typer.echo(
            "warning: PREFECT_API_URL is not set; a temporary server runs no scheduler "
            "(see README, Schedules)",
            err=True,
        )
    spec = review_spec(
        cadence,
        {
            "database_url": settings.database_url,
            "data_dir": str(settings.data_dir),
            "plan": plan,
            "month": "previous",
            "actor_id": person,
            "chair_id": chair,
            "out_dir": str(settings.data_dir / "review"),
        },
    )
    specs = [spec]
    if sweep_as:
        specs.append(
            sweep_spec(
                {
                    "database_url": settings.database_url,
                    "data_dir": str(settings.data_dir),
                    "system_actor": sweep_as,
                }
            )
        )
    for item in specs:
        deployment_id = apply(item, work_pool)
        typer.echo(f"deployment {item.name} ({deployment_id}): cron {item.cron!r} in {TIMEZONE}")
