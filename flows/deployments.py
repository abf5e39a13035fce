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
from flows.sweep import sweep_flow

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


SWEEP_CRON = "0 6 * * *"  # 06:00 every day, before the working day starts


def sweep_spec(parameters: dict[str, Any]) -> DeploymentSpec:
    """The daily deadline sweep deployment."""
    return DeploymentSpec("daily-sweep", SWEEP_CRON, parameters)


def apply(spec: DeploymentSpec, work_pool: str | None = None) -> str:
    """Register the deployment with its schedule on the configured server; its id."""
    target = sweep_flow if spec.name == "daily-sweep" else monthly_review_flow
    deployment = target.to_deployment(
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
    """The cron schedule stored for one of the project's deployments (for checks)."""
    from prefect.client.orchestration import get_client

    flow_name = "daily-sweep" if deployment_name == "daily-sweep" else "monthly-review"
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(f"{flow_name}/{deployment_name}")
    schedule = deployment.schedules[0].schedule
    assert isinstance(schedule, CronSchedule)
    return schedule
