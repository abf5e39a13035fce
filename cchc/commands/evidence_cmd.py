"""``cchc evidence``: submit, review and list evidence (tài liệu kiểm chứng); coverage per unit."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cchc import vi_text
from cchc.commands.common import console, errors
from cchc.commands.cycle_common import (
    AS_HELP,
    JSON_HELP,
    READ_AS_HELP,
    acting,
    check_choice,
    instances,
    open_workspace,
    plan_codes,
    print_json,
    reporting,
    require_plan,
    require_reading,
    say,
    state_labels,
    stop,
    table,
)
from cchc.evidence.service import DECISIONS, KIND, coverage, coverage_by_unit, review_evidence
from cchc.evidence.service import submit_evidence as submit_service
from cchc.inspection.evidence_files import check_evidence_files
from cchc.organization.access import read_scope
from cchc.workspace import Workspace
from workflows.database import unit_of_work
from workflows.definition.checks import did_you_mean
from workflows.registry import Actor
from workflows.schema import Instance

app = typer.Typer(
    help="Submit, review and list evidence; coverage of a plan.", no_args_is_help=True
)

UNIT_HELP = "Only this unit's evidence (default for a unit's head or official: their own unit)."

DECISION_LABELS = {
    "accept": "Công nhận",
    "request_changes": "Yêu cầu bổ sung",
    "reject": "Không công nhận",
}


@app.command("submit")
def submit(
    ctx: typer.Context,
    file: Path = typer.Argument(..., help="The evidence file (PDF, DOCX, XLSX, JPG, PNG, ZIP …)."),
    plan: str = typer.Option(..., help="Plan code."),
    target: str = typer.Option(..., help="criterion:1.1.3 or task:NV-01."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    replaces: int = typer.Option(None, help="Id of the evidence this new version replaces."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Submit a file as evidence for a sub-criterion or a task of a plan."""
    if not file.is_file():
        raise stop(f"no such file: {file}", 2)
    with reporting(), open_workspace(ctx) as ws:
        actor = acting(ws, person)
        require_plan(ws, plan)
        with unit_of_work(ws.sessions) as session:
            sub = submit_service(
                session,
                ws.engine,
                ws.store,
                actor,
                plan_code=plan,
                target=target,
                source=file,
                original_name=file.name,
                replaces=replaces,
            )
    if as_json:
        print_json(
            {
                "id": sub.instance_id,
                "ref": sub.ref,
                "state": sub.state,
                "target": sub.target,
                "version": sub.version,
                "sha256": sub.sha256,
                "size": sub.size,
                "media_type": sub.media_type,
                "original_name": sub.original_name,
                "supersedes": sub.supersedes,
                "superseded": list(sub.superseded),
                "already_present": sub.already_present,
            }
        )
        return
    if sub.already_present:
        say(
            f"Tệp này đã được nộp cho {escape(sub.target)} (#{sub.instance_id}, trạng thái "
            f"{escape(sub.state)}); không có gì thay đổi (already submitted: nothing changed)."
        )
        return
    replaced = (
        f"; thay thế (supersedes) #{', #'.join(map(str, sub.superseded))}" if sub.superseded else ""
    )
    say(
        f"[green]✓[/] Đã nộp tài liệu kiểm chứng #{sub.instance_id} cho {escape(sub.target)} "
        f"(kế hoạch {escape(plan)}): {escape(sub.original_name)}, phiên bản {sub.version}"
        f"{replaced}"
    )
    say(f"  sha256 {sub.sha256}")


@app.command("review")
def review(
    ctx: typer.Context,
    evidence_id: int = typer.Argument(..., help="Evidence id (from `cchc evidence list`)."),
    decision: str = typer.Argument(..., help="accept, request_changes or reject."),
    sha256: str = typer.Option(..., "--sha256", help="Hash of the version you reviewed."),
    reason: str = typer.Option(None, help="Why (needed to request changes or reject)."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Decide on evidence, naming the sha256 of the version reviewed."""
    if decision not in DECISIONS:
        raise stop(f"unknown decision {decision!r}; {did_you_mean(decision, DECISIONS)}", 2)
    if decision != "accept" and not (reason or "").strip():
        raise stop(f"{decision} needs --reason", 2)
    with reporting(), open_workspace(ctx) as ws:
        actor = acting(ws, person)
        labels = state_labels(ws, KIND)
        with unit_of_work(ws.sessions) as session:
            result = review_evidence(
                session,
                ws.engine,
                actor,
                evidence_id,
                decision,  # type: ignore[arg-type]  # checked above
                sha256=sha256,
                reason=reason,
            )
    if as_json:
        print_json(
            {
                "id": result.instance_id,
                "ref": result.ref,
                "decision": decision,
                "from_state": result.source,
                "to_state": result.dest,
                "actor": actor.id,
                "notifications": result.notifications,
            }
        )
        return
    say(
        f"[green]✓[/] #{result.instance_id} {escape(result.ref)}: {DECISION_LABELS[decision]} "
        f"→ {escape(labels[result.dest])} ({escape(actor.id)})"
    )


def evidence_json(row: Instance, labels: dict[str, str]) -> dict[str, Any]:
    """An evidence instance as a JSON object."""
    data = json.loads(row.data)
    return {
        "id": row.id,
        "ref": row.ref,
        "plan": data.get("plan"),
        "target": data.get("target"),
        "owner_unit": data.get("owner_unit"),
        "original_name": data.get("original_name"),
        "version": data.get("version"),
        "sha256": data.get("sha256"),
        "size": data.get("size"),
        "media_type": data.get("media_type"),
        "state": row.state,
        "state_label": labels.get(row.state, row.state),
        "submitted_by": row.created_by,
        "submitted_at": vi_text.datetime_text(row.created_at, seconds=True),
        "supersedes": data.get("supersedes"),
        "reviews": data.get("reviews", []),
    }


def _evidence(ws: Workspace, plan: str | None) -> list[Instance]:
    return [
        row
        for row in instances(ws, KIND, plan)
        if plan is None or json.loads(row.data).get("plan") == plan
    ]


def read_units(ws: Workspace, actor: Actor, unit: str | None, what: str) -> frozenset[str] | None:
    """The units whose evidence ``actor`` reads (None: every unit), checked and audited.

    A unit's head or official reads their own unit; asking for another unit (or for the whole
    ward when they have no unit) is refused, recorded in the audit trail, and exits 1.
    """
    if unit is not None:
        check_choice("--unit", unit, ws.unit_names())
    elif not read_scope(actor).whole_tenant:
        unit = actor.unit  # a unit's reader reads their own unit by default
    require_reading(ws, actor, what=what, unit=unit)
    return None if unit is None else frozenset({unit})


@app.command("list")
def list_evidence(
    ctx: typer.Context,
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    plan: str = typer.Option(None, help="Only evidence of this plan."),
    state: str = typer.Option(None, help="Only evidence in this state, e.g. submitted."),
    target: str = typer.Option(None, help="Only evidence for this target, e.g. criterion:1.1.3."),
    unit: str = typer.Option(None, help=UNIT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """List evidence with its target, file, version, state and hash."""
    with reporting(), open_workspace(ctx) as ws:
        reader = acting(ws, person)
        labels = state_labels(ws, KIND)
        check_choice("--state", state, labels)
        check_choice("--plan", plan, plan_codes(ws))
        units = read_units(ws, reader, unit, "evidence")
        names = ws.unit_names()
        rows = [evidence_json(row, labels) for row in _evidence(ws, plan)]
    rows = [
        r
        for r in rows
        if (state is None or r["state"] == state)
        and (target is None or r["target"] == target)
        and (units is None or r["owner_unit"] in units)
    ]
    if as_json:
        print_json(rows)
        return
    console.print(
        table(
            f"Tài liệu kiểm chứng ({len(rows)})",
            (
                "ID",
                "Kế hoạch",
                "Đối tượng",
                "Đơn vị",
                "Tệp",
                "Phiên bản",
                "Trạng thái",
                "Người nộp",
                "Thời điểm nộp",
                "SHA-256",
            ),
            [
                (
                    r["id"],
                    r["plan"],
                    r["target"],
                    names.get(str(r["owner_unit"]), r["owner_unit"]),
                    r["original_name"],
                    r["version"],
                    r["state_label"],
                    r["submitted_by"],
                    r["submitted_at"],
                    str(r["sha256"])[:16] + "…",
                )
                for r in rows
            ],
        )
    )


@app.command("coverage")
def coverage_command(
    ctx: typer.Context,
    plan: str = typer.Option(..., help="Plan code."),
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    unit: str = typer.Option(None, help=UNIT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Per unit: sub-criteria backed by accepted evidence, of how many, and the codes missing."""
    with reporting(), open_workspace(ctx) as ws:
        reader = acting(ws, person)
        require_plan(ws, plan)
        units = read_units(ws, reader, unit, "evidence coverage")
        with ws.sessions() as session:
            lines = [
                line
                for line in coverage(session, ws.tenant, plan)
                if units is None or line.owner_unit in units
            ]
        names = ws.unit_names()
    by_unit = coverage_by_unit(lines)
    if as_json:
        print_json(
            {
                "plan": plan,
                "units": [
                    {
                        "unit": unit,
                        "unit_name": names.get(unit, unit),
                        "covered": c.covered,
                        "total": c.total,
                        "missing": list(c.missing),
                    }
                    for unit, c in by_unit.items()
                ],
                "sub_criteria": [
                    {
                        "code": line.code,
                        "title": line.title,
                        "owner_unit": line.owner_unit,
                        "covered": line.covered,
                        "accepted": list(line.accepted),
                        "counts": dict(line.counts),
                        "tasks": list(line.tasks),
                    }
                    for line in lines
                ],
            }
        )
        return
    covered = sum(c.covered for c in by_unit.values())
    total = sum(c.total for c in by_unit.values())
    console.print(
        table(
            f"Tài liệu kiểm chứng đã được công nhận – kế hoạch {plan}: {covered}/{total} tiêu chí",
            ("Đơn vị", "Đã có / Tổng số", "Tiêu chí còn thiếu"),
            [
                (names.get(unit, unit), f"{c.covered}/{c.total}", ", ".join(c.missing) or "—")
                for unit, c in by_unit.items()
            ],
        )
    )


@contextmanager
def _progress(enabled: bool) -> Iterator[Any]:
    """A progress bar on stderr when it is a terminal; else a callback that does nothing."""
    if not enabled:
        yield None
        return
    with Progress(
        TextColumn("Đang băm lại tệp (re-hashing)"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=errors,
        transient=True,
    ) as bar:
        task = bar.add_task("verify", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    plan: str = typer.Option(None, help="Only the evidence of this plan."),
    unit: str = typer.Option(None, help=UNIT_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Re-hash every stored evidence file against the sha256 in the record; exit 1 on a mismatch."""
    with reporting(), open_workspace(ctx) as ws:
        reader = acting(ws, person)
        check_choice("--plan", plan, plan_codes(ws))
        units = read_units(ws, reader, unit, "evidence files")
        with ws.sessions() as session, _progress(sys.stderr.isatty()) as progress:
            check = check_evidence_files(
                session, ws.store, ws.tenant, plan=plan, units=units, progress=progress
            )
    if as_json:
        print_json(
            {
                "ok": check.ok,
                "records": check.records,
                "files": check.files,
                "problems": [
                    {
                        "sha256": p.sha256,
                        "problem": p.problem,
                        "evidence": [{"id": i, "target": t, "file": f} for i, t, f in p.records],
                    }
                    for p in check.problems
                ],
            }
        )
        if not check.ok:
            raise typer.Exit(1)
        return
    if check.ok:
        say(
            f"[green]✓[/] Tất cả {check.files} tệp khớp với hồ sơ (all {check.files} files "
            f"match; {check.records} evidence records)."
        )
        return
    for problem in check.problems:
        named = "; ".join(f"#{i} {t} {f}" for i, t, f in problem.records)
        typer.echo(f"{problem.problem.upper()} {problem.sha256}: {problem.label} – {named}")
    missing = sum(p.problem == "missing" for p in check.problems)
    typer.echo(
        f"{len(check.problems)} of {check.files} files do not match the record "
        f"({missing} missing, {len(check.problems) - missing} altered).",
        err=True,
    )
    raise typer.Exit(1)
