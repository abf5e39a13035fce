"""``cchc audit``: verify the hash chains, query the trail, and answer an inspector's questions.

Every command acts as a person of the organization file (``--as``) and reads only what their
roles allow (``cchc.organization.access``): the inspection team, the leadership, the focal
unit, the Office and the administrator read their whole ward; a unit's head and officials read
the history of their own unit's items only. A read out of scope exits 1 and is itself recorded
in the trail.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy.orm import Session

from cchc import vi_text
from cchc.commands.common import console, fail
from cchc.commands.cycle_common import (
    JSON_HELP,
    READ_AS_HELP,
    acting,
    open_workspace,
    plan_codes,
    print_json,
    reporting,
    require_reading,
    stop,
)
from cchc.inspection import history as inspection
from cchc.inspection.evidence_files import check_evidence_files
from cchc.inspection.history import OUTCOME_LABELS, History, Labels, Subject
from cchc.organization.model import Organization, UnknownPersonError
from cchc.refusals import REFUSAL_LABELS
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from workflows.audit import AuditFilter, VerifyReport, query_events, verify
from workflows.canonical import utc, utc_iso
from workflows.definition.checks import did_you_mean
from workflows.registry import Actor
from workflows.schema import AuditEvent

if TYPE_CHECKING:
    from cchc.inspection.exports import ReportContext

__all__ = ["OUTCOME_LABELS", "REFUSAL_LABELS", "app", "event_json"]

app = typer.Typer(
    help="Verify and query the audit trail; histories for inspectors.", no_args_is_help=True
)

TRAIL = "audit trail"


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    tenant: str = typer.Option(None, help="The ward's tenant code (default: the person's)."),
    checkpoint: list[Path] = typer.Option(
        [],
        "--checkpoint",
        exists=True,
        dir_okay=False,
        help="Also check against this signed checkpoint file kept elsewhere (repeatable).",
    ),
) -> None:
    """Recompute the ward's hash chain and check it against every signed checkpoint.

    Exit 1 naming the first broken event, or what a checkpoint shows was done (rewritten,
    tail cut, trail deleted).
    """
    from cchc.anchor import check_ward
    from cchc.commands.progress import progress_bar

    with reporting(), open_workspace(ctx) as ws:
        actor = acting(ws, person)
        require_reading(ws, actor, what=TRAIL, tenant=tenant or actor.tenant)
        brought = _read_checkpoints(checkpoint, actor.tenant)
        with ws.sessions() as session, progress_bar("Kiểm tra chuỗi nhật ký") as progress:
            report = verify(session, tenant=actor.tenant, progress=progress)
            anchored = check_ward(ws.settings, session, actor.tenant, brought)
    breaks = [*report.breaks, *anchored.breaks]
    if not breaks:
        console.print(
            f"[green]✓ Chuỗi nhật ký toàn vẹn[/] (audit chain intact): {report.events} events, "
            f"{report.tenants} tenant(s).",
            highlight=False,
        )
        if anchored.latest is None:
            console.print(
                "  Chưa có điểm neo đã ký để đối chiếu (no signed checkpoint: "
                "`cchc keys init`, then flows and the sweep sign one)."
            )
        else:
            console.print(
                f"  Khớp {anchored.checked} điểm neo đã ký (matches {anchored.checked} signed "
                f"checkpoint(s)); mới nhất: seq {anchored.latest.seq}, "
                f"{anchored.latest.head_hash[:16]}…, khóa {anchored.latest.key[:23]}…",
                highlight=False,
            )
        return
    for broken in breaks:
        typer.echo(f"BROKEN {broken.describe()}")
    tenants = len({broken.tenant for broken in breaks})
    typer.echo(f"Audit chain broken in {tenants} tenant(s).", err=True)
    raise typer.Exit(1)


def _read_checkpoints(paths: list[Path], tenant: str) -> list[Any]:
    """The checkpoint files brought with ``--checkpoint``, each of the ward (exit 2 if not)."""
    from workflows.checkpoint import Checkpoint, CheckpointError

    found = []
    for path in paths:
        try:
            brought = Checkpoint.from_json(path.read_text(encoding="utf-8"), str(path))
        except (CheckpointError, UnicodeDecodeError) as exc:
            raise stop(f"--checkpoint: {exc}", 2) from None
        if brought.tenant != tenant:
            raise stop(
                f"--checkpoint {path}: a checkpoint of {brought.tenant!r}, not {tenant!r}", 2
            )
        found.append(brought)
    return found


@app.command("checkpoint")
def checkpoint_command(
    ctx: typer.Context,
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
) -> None:
    """Sign a checkpoint of the ward's chain now (flows and the daily sweep also do)."""
    from cchc.anchor import SigningKeyError, checkpoint_text, checkpoint_ward

    with reporting(), open_workspace(ctx) as ws:
        actor = acting(ws, person)
        require_reading(ws, actor, what=TRAIL, tenant=actor.tenant)
        try:
            taken = checkpoint_ward(ws.settings, ws.sessions, actor.tenant, ws.engine.clock())
        except SigningKeyError as exc:
            raise stop(str(exc), 2) from None
    if taken is None:
        raise stop("no signing key: run `cchc keys init` first", 2)
    console.print(f"[green]✓[/] {escape(checkpoint_text(taken[0]))}", highlight=False)
    console.print(f"  {escape(str(taken[1]))}", highlight=False)


def _parse_time(value: str | None, option: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise fail(
            f"{option} {value!r} is not a date or time (use 2025-11-01 or "
            "2025-11-01T08:30; without a zone it is Asia/Ho_Chi_Minh)"
        ) from None
    return utc(parsed.replace(tzinfo=LOCAL_TZ) if parsed.tzinfo is None else parsed)


def event_json(event: AuditEvent) -> dict[str, Any]:
    """An event as a JSON object: times in UTC and in Asia/Ho_Chi_Minh, payload parsed."""
    return {
        "id": event.id,
        "tenant": event.tenant,
        "seq": event.seq,
        "occurred_at": utc_iso(event.occurred_at),
        "occurred_at_local": vi_text.datetime_text(event.occurred_at, seconds=True),
        "actor": event.actor,
        "role": event.role,
        "instance_id": event.instance_id,
        "kind": event.kind,
        "ref": event.ref,
        "trigger": event.trigger,
        "from_state": event.from_state,
        "to_state": event.to_state,
        "payload": json.loads(event.payload),
        "definition_hash": event.definition_hash,
        "outcome": event.outcome,
        "reason": event.reason,
        "channel": event.channel,
        "hash": event.hash,
    }


@app.command("query")
def query_command(
    ctx: typer.Context,
    person: str = typer.Option(..., "--as", help=READ_AS_HELP),
    instance: int = typer.Option(None, help="Instance id."),
    kind: str = typer.Option(None, help="Kind, e.g. approval_request."),
    actor: str = typer.Option(None, help="Who fired."),
    trigger: str = typer.Option(None, help="Trigger name."),
    outcome: str = typer.Option(None, help="applied, refused or notified."),
    tenant: str = typer.Option(None, help="Tenant (ward) code (default: the person's)."),
    since: str = typer.Option(None, help="From this date/time (inclusive)."),
    until: str = typer.Option(None, help="Until this date/time (exclusive)."),
    limit: int = typer.Option(1000, min=1, help="At most this many events."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List audit events of the ward, oldest first, filtered by instance, kind, actor, time."""

    if outcome is not None and outcome not in OUTCOME_LABELS:
        raise fail(f"--outcome must be one of: {', '.join(OUTCOME_LABELS)}")
    start, end = _parse_time(since, "--since"), _parse_time(until, "--until")
    with reporting(), open_workspace(ctx) as ws:
        reader = acting(ws, person)
        criteria = AuditFilter(
            tenant=reader.tenant,
            instance_id=instance,
            kind=kind,
            actor=actor,
            trigger=trigger,
            outcome=outcome,
            since=start,
            until=end,
            limit=limit,
        )
        require_reading(ws, reader, what=TRAIL, tenant=tenant or reader.tenant)
        with ws.sessions() as session:
            events = query_events(session, criteria)
    if as_json:
        typer.echo(json.dumps([event_json(e) for e in events], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Nhật ký thao tác ({len(events)} sự kiện)", show_lines=False)
    for header in (
        "STT",
        "Thời điểm (GMT+7)",
        "Người thực hiện",
        "Vai trò",
        "Đối tượng",
        "Thao tác",
        "Trạng thái",
        "Kết quả",
    ):
        table.add_column(header)
    for event in events:
        moved = f"{event.from_state or '∅'} → {event.to_state or '—'}"
        result = OUTCOME_LABELS.get(event.outcome, event.outcome)
        if event.reason:
            code, _, detail = event.reason.partition(": ")
            result += f" ({REFUSAL_LABELS.get(code, code)}): {detail}"
        table.add_row(
            *(
                escape(cell)
                for cell in (
                    f"{event.tenant}/{event.seq}",
                    vi_text.datetime_text(event.occurred_at, seconds=True),
                    event.actor,
                    event.role or "",
                    f"{event.kind} #{event.instance_id or '—'} {event.ref}",
                    event.trigger,
                    moved,
                    result,
                )
            )
        )
    console.print(table)


# --- history ------------------------------------------------------------------------------------


def labels_of(ws: Workspace) -> Labels:
    """State and trigger labels of the loaded definitions, people's and units' names."""
    org = ws.organization
    return Labels.of(
        ws.engine.definitions,
        people={p.id: p.full_name for p in org.people},
        units=ws.unit_names(),
    )


def _subject(
    ws: Workspace,
    session: Session,
    *,
    criterion: str | None,
    task: str | None,
    unit: str | None,
    person: str | None,
    plan: str | None,
) -> Subject:
    """The one subject asked for, found (LookupError / exit 2 when it does not exist)."""

    asked = [
        name
        for name, value in (
            ("--criterion", criterion),
            ("--task", task),
            ("--unit", unit),
            ("--person", person),
        )
        if value
    ]
    if len(asked) != 1:
        raise stop(
            "name exactly one of --criterion CODE, --task CODE, --unit CODE or --person ID"
            + (f" (got {', '.join(asked)})" if asked else ""),
            2,
        )
    if plan is not None and plan not in plan_codes(ws):
        raise stop(
            f"--plan {plan!r} is not issued in {ws.tenant}; {did_you_mean(plan, plan_codes(ws))}", 2
        )
    if (criterion or task) and plan is None:
        raise stop(f"{asked[0]} needs --plan (one of: {', '.join(plan_codes(ws)) or 'none'})", 2)
    tenant = ws.tenant
    if criterion:
        if plan is None:
            raise AssertionError("refused above: a criterion needs --plan")
        return inspection.find_criterion(session, tenant, plan, criterion)
    if task:
        if plan is None:
            raise AssertionError("refused above: a task needs --plan")
        return inspection.find_task(session, tenant, plan, task)
    org: Organization = ws.organization
    if unit:
        found = org.unit(unit)  # UnknownUnitError (a LookupError) with a hint
        return inspection.find_unit(
            session,
            tenant,
            unit,
            [p.id for p in org.members(unit)],
            title=found.name,
            plan=plan,
        )
    if person is None:
        raise AssertionError("one subject option is given, and it is --person")
    try:
        someone = org.person(person)
    except UnknownPersonError as exc:
        raise stop(f"--person: {exc}", 2) from None
    return inspection.find_person(
        session,
        tenant,
        someone.id,
        title=f"{someone.full_name}, {someone.title}",
        unit=someone.unit,
        plan=plan,
    )


def _what(subject: Subject) -> str:
    """How the read is named in the trail when refused: ``history of criterion 1.1.3``."""
    return f"history of {subject.what} {subject.code}"


def integrity_lines(ws: Workspace, session: Session, history: History) -> list[str]:
    """The checks the inspection report states: the ward's chain recomputed, the evidence
    re-hashed (the web page's report says the same)."""
    report: VerifyReport = verify(session, tenant=ws.tenant)
    if report.ok:
        lines = [
            (
                f"Chuỗi nhật ký của {ws.organization.name} được tính lại toàn bộ: "
                f"{report.events} sự kiện, toàn vẹn (không bị sửa, xóa, chèn)."
            )
        ]
    else:
        lines = [f"Chuỗi nhật ký KHÔNG toàn vẹn: {b.describe()}." for b in report.breaks]
    from cchc.anchor import check_ward

    anchored = check_ward(ws.settings, session, ws.tenant)
    lines += [f"Không khớp điểm neo đã ký: {b.describe()}." for b in anchored.breaks]
    ids = {e["id"] for e in history.evidence()}
    if ids:
        check = check_evidence_files(session, ws.store, ws.tenant, plan=history.subject.plan)
        bad = [p for p in check.problems if any(r[0] in ids for r in p.records)]
        if bad:
            lines += [
                f"Tệp tài liệu kiểm chứng {p.sha256} không khớp hồ sơ: {p.label}." for p in bad
            ]
        else:
            lines.append(
                f"{len({e['sha256'] for e in history.evidence()})} tệp tài liệu kiểm "
                "chứng được băm lại (SHA-256): khớp với hồ sơ."
            )
    return lines


@app.command("history")
def history_command(
    ctx: typer.Context,
    person_id: str = typer.Option(..., "--as", help=READ_AS_HELP),
    criterion: str = typer.Option(None, "--criterion", help="Sub-criterion code, e.g. 1.1.3."),
    task: str = typer.Option(None, "--task", help="Task code, e.g. NV-08."),
    unit: str = typer.Option(None, "--unit", help="Unit code, e.g. kt."),
    person: str = typer.Option(None, "--person", help="Person id."),
    plan: str = typer.Option(None, help="Plan code (needed with --criterion and --task)."),
    since: str = typer.Option(None, help="From this date/time, Asia/Ho_Chi_Minh (inclusive)."),
    until: str = typer.Option(None, help="Until this date/time, Asia/Ho_Chi_Minh (exclusive)."),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
    csv_file: Path = typer.Option(None, "--csv", help="Also write the rows to this CSV file."),
    xlsx_file: Path = typer.Option(None, "--xlsx", help="Also write an XLSX workbook."),
    docx_file: Path = typer.Option(None, "--docx", help="Also write the inspection report."),
) -> None:
    """The full history of a sub-criterion, a task, a unit or a person over a period."""

    start, end = _parse_time(since, "--since"), _parse_time(until, "--until")
    with reporting(), open_workspace(ctx) as ws:
        reader: Actor = acting(ws, person_id)
        with ws.sessions() as session:
            subject = _subject(
                ws, session, criterion=criterion, task=task, unit=unit, person=person, plan=plan
            )
        require_reading(
            ws, reader, what=_what(subject), tenant=subject.tenant, unit=subject.owner_unit
        )
        with ws.sessions() as session:
            found = inspection.history(session, subject, labels_of(ws), since=start, until=end)
            integrity = integrity_lines(ws, session, found) if docx_file else []
        if docx_file:  # signed after the reading session: SQLite has one writer at a time
            from cchc.anchor import report_checkpoint_text

            now = ws.engine.clock()
            integrity.append(report_checkpoint_text(ws.settings, ws.sessions, ws.tenant, now))
        written = _export(ws, reader, found, integrity, csv_file, xlsx_file, docx_file)
    if as_json:
        print_json({**found.as_json(), "files": [str(p) for p in written]})
        return
    from cchc.inspection.exports import HEADINGS, cells, scope_text  # openpyxl, docx: on use

    table = Table(title=escape(f"Lịch sử: {scope_text(found)}"))
    for heading in HEADINGS:
        table.add_column(heading)
    for number, row in enumerate(found.rows, 1):
        values = cells(number, row)
        values[8] = values[8][:16] + "…" if values[8] else ""
        table.add_row(*(escape(value) for value in values))
    console.print(table)
    for path in written:
        console.print(f"[green]✓[/] Đã ghi {escape(str(path))}", highlight=False)


def _export(
    ws: Workspace,
    reader: Actor,
    found: History,
    integrity: list[str],
    csv_file: Path | None,
    xlsx_file: Path | None,
    docx_file: Path | None,
) -> list[Path]:
    from cchc.inspection.exports import write_csv, write_docx, write_xlsx

    written = []
    if csv_file is not None:
        written.append(write_csv(csv_file, found))
    if xlsx_file is not None:
        written.append(write_xlsx(xlsx_file, found))
    if docx_file is not None:
        written.append(write_docx(docx_file, found, report_context(ws, reader.id, integrity)))
    return written


def report_context(ws: Workspace, reader: str, integrity: list[str]) -> ReportContext:
    """Who issues the inspection report (the reader, in their title), where and when."""
    from cchc.inspection.exports import ReportContext

    person = ws.organization.person(reader)
    org = ws.organization
    return ReportContext(
        ward_name=org.name,
        place=org.place_name,
        today=ws.engine.clock().astimezone(LOCAL_TZ).date(),
        signer_name=person.full_name,
        signer_title=person.title.upper(),
        integrity=integrity,
    )
