"""The review-meeting flow: compile a month, write the report and the draft notice, open the
meeting. Scheduled monthly (or weekly) by a deployment; run at once by ``cchc review run``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cchc.review.service import outside_plan, resolve_month, run_review
from cchc.vietnam import LOCAL_TZ
from cchc.workspace import Workspace
from flows.anchor import checkpoint_step
from flows.cycle import _workspace


@task(name="compile-review", cache_policy=NO_CACHE)
def _review(
    database_url: str,
    data_dir: str,
    plan: str,
    month: str,
    actor_id: str,
    chair_id: str,
    out_dir: str,
    now: str | None,
    organization: str | None,
    index_set: str | None,
) -> dict[str, Any]:
    ws = _workspace(database_url, data_dir, now, organization, index_set)
    try:
        result = review_ward(ws, plan, month, actor_id, chair_id, Path(out_dir))
        result["checkpoint"] = checkpoint_step(ws)
        return result
    finally:
        ws.close()


def review_ward(
    ws: Workspace, plan: str, month: str, actor_id: str, chair_id: str, out_dir: Path
) -> dict[str, Any]:
    """The review of one ward's workspace, files in ``out_dir/<month>`` (also ``flows.city``).

    A month outside the plan's period (``previous`` once the plan has ended) is not reviewed:
    the result says why under ``skipped``.
    """
    month = resolve_month(month, ws.engine.clock().astimezone(LOCAL_TZ).date())
    reason = outside_plan(ws, plan, month)
    if reason is not None:
        return {
            "month": month,
            "meeting_id": None,
            "conclusions": 0,
            "files": [],
            "skipped": reason,
        }
    outcome = run_review(
        ws, plan=plan, month=month, actor_id=actor_id, chair_id=chair_id, out=out_dir / month
    )
    return {
        "month": month,
        "meeting_id": outcome.meeting_id,
        "conclusions": len(outcome.conclusions),
        "files": [str(f) for f in outcome.files],
    }


@flow(name="monthly-review")
def monthly_review_flow(
    database_url: str,
    data_dir: str,
    plan: str,
    month: str,
    actor_id: str,
    chair_id: str,
    out_dir: str,
    now: str | None = None,
    organization: str | None = None,
    index_set: str | None = None,
) -> dict[str, Any]:
    """Compile the month's progress per unit; write the report and the draft notice.

    ``month`` is ``YYYY-MM``, ``YYYY-Www``, ``previous`` or ``previous-week`` (the schedules').
    A month outside the plan's period is not reviewed: a warning says so and the result's
    ``skipped`` holds the reason. ``organization`` and ``index_set`` are the ward's files
    (``cchc --tenant``/``--org``, ``--index-set``); by default ``CCHC_ORGANIZATION``/
    ``CCHC_INDEX_SET`` or the samples.
    """
    result = _review(
        database_url,
        data_dir,
        plan,
        month,
        actor_id,
        chair_id,
        out_dir,
        now,
        organization,
        index_set,
    )
    if result.get("skipped"):
        get_run_logger().warning(result["skipped"])
        return result
    get_run_logger().info(
        "review %s of %s: %d conclusions drafted, files in %s",
        result["month"],
        plan,
        result["conclusions"],
        out_dir,
    )
    return result
