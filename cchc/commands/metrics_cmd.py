"""``cchc metrics``: check and import metric values (CSV or XLSX exports of the portal)."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer
from rich.markup import escape

from cchc.commands.cycle_common import (
    AS_HELP,
    JSON_HELP,
    acting,
    load_reference,
    open_workspace,
    print_json,
    reporting,
    require_roles,
    say,
    stop,
)
from cchc.commands.problems import print_problems
from cchc.indexset.models import IndexSet
from cchc.metrics.values import MetricValue, check_metrics, record_import
from cchc.organization.model import Organization
from workflows.database import unit_of_work

app = typer.Typer(help="Check and import metric values per unit and period.", no_args_is_help=True)


def metric_names(index_set: IndexSet) -> set[str]:
    """Every metric and event name the index set reads (what a file may name)."""
    names = set()
    for sub in index_set.sub_criteria():
        kind, _, name = sub.rule.input.partition(":")
        if kind in {"metric", "events"}:
            names.add(name)
    return names


def _checked(
    org: Organization,
    index_set: IndexSet,
    file: Path,
    period: str | None,
    *,
    importing: bool,
    as_json: bool = False,
) -> list[MetricValue]:
    if not file.is_file():
        raise stop(f"no such file: {file}", 2)
    values, problems = check_metrics(
        file,
        known_units={u.code for u in org.units},
        known_metrics=metric_names(index_set),
        period=period,
    )
    if values is None:
        print_problems(problems, refused=importing, as_json=as_json)
        raise typer.Exit(1)
    return values


@app.command("check")
def check(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or XLSX file."),
    period: str = typer.Option(None, help="The period every row must be for, e.g. 2025-H2."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Check a metrics file; print every problem as `file:row: CODE message` and exit 1."""
    with reporting(as_json):
        org, index_set = load_reference(ctx)
    values = _checked(org, index_set, file, period, importing=False, as_json=as_json)
    if as_json:
        print_json({"ok": True, "file": str(file), "rows": len(values)})
        return
    say(f"[green]✓[/] {escape(str(file))}: {len(values)} dòng hợp lệ (valid rows)")


@app.command("import")
def import_command(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="CSV or XLSX file."),
    period: str = typer.Option(..., help="The period imported, e.g. 2025-H2."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Import metric values for a period; a file with any bad row is refused whole."""
    with reporting(as_json), open_workspace(ctx) as ws:
        actor = acting(ws, person)
        # Up front: importing a known file again is a no-op, for the permitted only.
        require_roles(ws, actor, "metric_import")
        values = _checked(
            ws.organization, ws.index_set, file, period, importing=True, as_json=as_json
        )
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        with unit_of_work(ws.sessions) as session:
            result = record_import(
                session,
                ws.engine,
                actor,
                values,
                period=period,
                file_sha256=digest,
                file_name=file.name,
            )
    if as_json:
        print_json(
            {
                "import_id": result.import_id,
                "period": period,
                "rows": result.rows,
                "superseded": list(result.superseded),
                "sha256": digest,
                "already_present": result.already_present,
            }
        )
        return
    if result.already_present:
        say(
            f"Tệp này đã được nhập cho kỳ {escape(period)} (#{result.import_id}); không có gì "
            "thay đổi (already imported: nothing changed)."
        )
        return
    replaced = (
        f"; thay thế lần nhập (supersedes) #{', #'.join(map(str, result.superseded))}"
        if result.superseded
        else ""
    )
    say(
        f"[green]✓[/] Đã nhập {result.rows} giá trị chỉ số cho kỳ {escape(period)} "
        f"(#{result.import_id}){replaced}"
    )
