"""The city on a Prefect server: one flow run per ward, never two runs on one ward at once.

``city-fanout`` submits one run of a ward deployment (``ward-sweep/city`` or
``ward-review/city``) per organization file and returns at once; the workers of the pool run
them in parallel. A ward run opens the ward's workspace, then holds two locks around its work:

1. the Prefect global concurrency limit ``ward:<tenant>`` (limit 1, created on first use), so a
   second run of the ward waits for a slot on the server without touching the database;
2. the database's tenant lock (``workflows.tenant_lock``: a PostgreSQL advisory lock), which
   holds even for work started outside Prefect (``cchc sweep`` by hand) or if the limit was
   changed or removed on the server.

The work itself is one task inside both locks, so the server records when it started and ended
(docs/scale-out.md).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from uuid import UUID

from prefect import flow, get_run_logger, runtime, task
from prefect.cache_policies import NO_CACHE
from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
from prefect.client.schemas.objects import ConcurrencyLeaseHolder, FlowRun
from prefect.concurrency.sync import concurrency
from prefect.deployments import run_deployment
from prefect.exceptions import MissingContextError, ObjectAlreadyExists

from cchc.city import load_city
from cchc.organization.model import load_organization
from cchc.runtime import make_workflow_engine
from cchc.workspace import Workspace
from flows.anchor import checkpoint_step
from flows.cycle import _clock
from flows.sweep import sweep_ward
from workflows.database import Settings
from workflows.tenant_lock import tenant_lock

WARD_LIMIT_PREFIX = "ward:"
WARD_WAIT_SECONDS = 6 * 3600.0
"""How long a ward run waits for the ward (a review takes minutes; a stuck run is an incident)."""

WARD_FLOWS = {"sweep": "ward-sweep", "review": "ward-review"}
"""Job → ward flow name; each has one deployment named ``city`` (``flows.deployments``)."""
WARD_DEPLOYMENT = "city"


def ward_limit_name(tenant: str) -> str:
    """The global concurrency limit that admits one run of ``tenant`` at a time."""
    return f"{WARD_LIMIT_PREFIX}{tenant}"


def ensure_ward_limit(tenant: str) -> None:
    """Create ``ward:<tenant>`` with one slot unless it exists (limits must exist in 3.x)."""
    name = ward_limit_name(tenant)
    with get_client(sync_client=True) as client:
        try:
            client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name=name, limit=1))
        except ObjectAlreadyExists:
            limit = client.read_global_concurrency_limit_by_name(name)
            if limit.limit != 1 or not limit.active:
                # The database lock still keeps one run per ward; say why runs contend there.
                _logger().warning(
                    "limit %s has %d slots (active: %s); the database lock alone keeps the ward "
                    "to one run",
                    name,
                    limit.limit,
                    limit.active,
                )


def _logger() -> logging.Logger | logging.LoggerAdapter[logging.Logger]:
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


@contextmanager
def ward_exclusion(ws: Workspace, wait_seconds: float = WARD_WAIT_SECONDS) -> Iterator[None]:
    """Hold the ward: its Prefect concurrency slot, then its database tenant lock."""
    ensure_ward_limit(ws.tenant)
    run_id = runtime.flow_run.id
    holder = ConcurrencyLeaseHolder(type="flow_run", id=UUID(run_id)) if run_id else None
    # A lease renewal that fails once (a restarting server) must not kill the ward's work: the
    # database lock below keeps the ward exclusive meanwhile.
    with (
        concurrency(
            ward_limit_name(ws.tenant),
            occupy=1,
            timeout_seconds=wait_seconds,
            strict=True,
            holder=holder,
            raise_on_lease_renewal_failure=False,
        ),
        tenant_lock(ws.db, ws.tenant, timeout=wait_seconds),
    ):
        yield


def _open(database_url: str, data_dir: str, organization: str, now: str | None) -> Workspace:
    settings = Settings(data_dir=Path(data_dir), database_url=database_url)
    return Workspace.open(settings, organization=Path(organization), clock=_clock(now))


@task(name="sweep-ward", cache_policy=NO_CACHE)
def _sweep_ward(ws: Workspace, system_actor: str) -> dict[str, Any]:
    return sweep_ward(ws, system_actor)


@task(name="review-ward", cache_policy=NO_CACHE)
def _review_ward(
    ws: Workspace, plan: str, month: str, actor_id: str, chair_id: str, out_dir: str
) -> dict[str, Any]:
    # Imported here: the review's report writers (matplotlib, docx) cost a sweep run 2 s.
    from flows.review import review_ward

    result = review_ward(ws, plan, month, actor_id, chair_id, Path(out_dir) / ws.tenant)
    return {**result, "checkpoint": checkpoint_step(ws)}


@flow(name="ward-sweep")
def ward_sweep_flow(
    database_url: str,
    data_dir: str,
    organization: str,
    system_actor: str,
    now: str | None = None,
    wait_seconds: float = WARD_WAIT_SECONDS,
) -> dict[str, Any]:
    """The daily sweep of one ward (organization file), alone on the ward."""
    ws = _open(database_url, data_dir, organization, now)
    try:
        ws.actor(system_actor)  # an unknown person fails here, before the ward is locked
        with ward_exclusion(ws, wait_seconds):
            result = _sweep_ward(ws, system_actor)
    finally:
        ws.close()
    get_run_logger().info(
        "sweep of %s: %d reminders, %d overdue, %d escalations; %d notifications and %d digests "
        "sent, %d waiting for a retry",
        ws.tenant,
        result["reminders"],
        result["overdue"],
        result["escalations"],
        result["sent"],
        result["digests"],
        result["waiting"],
    )
    return {"tenant": ws.tenant, **result}


@flow(name="ward-review")
def ward_review_flow(
    database_url: str,
    data_dir: str,
    organization: str,
    plan: str,
    month: str,
    actor_id: str,
    chair_id: str,
    out_dir: str,
    now: str | None = None,
    wait_seconds: float = WARD_WAIT_SECONDS,
) -> dict[str, Any]:
    """The review meeting of one ward; files in ``out_dir/<tenant>/<month>``."""
    ws = _open(database_url, data_dir, organization, now)
    try:
        ws.actor(actor_id)  # unknown people fail here, before the ward is locked
        ws.actor(chair_id)
        with ward_exclusion(ws, wait_seconds):
            result = _review_ward(ws, plan, month, actor_id, chair_id, out_dir)
    finally:
        ws.close()
    if result.get("skipped"):  # the month lies outside the plan's period
        get_run_logger().warning("review of %s: %s", ws.tenant, result["skipped"])
    else:
        get_run_logger().info(
            "review of %s: %d conclusions drafted", ws.tenant, result["conclusions"]
        )
    return {"tenant": ws.tenant, **result}


def city_wards(
    city: str | None = None, organizations: list[str] | None = None
) -> list[tuple[str, str]]:
    """(organization file, tenant) of each ward of the city file, or of the listed files.

    Everything is loaded and checked first: a bad file raises before any run is submitted.
    """
    if (city is None) == (organizations is None):
        raise ValueError("give either a city file or a list of organization files")
    if city is not None:
        loaded = load_city(city)
        return [(str(loaded.organization_path(org.tenant)), org.tenant) for org in loaded.wards]
    if organizations is None:
        raise AssertionError("checked above: exactly one of city and organizations")
    roles = set(make_workflow_engine().definitions.roles.roles)
    wards: list[tuple[str, str]] = []
    seen: set[str] = set()
    for path in organizations:
        tenant = load_organization(Path(path), known_roles=roles).tenant
        if tenant in seen:
            raise ValueError(f"{path}: ward {tenant!r} is listed twice")
        seen.add(tenant)
        wards.append((path, tenant))
    return wards


@flow(name="city-fanout")
def city_fanout_flow(
    job: str,
    parameters: dict[str, Any],
    city: str | None = None,
    organizations: list[str] | None = None,
    ward_parameters: dict[str, dict[str, Any]] | None = None,
) -> list[str]:
    """Submit one ward run per ward of ``city`` (a city file) or per organization file.

    ``job`` is sweep or review. Returns the ward runs' ids.

    ``parameters`` go to every ward run; ``ward_parameters[tenant]`` overrides them for one ward
    (e.g. that ward's acting officer). Returns once submitted: the workers run the wards.
    """
    if job not in WARD_FLOWS:
        raise ValueError(f"job must be one of {', '.join(WARD_FLOWS)}, not {job!r}")
    overrides = ward_parameters or {}
    wards = city_wards(city, organizations)
    tenants = [tenant for _, tenant in wards]
    unknown = sorted(set(overrides) - set(tenants))
    if unknown:
        raise ValueError(f"ward_parameters for wards not in the city: {', '.join(unknown)}")
    for tenant in tenants:
        ensure_ward_limit(tenant)  # before any ward run starts: they never race to create it
    name = f"{WARD_FLOWS[job]}/{WARD_DEPLOYMENT}"
    run_ids = []
    for path, tenant in wards:
        ward_run = run_deployment(
            name,
            parameters={**parameters, **overrides.get(tenant, {}), "organization": path},
            flow_run_name=f"{WARD_FLOWS[job]}-{tenant}",
            tags=["cchc", ward_limit_name(tenant)],
            idempotency_key=f"{runtime.flow_run.id}:{tenant}",  # a retried fan-out adds none
            timeout=0,
        )
        if not isinstance(ward_run, FlowRun):
            raise TypeError("sync call: the run, not a coroutine")
        run_ids.append(str(ward_run.id))
    get_run_logger().info("%s: %d ward runs submitted", name, len(run_ids))
    return run_ids
