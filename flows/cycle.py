"""Flows of the CCHC cycle: issue a plan, score a period, rank the units.

Each flow is a thin shell around one function of ``cchc.cycle`` run as a single task, on a
workspace opened from the database URL. ``now`` (ISO 8601) fixes the clock, for a demo or a
replay; by default the clock is the real one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from cchc import cycle
from cchc.workspace import Workspace
from flows.anchor import checkpoint_step
from workflows.canonical import utcnow
from workflows.database import Settings


def _clock(now: str | None) -> Callable[[], datetime]:
    if now is None:
        return utcnow
    fixed = datetime.fromisoformat(now)
    return lambda: fixed


def _workspace(
    database_url: str,
    data_dir: str,
    now: str | None,
    organization: str | None = None,
    index_set: str | None = None,
) -> Workspace:
    """The workspace of a flow run: the given organization and index set files, or the
    defaults (``CCHC_ORGANIZATION``, ``CCHC_INDEX_SET`` or the samples)."""
    settings = Settings(data_dir=Path(data_dir), database_url=database_url)
    return Workspace.open(
        settings,
        clock=_clock(now),
        organization=Path(organization) if organization else None,
        index_set=Path(index_set) if index_set else None,
    )


@task(name="issue-plan", cache_policy=NO_CACHE)
def _issue(
    database_url: str, data_dir: str, plan_file: str, actor_id: str, now: str | None
) -> dict[str, Any]:
    ws = _workspace(database_url, data_dir, now)
    try:
        result = cycle.issue(ws, Path(plan_file), actor_id)
        checkpoint_step(ws)
    finally:
        ws.close()
    return {
        "plan_id": result.plan_id,
        "tasks": result.tasks,
        "assessments": result.assessments,
        "notifications": result.notifications,
        "replayed": result.replayed,
    }


@flow(name="issue-plan")
def issue_plan_flow(
    database_url: str, data_dir: str, plan_file: str, actor_id: str, now: str | None = None
) -> dict[str, Any]:
    """Issue a plan: tasks assigned to their units, assessments opened, units notified."""
    result = _issue(database_url, data_dir, plan_file, actor_id, now)
    get_run_logger().info(
        "plan issued: %d tasks assigned, %d assessments opened, %d notifications queued%s",
        result["tasks"],
        result["assessments"],
        result["notifications"],
        " (already issued: nothing changed)" if result["replayed"] else "",
    )
    return result


@task(name="score-period", cache_policy=NO_CACHE)
def _score(
    database_url: str,
    data_dir: str,
    plan_code: str,
    actor_id: str,
    manual: dict[str, dict[str, Any]],
    now: str | None,
) -> dict[str, Any]:
    ws = _workspace(database_url, data_dir, now)
    try:
        outcome = cycle.score(ws, plan_code, actor_id, manual)
        checkpoint_step(ws)
    finally:
        ws.close()
    card = outcome.card
    return {
        "run_id": card.run_id,
        "index": str(card.index),
        "points": str(card.total_points),
        "self_scored": outcome.self_scored,
        "waiting_explanation": outcome.waiting_explanation,
        "stored": card.stored,
    }


@flow(name="score-period")
def score_flow(
    database_url: str,
    data_dir: str,
    plan_code: str,
    actor_id: str,
    manual: dict[str, dict[str, Any]] | None = None,
    now: str | None = None,
) -> dict[str, Any]:
    """Score every sub-criterion of the plan's period and self-score the open assessments."""
    result = _score(database_url, data_dir, plan_code, actor_id, manual or {}, now)
    get_run_logger().info(
        "scored %s: index %s%%, %d assessments self-scored, waiting for an explanation: %s",
        plan_code,
        result["index"],
        result["self_scored"],
        ", ".join(result["waiting_explanation"]) or "none",
    )
    return result


@task(name="rank-units", cache_policy=NO_CACHE)
def _rank(
    database_url: str,
    data_dir: str,
    plan_code: str,
    actor_id: str,
    manual: dict[str, dict[str, Any]],
    publisher_id: str | None,
    now: str | None,
) -> dict[str, Any]:
    ws = _workspace(database_url, data_dir, now)
    try:
        card = cycle.score(ws, plan_code, actor_id, manual).card
        outcome = cycle.rank(
            ws,
            plan_code,
            actor_id,
            card,
            today=cycle.local_today(ws),
            publish=publisher_id is not None,
            publisher_id=publisher_id,
        )
        checkpoint_step(ws)
    finally:
        ws.close()
    return {
        "ranking_id": outcome.instance_id,
        "published": outcome.published,
        "rows": [
            {"rank": r.rank, "unit": r.unit, "score": str(r.score), "band": r.band}
            for r in outcome.rows
        ],
    }


@flow(name="rank-units")
def rank_flow(
    database_url: str,
    data_dir: str,
    plan_code: str,
    actor_id: str,
    manual: dict[str, dict[str, Any]] | None = None,
    publisher_id: str | None = None,
    now: str | None = None,
) -> dict[str, Any]:
    """Rank the ward's units as ``actor_id``; publish as ``publisher_id`` when given."""
    result = _rank(database_url, data_dir, plan_code, actor_id, manual or {}, publisher_id, now)
    get_run_logger().info(
        "ranked %d units%s", len(result["rows"]), ", published" if result["published"] else ""
    )
    return result
