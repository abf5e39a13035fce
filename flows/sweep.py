"""The daily sweep: act on due deadline steps (reminders, overdue, escalations), then deliver
the notifications and each person's daily digest. Scheduled daily by
``cchc deploy --sweep-as``; run at once by ``cchc sweep``."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cchc.plan.deadlines import sweep
from cchc.plan.digest_tasks import UnitTasks
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from flows.anchor import checkpoint_step
from flows.cycle import _workspace
from notifications.channels import channel_from_env
from notifications.digest import retry_digests, send_daily_digests
from notifications.dispatch import DispatchReport, dispatch, due_deliveries, waiting_for_retry
from notifications.recipients import ward_sender
from workflows.progress import Progress, no_progress

DISPATCH_BATCH = 500
"""Deliveries claimed per dispatch round (each round's claims share one lease)."""

SWEEP_PROGRESS: ContextVar[Progress | None] = ContextVar("sweep_progress", default=None)
"""Where ``cchc sweep`` draws its progress bar (a callback cannot be a flow parameter)."""


@task(name="sweep-deadlines", cache_policy=NO_CACHE)
def _sweep(
    database_url: str,
    data_dir: str,
    system_actor: str,
    now: str | None,
    organization: str | None,
    index_set: str | None,
) -> dict[str, Any]:
    ws = _workspace(database_url, data_dir, now, organization, index_set)
    try:
        return sweep_ward(ws, system_actor, SWEEP_PROGRESS.get() or no_progress)
    finally:
        ws.close()


def sweep_ward(
    ws: Workspace, system_actor: str, progress: Progress = no_progress
) -> dict[str, Any]:
    """The sweep of one ward's workspace (also run per ward by ``flows.city``).

    ``progress`` is told the deadline steps acted on out of those due, then the deliveries
    attempted out of those due.
    """
    report = sweep(
        ws,
        ws.calendar,
        system_actor,
        policy=ws.deadlines,  # the ward's registered task deadline policy
        progress=progress,
    )
    channel = channel_from_env(ws.settings.data_dir, sender=ward_sender(ws.organization))
    now_utc = ws.engine.clock()
    delivered = DispatchReport()
    progress(0, due_deliveries(ws.sessions, ws.tenant, now_utc))
    while True:  # one dispatch sends at most one batch: carry on until nothing is due
        batch = dispatch(ws.sessions, ws.organization, channel, now_utc, batch=DISPATCH_BATCH)
        delivered += batch
        done = delivered.sent + delivered.retried + delivered.failed
        progress(done, done + due_deliveries(ws.sessions, ws.tenant, now_utc))
        if batch == DispatchReport():
            break
    checkpoint = checkpoint_step(ws)  # the daily signed checkpoint, sent with the digests
    digests = send_daily_digests(
        ws.sessions,
        ws.organization,
        channel,
        now_utc.astimezone(LOCAL_TZ).date(),
        now_utc,
        checkpoint=checkpoint["text"] if checkpoint else None,
        tasks=UnitTasks(ws.calendar),
    )
    digests += retry_digests(
        ws.sessions, ws.organization, channel, now_utc, tasks=UnitTasks(ws.calendar)
    )
    return {
        "reminders": report.reminders,
        "overdue": report.overdue,
        "escalations": report.escalations,
        "closed": report.closed,
        "sent": delivered.sent,
        "retried": delivered.retried,
        "failed": delivered.failed + digests.failed,
        "digests": digests.sent,
        "waiting": waiting_for_retry(ws.sessions, ws.tenant),
        "checkpoint": checkpoint and {k: v for k, v in checkpoint.items() if k != "text"},
    }


def summary(result: dict[str, Any]) -> str:
    """The sweep's one-line Vietnamese report: deadline steps, then mail sent and waiting."""
    line = (
        f"{result['reminders']} nhắc hạn, {result['overdue']} chuyển quá hạn, "
        f"{result['escalations']} báo cáo lên cấp trên; "
        f"{result['sent'] + result['digests']} thư đã gửi ({result['digests']} bản tổng hợp "
        f"ngày), {result['waiting']} thư chờ gửi lại"
    )
    if result["failed"]:
        line += f", {result['failed']} thư gửi không thành công"
    return line


@flow(name="daily-sweep")
def sweep_flow(
    database_url: str,
    data_dir: str,
    system_actor: str,
    now: str | None = None,
    organization: str | None = None,
    index_set: str | None = None,
) -> dict[str, Any]:
    """Reminders, overdue marks and escalations that are due; then deliver notifications.

    ``organization`` and ``index_set`` are the ward's files (``cchc --tenant``/``--org``,
    ``--index-set``); by default ``CCHC_ORGANIZATION``/``CCHC_INDEX_SET`` or the samples.
    """
    result = _sweep(database_url, data_dir, system_actor, now, organization, index_set)
    get_run_logger().info(
        "sweep: %(reminders)d reminders, %(overdue)d overdue, %(escalations)d escalations; "
        "%(sent)d notifications and %(digests)d digests sent, %(waiting)d waiting for a retry, "
        "%(failed)d failed",
        result,
    )
    return result
