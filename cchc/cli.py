"""The ``cchc`` command line. Importing it never imports prefect; flows import it when they run."""

from __future__ import annotations

from pathlib import Path

import typer

from cchc.commands import (
    assessments_cmd,
    audit,
    city_cmd,
    db,
    definitions,
    evidence_cmd,
    export_cmd,
    metrics_cmd,
    notify_cmd,
    plan_cmd,
    rank_cmd,
    reference,
    review_cmd,
    score_cmd,
    tasks_cmd,
)
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
app.add_typer(assessments_cmd.app, name="assessments")
app.add_typer(review_cmd.app, name="review")
app.add_typer(notify_cmd.app, name="notify")
app.add_typer(reference.org_app, name="org")
app.add_typer(reference.index_app, name="index-set")
app.add_typer(plan_cmd.app, name="plan")
app.add_typer(tasks_cmd.app, name="tasks")
app.add_typer(evidence_cmd.app, name="evidence")
app.add_typer(metrics_cmd.app, name="metrics")
app.add_typer(score_cmd.app, name="score")
app.add_typer(rank_cmd.app, name="rank")
app.add_typer(city_cmd.app, name="city")
app.command("export")(export_cmd.export_command)


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
    organization: Path = typer.Option(
        None, "--org", envvar="CCHC_ORGANIZATION",
        help="Organization file (units, people, roles). Default: the Phù Liễn sample.",
    ),
    index_set: Path = typer.Option(
        None, "--index-set", envvar="CCHC_INDEX_SET",
        help="Index set file. Default: the 2025 ward sample.",
    ),
    city: Path = typer.Option(
        None, "--city", envvar="CCHC_CITY",
        help="City file (wards, city officials). Default: the Hải Phòng sample.",
    ),
    tenant: str = typer.Option(
        None, "--tenant", envvar="CCHC_TENANT",
        help="Ward (tenant code) of the city file to work on, instead of --org.",
    ),
) -> None:  # fmt: skip
    """Global options, given before the sub-command."""
    ctx.obj = AppState(data_dir=data_dir, database_url=database_url,
                       organization=organization, index_set=index_set,
                       city=city, tenant=tenant or None)  # fmt: skip


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


@app.command("deploy")
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
    from cchc.deadlines import SWEEP_ROLES

    # The scheduled runs act as these people: an unknown person, or one who could not do the
    # work, is refused now (exit 2 / exit 1, audited) rather than in every scheduled run.
    with reporting(), open_workspace(ctx) as ws:
        require_roles(ws, acting(ws, person), "meeting")
        acting(ws, chair)
        require_plan(ws, plan)
        if sweep_as:
            require_any_role(ws, acting(ws, sweep_as), SWEEP_ROLES, what="run the deadline sweep")
    from flows.deployments import TIMEZONE, apply, review_spec, sweep_spec

    settings = ctx.obj.settings() if isinstance(ctx.obj, AppState) else AppState().settings()
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


@app.command("sweep")
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
    from cchc.deadlines import SWEEP_ROLES

    # Checked before Prefect starts: an unknown person exits 2, one without the admin role
    # exits 1 with the refusal audited, instead of a failed flow run and its traceback.
    with reporting(), open_workspace(ctx) as ws:
        require_any_role(ws, acting(ws, person), SWEEP_ROLES, what="run the deadline sweep")
    from cchc.commands.progress import progress_bar
    from flows.sweep import SWEEP_PROGRESS, summary, sweep_flow

    settings = ctx.obj.settings() if isinstance(ctx.obj, AppState) else AppState().settings()
    with progress_bar("Quét hạn xử lý, gửi thông báo") as progress:
        token = SWEEP_PROGRESS.set(progress)
        try:
            result = sweep_flow(settings.database_url, str(settings.data_dir), person,
                                organization=str(organization_path(ctx)),
                                index_set=str(index_set_path(ctx)))  # fmt: skip
        finally:
            SWEEP_PROGRESS.reset(token)
    typer.echo(summary(result))


def main() -> None:
    """Console-script entry point."""
    app()
