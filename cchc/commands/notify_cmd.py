"""``cchc notify``: deliver what the outbox holds (maildir by default, SMTP or webhook)."""

from __future__ import annotations

import typer

from cchc.commands.cycle_common import (
    AS_HELP,
    JSON_HELP,
    acting,
    open_workspace,
    print_json,
    reporting,
    require_any_role,
    say,
)
from cchc.organization.capabilities import roles_with

SENDER_ROLES = roles_with("send_notifications")
"""Who may deliver the queued notifications (the system administrator, the focal unit)."""

app = typer.Typer(help="Deliver queued notifications.", no_args_is_help=True)


@app.command("send")
def send(
    ctx: typer.Context,
    batch: int = typer.Option(100, min=1, help="Deliveries per round."),
    rounds: int = typer.Option(50, min=1, help="At most this many rounds (until nothing is due)."),
    person: str = typer.Option(..., "--as", help=AS_HELP),
    as_json: bool = typer.Option(False, "--json", help=JSON_HELP),
) -> None:
    """Deliver every due notification through CCHC_NOTIFY_CHANNEL (default: DATA_DIR/mail),
    then the daily digests of earlier runs that still wait for a retry."""
    from cchc.plan.digest_tasks import UnitTasks
    from notifications.channels import channel_from_env
    from notifications.digest import retry_digests
    from notifications.dispatch import DispatchReport, dispatch
    from notifications.recipients import ward_sender

    with reporting(), open_workspace(ctx) as ws:
        require_any_role(
            ws, acting(ws, person), SENDER_ROLES, what="send notifications", kind="outbox"
        )
        channel = channel_from_env(ws.settings.data_dir, sender=ward_sender(ws.organization))
        total = DispatchReport()
        for _ in range(rounds):
            report = dispatch(ws.sessions, ws.organization, channel, ws.engine.clock(), batch)
            total = total + report
            if report.sent + report.retried + report.failed == 0:
                break
        digests = retry_digests(
            ws.sessions, ws.organization, channel, ws.engine.clock(), tasks=UnitTasks(ws.calendar)
        )
        total = total + digests
    if as_json:
        print_json(
            {
                "channel": channel.name,
                "sent": total.sent,
                "retried": total.retried,
                "failed": total.failed,
                "skipped": total.skipped,
                "digests": digests.sent,
            }
        )
        return
    say(
        f"[green]✓[/] {channel.name}: {total.sent} đã gửi (trong đó {digests.sent} bản tổng hợp "
        f"ngày), {total.retried} chờ gửi lại, {total.failed} thất bại, "
        f"{total.skipped} không có người nhận"
    )
