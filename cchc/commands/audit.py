"""``cchc audit``: verify the hash chains and query the audit trail."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import typer
from rich.table import Table

from cchc.commands.common import console, fail, open_database, state_of
from workflows.audit import AuditFilter, query_events, verify
from workflows.canonical import LOCAL_TZ, local_text, utc, utc_iso
from workflows.database import session_factory
from workflows.schema import AuditEvent

app = typer.Typer(help="Verify and query the audit trail.", no_args_is_help=True)

OUTCOME_LABELS = {
    "applied": "Đã thực hiện",
    "refused": "Bị từ chối",
    "notified": "Đã nhắc, thông báo",
}
REFUSAL_LABELS = {
    "not_permitted": "không có quyền",
    "trigger_not_allowed": "thao tác không hợp lệ ở trạng thái này",
    "guard_failed": "không đáp ứng điều kiện",
    "payload_invalid": "thiếu thông tin bắt buộc",
}


@app.command("verify")
def verify_command(
    ctx: typer.Context,
    tenant: str = typer.Option(None, help="Verify one tenant's chain only."),
) -> None:
    """Recompute every hash chain; exit 1 naming the first broken event of each tenant."""
    engine = open_database(state_of(ctx).settings())
    try:
        with session_factory(engine)() as session:
            report = verify(session, tenant=tenant)
    finally:
        engine.dispose()
    if report.ok:
        console.print(
            f"[green]✓ Chuỗi nhật ký toàn vẹn[/] (audit chain intact): {report.events} events, "
            f"{report.tenants} tenant(s).",
            highlight=False,
        )
        return
    for broken in report.breaks:
        typer.echo(f"BROKEN {broken.describe()}")
    typer.echo(f"Audit chain broken in {len(report.breaks)} tenant(s).", err=True)
    raise typer.Exit(1)


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
        "id": event.id, "tenant": event.tenant, "seq": event.seq,
        "occurred_at": utc_iso(event.occurred_at),
        "occurred_at_local": local_text(event.occurred_at),
        "actor": event.actor, "role": event.role, "instance_id": event.instance_id,
        "kind": event.kind, "ref": event.ref, "trigger": event.trigger,
        "from_state": event.from_state, "to_state": event.to_state,
        "payload": json.loads(event.payload), "definition_hash": event.definition_hash,
        "outcome": event.outcome, "reason": event.reason, "hash": event.hash,
    }  # fmt: skip


@app.command("query")
def query_command(
    ctx: typer.Context,
    instance: int = typer.Option(None, help="Instance id."),
    kind: str = typer.Option(None, help="Kind, e.g. approval_request."),
    actor: str = typer.Option(None, help="Who fired."),
    trigger: str = typer.Option(None, help="Trigger name."),
    outcome: str = typer.Option(None, help="applied or refused."),
    tenant: str = typer.Option(None, help="Tenant (ward) code."),
    since: str = typer.Option(None, help="From this date/time (inclusive)."),
    until: str = typer.Option(None, help="Until this date/time (exclusive)."),
    limit: int = typer.Option(1000, min=1, help="At most this many events."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON array."),
) -> None:
    """List audit events, oldest first, filtered by instance, kind, actor, trigger and time."""
    if outcome is not None and outcome not in OUTCOME_LABELS:
        raise fail(f"--outcome must be one of: {', '.join(OUTCOME_LABELS)}")
    criteria = AuditFilter(
        tenant=tenant, instance_id=instance, kind=kind, actor=actor, trigger=trigger,
        outcome=outcome, since=_parse_time(since, "--since"),
        until=_parse_time(until, "--until"), limit=limit,
    )  # fmt: skip
    engine = open_database(state_of(ctx).settings())
    try:
        with session_factory(engine)() as session:
            events = query_events(session, criteria)
    finally:
        engine.dispose()
    if as_json:
        typer.echo(json.dumps([event_json(e) for e in events], ensure_ascii=False, indent=2))
        return
    table = Table(title=f"Nhật ký thao tác ({len(events)} sự kiện)", show_lines=False)
    for header in ("STT", "Thời điểm (GMT+7)", "Người thực hiện", "Vai trò", "Đối tượng",
                   "Thao tác", "Trạng thái", "Kết quả"):  # fmt: skip
        table.add_column(header)
    for event in events:
        moved = f"{event.from_state or '∅'} → {event.to_state or '—'}"
        result = OUTCOME_LABELS.get(event.outcome, event.outcome)
        if event.reason:
            code, _, detail = event.reason.partition(": ")
            result += f" ({REFUSAL_LABELS.get(code, code)}): {detail}"
        table.add_row(
            f"{event.tenant}/{event.seq}", local_text(event.occurred_at), event.actor,
            event.role or "", f"{event.kind} #{event.instance_id or '—'} {event.ref}",
            event.trigger, moved, result,
        )  # fmt: skip
    console.print(table)
