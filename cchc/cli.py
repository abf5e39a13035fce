"""The ``cchc`` command line.

Starting it stays cheap: this module imports typer and nothing heavy, and each sub-command's
module (``cchc.commands.*``, with SQLAlchemy, the engine, openpyxl, matplotlib …) is imported
only when that sub-command runs or shows its own help. ``cchc --help`` lists them from
``SUBCOMMANDS`` below without importing any. Prefect is imported by the flow commands only.
"""

from __future__ import annotations

import importlib
from difflib import get_close_matches
from pathlib import Path

import typer
from typer import _click
from typer.core import TyperCommand, TyperGroup

from cchc.commands.state import AppState, prefect_logs_to_file

SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (module under cchc.commands, its Typer (or command function), the help it shows)
    "definitions": ("definitions", "app", "Check workflow definitions and draw them."),
    "db": ("db", "app", "Manage the database schema."),
    "audit": ("audit", "app", "Verify and query the audit trail; histories for inspectors."),
    "keys": ("keys_cmd", "app", "Make the key that signs the audit checkpoints."),
    "assessments": ("assessments_cmd", "app",
                    "List sub-criterion assessments; approve, return and lock them."),
    "review": ("review_cmd", "app", "Review meetings (giao ban): report, draft notice, follow-up."),
    "notify": ("notify_cmd", "app", "Deliver queued notifications."),
    "org": ("reference", "org_app", "Check and show the organization (units and people)."),
    "index-set": ("reference", "index_app",
                  "Check and show the index set (areas, criteria, sub-criteria)."),
    "plan": ("plan_cmd", "app", "Write a plan template, check a plan file, issue a plan."),
    "tasks": ("tasks_cmd", "app", "List plan tasks and act on them."),
    "evidence": ("evidence_cmd", "app", "Submit, review and list evidence; coverage of a plan."),
    "metrics": ("metrics_cmd", "app", "Check and import metric values per unit and period."),
    "score": ("score_cmd", "app", "Score a plan's period and explain the scores."),
    "rank": ("rank_cmd", "app", "Rank the ward's units for a plan's period."),
    "city": ("city_cmd", "app", "The city: its wards by block and their ranking."),
    "serve": ("serve_cmd", "serve_command",
              "Serve the web application on the data folder / database of the CLI."),
    "users": ("users_cmd", "app",
              "Accounts of the web application: invite, reset, list, disable."),
    "export": ("export_cmd", "export_command",
               "Write the self-assessment table and report and the ranking, from the latest "
               "scores."),
}  # fmt: skip
"""Sub-commands loaded on use. ``tests/test_cli.py`` checks each help against its module's."""


def load_subcommand(name: str) -> _click.Command:
    """Import the module of sub-command ``name`` and build its click command."""
    module_name, attribute, _ = SUBCOMMANDS[name]
    target = getattr(importlib.import_module(f"cchc.commands.{module_name}"), attribute)
    command: _click.Command
    if isinstance(target, typer.Typer):
        command = typer.main.get_group(target)
    else:  # a plain command function
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name
    return command


class LazyGroup(TyperGroup):
    """The top-level group: lists ``SUBCOMMANDS`` by name and help, imports one when it runs."""

    def list_commands(self, ctx: _click.Context) -> list[str]:
        """The loaded-on-use sub-commands first, then the ones defined in this module."""
        return [*SUBCOMMANDS, *(name for name in self.commands if name not in SUBCOMMANDS)]

    def get_command(self, ctx: _click.Context, cmd_name: str) -> _click.Command | None:
        """The command if loaded; for listing, a stand-in carrying the sub-command's help."""
        if cmd_name in SUBCOMMANDS and cmd_name not in self.commands:
            return TyperCommand(cmd_name, help=SUBCOMMANDS[cmd_name][2])
        return super().get_command(ctx, cmd_name)

    def load_all(self) -> None:
        """Load every sub-command (for tools that walk the whole command tree)."""
        for name in SUBCOMMANDS:
            self.commands.setdefault(name, load_subcommand(name))

    def resolve_command(
        self, ctx: _click.Context, args: list[str]
    ) -> tuple[str | None, _click.Command | None, list[str]]:
        """Load the sub-command about to run (also used by shell completion)."""
        if args and args[0] in SUBCOMMANDS and args[0] not in self.commands:
            self.commands[args[0]] = load_subcommand(args[0])
        try:
            return super().resolve_command(ctx, args)
        except _click.exceptions.UsageError as error:  # typer suggests loaded commands only
            matches = get_close_matches(args[0], self.list_commands(ctx)) if args else []
            if matches and "Did you mean" not in error.message:
                suggestions = ", ".join(repr(match) for match in matches)
                error.message = f"{error.message.rstrip('.')}. Did you mean {suggestions}?"
            raise


app = typer.Typer(
    name="cchc",
    help="CCHC workflow engine: definitions, database, audit trail and demo.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=LazyGroup,
)


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
    verbose: bool = typer.Option(
        False, "--verbose",
        help="Also show Prefect's own log lines (always in DATA_DIR/logs/prefect.log).",
    ),
) -> None:  # fmt: skip
    """Global options, given before the sub-command."""
    from workflows import channel  # no imports of its own: ``cchc --help`` stays light

    token = channel.enter(channel.cli_channel())  # every audit event records the CLI's channel
    ctx.call_on_close(lambda: channel.leave(token))
    ctx.obj = AppState(data_dir=data_dir, database_url=database_url,
                       organization=organization, index_set=index_set,
                       city=city, tenant=tenant or None, verbose=verbose)  # fmt: skip


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
    raise typer.Exit(
        run_demo(state.settings().data_dir, out=out, force=force, verbose=state.verbose)
    )


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

    state = ctx.obj if isinstance(ctx.obj, AppState) else AppState()
    prefect_logs_to_file(state)
    settings = state.settings()
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


if __name__ == "__main__":
    main()
