"""Prefect deployments with cron schedules in Asia/Ho_Chi_Minh (``cchc deploy``).

The temporary server Prefect starts when no ``PREFECT_API_URL`` is set runs no scheduler: run
``prefect server start`` and ``prefect worker start --pool cchc`` and point
``PREFECT_API_URL`` at the server (README, "Schedules").
"""

from __future__ import annotations

from collections.abc import Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from prefect.client.schemas.schedules import CronSchedule
from prefect.deployments.runner import RunnerDeployment
from prefect.flows import Flow
from prefect.schedules import Schedule
from prefect.types.entrypoint import EntrypointType

from cchc.vietnam import TIMEZONE
from flows.city import (
    WARD_DEPLOYMENT,
    WARD_FLOWS,
    city_fanout_flow,
    city_wards,
    ward_review_flow,
    ward_sweep_flow,
)
from flows.review import monthly_review_flow
from flows.sweep import sweep_flow

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
    """Register the deployment with its schedule on the configured server; its id.

    The flow is loaded by module path (``flows.review``, ``flows.sweep``), like the city's: a
    worker needs the project installed in its Python, not this folder as its working directory.
    """
    target = sweep_flow if spec.name == "daily-sweep" else monthly_review_flow
    deployment = target.to_deployment(
        name=spec.name,
        schedule=Schedule(cron=spec.cron, timezone=TIMEZONE),
        parameters=spec.parameters,
        work_pool_name=work_pool,
        tags=["cchc"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    if not isinstance(deployment, RunnerDeployment):
        raise TypeError("sync call: a deployment, not a coroutine")
    deployment_id = deployment.apply()
    if isinstance(deployment_id, Coroutine):
        raise TypeError("sync call: an id, not a coroutine")
    return str(deployment_id)


def schedule_of(deployment_name: str) -> CronSchedule:
    """The cron schedule stored for one of the project's deployments (for checks)."""
    from prefect.client.orchestration import get_client

    flow_name = "daily-sweep" if deployment_name == "daily-sweep" else "monthly-review"
    with get_client(sync_client=True) as client:
        deployment = client.read_deployment_by_name(f"{flow_name}/{deployment_name}")
    schedule = deployment.schedules[0].schedule
    if not isinstance(schedule, CronSchedule):
        raise TypeError(f"the deployment's schedule is not a cron schedule: {schedule!r}")
    return schedule


_WARD_FLOW_OBJECTS: dict[str, Flow[..., Any]] = {
    "sweep": ward_sweep_flow,
    "review": ward_review_flow,
}


def apply_city(
    job: str,
    parameters: dict[str, Any],
    work_pool: str,
    *,
    city: str | None = None,
    organizations: list[str] | None = None,
    cadence: str = "monthly",
    ward_parameters: dict[str, dict[str, Any]] | None = None,
    scheduled: bool = True,
) -> dict[str, str]:
    """Register the city's ``job`` (sweep or review): the ward deployment and the fan-out.

    ``ward-<job>/city`` runs one ward (no schedule: the fan-out submits its runs);
    ``city-fanout/city-<job>`` submits one run per ward of the ``city`` file (or per file of
    ``organizations``) on the job's cron (the daily sweep's, or the review ``cadence``'s) unless
    ``scheduled`` is false. Paths are stored absolute: the workers need the same files at the
    same place. Both load their flow by module path (``flows.city``): a worker needs the project
    installed in its Python, not a copy of this folder. Returns deployment name → id.
    """
    if job not in WARD_FLOWS:
        raise ValueError(f"job must be one of {', '.join(WARD_FLOWS)}, not {job!r}")
    city = str(Path(city).resolve()) if city is not None else None
    if organizations is not None:
        organizations = [str(Path(path).resolve()) for path in organizations]
    city_wards(city, organizations)  # a bad city is refused here, not at 06:00
    cron = SWEEP_CRON if job == "sweep" else review_spec(cadence, {}).cron
    ward = _WARD_FLOW_OBJECTS[job].to_deployment(
        name=WARD_DEPLOYMENT,
        parameters=parameters,
        work_pool_name=work_pool,
        tags=["cchc"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    fanout = city_fanout_flow.to_deployment(
        name=f"city-{job}",
        schedule=Schedule(cron=cron, timezone=TIMEZONE) if scheduled else None,
        parameters={
            "job": job,
            "parameters": parameters,
            "city": city,
            "organizations": organizations,
            "ward_parameters": ward_parameters or {},
        },
        work_pool_name=work_pool,
        tags=["cchc"],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )
    ids = {}
    for deployment, flow_name in ((ward, WARD_FLOWS[job]), (fanout, "city-fanout")):
        if not isinstance(deployment, RunnerDeployment):
            raise TypeError("sync call: a deployment")
        deployment_id = deployment.apply()
        if isinstance(deployment_id, Coroutine):
            raise TypeError("sync call: an id, not a coroutine")
        ids[f"{flow_name}/{deployment.name}"] = str(deployment_id)
    return ids
