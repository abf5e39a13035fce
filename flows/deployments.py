"""Prefect deployments with cron schedules in Asia/Ho_Chi_Minh (``cchc deploy``).

The temporary server Prefect starts when no ``PREFECT_API_URL`` is set runs no scheduler: run
``prefect server start`` and ``prefect worker start --pool cchc`` and point
``PREFECT_API_URL`` at the server (README, "Schedules").
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.schedules import Schedule

from flows.review import monthly_review_flow

TIMEZONE = "Asia/Ho_Chi_Minh"
CADENCES = {
    "monthly": "0 7 1 * *",  # 07:00 on the 1st: the previous month's review
    "weekly": "0 7 * * 1",  # 07:00 every Monday
}


@dataclass(frozen=True)
class DeploymentSpec:
    """What ``cchc deploy`` registers."""

    name: str
    cron: str
    parameters: dict[str, Any]


def review_spec(cadence: str, parameters: dict[str, Any]) -> DeploymentSpec:
    """The review meeting deployment for ``cadence`` (monthly or weekly)."""
    if cadence not in CADENCES:
        raise ValueError(f"cadence must be one of {', '.join(CADENCES)}, not {cadence!r}")
    return DeploymentSpec(f"review-{cadence}", CADENCES[cadence], parameters)


def apply(spec: DeploymentSpec, work_pool: str | None = None) -> str:
    """Register the deployment with its schedule on the configured server; its id."""
    deployment = monthly_review_flow.to_deployment(
        name=spec.name,
        schedule=Schedule(cron=spec.cron, timezone=TIMEZONE),
        parameters=spec.parameters,
        work_pool_name=work_pool,
        tags=["cchc"],
    )
    assert isinstance(deployment, RunnerDeployment)  # sync call: a deployment, not a coroutine
    deployment_id = deployment.apply()
    assert not isinstance(deployment_id, Coroutine)
    return str(deployment_id)


def schedule_of(deployment_name: str) -> CronSchedule:
    """The cron schedule stored for a deployment of the monthly-review flow (for checks)."""
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(f"monthly-review/{deployment_name}")
    schedule = deployment.schedules[0].schedule
    assert isinstance(schedule, CronSchedule)
    return schedule
