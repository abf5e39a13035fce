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

from cchc.commands.state import AppState

SUBCOMMANDS: dict[str, tuple[str, str, str]] = {
    # name: (its module, its Typer (or command function), the help it shows)
    "definitions": (
        "cchc.commands.definitions",
        "app",
        "Check workflow definitions and draw them.",
    ),
    "db": ("cchc.commands.db", "app", "Manage the database schema."),
    "audit": (
        "cchc.commands.audit",
        "app",
        "Verify and query the audit trail; histories for inspectors.",
    ),
    "keys": ("cchc.commands.keys_cmd", "app", "Make the key that signs the audit checkpoints."),
    "assessments": (
        "cchc.commands.assessments_cmd",
        "app",
        "List sub-criterion assessments; approve, return and lock them.",
    ),
    "review": (
        "flows.commands.review",
        "app",
        "Review meetings (giao ban): report, draft notice, follow-up.",
    ),
    "notify": ("cchc.commands.notify_cmd", "app", "Deliver queued notifications."),
    "org": (
        "cchc.commands.reference",
        "org_app",
        "Check and show the organization (units and people).",
    ),
    "index-set": (
        "cchc.commands.reference",
        "index_app",
        "Check and show the index set (areas, criteria, sub-criteria).",
    ),
    "plan": (
        "cchc.commands.plan_cmd",
        "app",
        "Write a plan template, check a plan file, issue a plan.",
    ),
    "tasks": ("cchc.commands.tasks_cmd", "app", "List plan tasks and act on them."),
    "evidence": (
        "cchc.commands.evidence_cmd",
        "app",
        "Submit, review and list evidence; coverage of a plan.",
    ),
    "metrics": (
        "cchc.commands.metrics_cmd",
        "app",
        "Check and import metric values per unit and period.",
    ),
    "score": ("cchc.commands.score_cmd", "app", "Score a plan's period and explain the scores."),
    "rank": ("cchc.commands.rank_cmd", "app", "Rank the ward's units for a plan's period."),
    "city": ("cchc.commands.city_cmd", "app", "The city: its wards by block and their ranking."),
    "serve": (
        "cchc.commands.serve_cmd",
        "serve_command",
        "Serve the web application on the data folder / database of the CLI.",
    ),
    "users": (
        "cchc.commands.users_cmd",
        "app",
        "Accounts of the web application: invite, reset, list, disable.",
    ),
    "export": (
        "cchc.commands.export_cmd",
        "export_command",
        ("Write the self-assessment table and report and the ranking, from the latest scores."),
    ),
    # The commands that run Prefect flows live with the flows (``cchc`` imports no ``flows``).
    "demo": (
        "flows.commands.demo",
        "demo_command",
        "Run the CCHC half-year of the Phù Liễn sample on a fresh SQLite database.",
    ),
    "deploy": (
        "flows.commands.deploy",
        "deploy_command",
        ("Register the review meeting (and the daily sweep) as Prefect deployments (GMT+7 cron)."),
    ),
    "sweep": (
        "flows.commands.sweep",
        "sweep_command",
        "Run the daily sweep now: reminders, overdue marks, escalations, then delivery.",
    ),
}
"""Sub-commands loaded on use, by module path. ``tests/test_cli.py`` checks each help against
its module's."""


def load_subcommand(name: str) -> _click.Command:
    """Import the module of sub-command ``name`` and build its click command."""
    module_name, attribute, _ = SUBCOMMANDS[name]
    target = getattr(importlib.import_module(module_name), attribute)
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
        None,
        "--data-dir",
        envvar="CCHC_DATA_DIR",
        help="Data folder (SQLite file, stored files). Default: ./var",
    ),
    database_url: str = typer.Option(
        None,
        "--database-url",
        envvar="CCHC_DATABASE_URL",
        help="SQLAlchemy URL; default: SQLite in the data folder.",
    ),
    organization: Path = typer.Option(
        None,
        "--org",
        envvar="CCHC_ORGANIZATION",
        help="Organization file (units, people, roles). Default: the Phù Liễn sample.",
    ),
    index_set: Path = typer.Option(
        None,
        "--index-set",
        envvar="CCHC_INDEX_SET",
        help="Index set file. Default: the 2025 ward sample.",
    ),
    city: Path = typer.Option(
        None,
        "--city",
        envvar="CCHC_CITY",
        help="City file (wards, city officials). Default: the Hải Phòng sample.",
    ),
    tenant: str = typer.Option(
        None,
        "--tenant",
        envvar="CCHC_TENANT",
        help="Ward (tenant code) of the city file to work on, instead of --org.",
    ),
    verbose: bool = typer.Option(
        False,
        "--verbose",
        help="Also show Prefect's own log lines (always in DATA_DIR/logs/prefect.log).",
    ),
) -> None:
    """Global options, given before the sub-command."""
    from workflows import channel  # no imports of its own: ``cchc --help`` stays light

    token = channel.enter(channel.cli_channel())  # every audit event records the CLI's channel
    ctx.call_on_close(lambda: channel.leave(token))
    ctx.obj = AppState(
        data_dir=data_dir,
        database_url=database_url,
        organization=organization,
        index_set=index_set,
        city=city,
        tenant=tenant or None,
        verbose=verbose,
    )


def main() -> None:
    """Console-script entry point."""
    app()


if __name__ == "__main__":
    main()
