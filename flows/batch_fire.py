"""Fire one trigger on every selected instance: the pattern flow of the project.

Shape to copy for other bulk flows:

* the database work is plain functions (``select_ids``, ``fire_ids``), testable without Prefect;
* the flow only selects, splits into batches and reports progress;
* each batch is ONE task (a task costs a few ms and the server records only ~40-50 task runs
  per second, so never one task per item);
* the flow acts as a person of the ward's registered organization (``actor_id``): roles, unit
  and tenant come from what the database has registered, never from parameters; a file that
  differs from the registered one is refused (``ward_reference``);
* each item is fired in its own transaction, with an idempotency key made of the flow run id,
  the instance id and the trigger: a retried task returns the first result for the items it
  already fired instead of firing them twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from prefect import State, flow, get_run_logger, task
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.runtime import flow_run
from prefect.tasks import Task
from sqlalchemy import Engine as SqlEngine
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from cchc.organization.model import Organization, load_organization
from cchc.reference_data import (
    definitions_snapshot,
    engine_in_force,
    followed,
    organization_of,
    organization_snapshot,
    settle,
)
from cchc.runtime import make_workflow_engine
from cchc.workspace import default_organization
from workflows.canonical import utcnow
from workflows.database import Settings, make_engine, session_factory, unit_of_work
from workflows.engine import Engine
from workflows.errors import ConflictError, TransitionRefusedError
from workflows.registry import Actor
from workflows.schema import Instance

COUNTS = ("applied", "replayed", "refused", "conflicts")


def select_ids(session: Session, kind: str, state: str, tenant: str) -> list[int]:
    """Ids of the ``kind`` instances of ``tenant`` that are in ``state``, in id order."""
    query = (
        select(Instance.id)
        .where(Instance.tenant == tenant, Instance.kind == kind, Instance.state == state)
        .order_by(Instance.id)
    )
    return list(session.scalars(query))


def fire_ids(
    engine: Engine,
    sessions: sessionmaker[Session],
    ids: Sequence[int],
    trigger: str,
    actor: Actor,
    payload: Mapping[str, Any] | None,
    key_prefix: str,
) -> dict[str, int]:
    """Fire ``trigger`` on each id, one transaction each; count what happened.

    ``applied``: fired now. ``replayed``: fired earlier with the same ``key_prefix`` (the
    idempotency key ``{key_prefix}:{id}:{trigger}`` returned the first result; nothing was
    written). ``refused``: refused and audited as a refusal (kept by ``unit_of_work``).
    ``conflicts``: changed underneath, nothing written. Any other error propagates; the items
    fired before it stay committed.
    """
    counts = dict.fromkeys(COUNTS, 0)
    for instance_id in ids:
        try:
            with unit_of_work(sessions) as session:
                result = engine.fire(
                    session,
                    instance_id,
                    trigger,
                    actor=actor,
                    payload=payload,
                    idempotency_key=f"{key_prefix}:{instance_id}:{trigger}",
                )
        except TransitionRefusedError:
            counts["refused"] += 1
        except ConflictError:
            counts["conflicts"] += 1
        else:
            counts["replayed" if result.replayed else "applied"] += 1
    return counts


def _transient(task: Task[..., Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry a batch only when the database was unreachable or busy (locked, dropped)."""
    try:
        state.result()
    except OperationalError:
        return True
    except DBAPIError as exc:
        return bool(exc.connection_invalidated)
    except Exception:  # noqa: BLE001 - any other failure is not worth a retry
        return False
    return False


@task(
    name="fire-batch",
    retries=2,
    retry_delay_seconds=2,
    retry_condition_fn=_transient,
    cache_policy=NO_CACHE,  # it changes the database: never served from a cache
    task_run_name="fire-batch-{trigger}-{ids[0]}",
)
def fire_batch(
    database_url: str,
    ids: list[int],
    trigger: str,
    actor_id: str,
    organization: str | None,
    payload: dict[str, Any] | None,
    definitions_dir: str | None,
) -> dict[str, int]:
    """Fire ``trigger`` on one batch of instance ids; returns the counts of ``fire_ids``."""
    run_id = flow_run.id or f"no-flow-run-{uuid.uuid4()}"
    database = make_engine(database_url)
    try:
        engine, org = ward_reference(database, organization, definitions_dir)
        actor = org.actor(actor_id)
        return fire_ids(
            engine,
            session_factory(database),
            ids,
            trigger,
            actor,
            payload,
            key_prefix=f"fire-selected:{run_id}",
        )
    finally:
        database.dispose()


def ward_reference(
    database: SqlEngine, organization: str | None, definitions_dir: str | None
) -> tuple[Engine, Organization]:
    """The engine and organization the ward has registered, settled like ``Workspace.open``.

    The files (``organization``, default ``CCHC_ORGANIZATION`` or the sample; the definitions
    folder) name the ward and, on its first use, are registered; afterwards a file chosen here
    that differs from the registered version is refused (``ReferenceMismatchError``, audited)
    and a default file follows the registered version.
    """
    engine = make_workflow_engine(Path(definitions_dir) if definitions_dir else None)
    path = Path(organization) if organization else default_organization()
    org = load_organization(path, known_roles=set(engine.definitions.roles.roles))
    source = definitions_dir or "definitions"
    snapshots = [organization_snapshot(org, path), definitions_snapshot(engine.definitions, source)]
    follow = followed({"organization": organization, "definitions": definitions_dir})
    contents = settle(session_factory(database), org.tenant, snapshots, follow=follow, now=utcnow())
    engine = engine_in_force(engine, contents["definitions"], snapshots[1], org.tenant)
    if contents["organization"] != snapshots[0].content:
        org = organization_of(contents["organization"])
    return engine, org


def acting_person(
    database_url: str, person_id: str, organization: str | None, definitions_dir: str | None
) -> Actor:
    """The person of the ward's registered organization as an actor (``ward_reference``).

    Roles, unit and tenant come from the registered organization, never from the flow's
    parameters; an unknown person raises ``UnknownPersonError`` before anything is selected or
    fired.
    """
    database = make_engine(database_url)
    try:
        return ward_reference(database, organization, definitions_dir)[1].actor(person_id)
    finally:
        database.dispose()


@flow(name="fire-selected", log_prints=False)
def fire_selected(
    database_url: str,
    kind: str,
    state: str,
    trigger: str,
    actor_id: str,
    organization: str | None = None,
    payload: dict[str, Any] | None = None,
    batch_size: int = 200,
    definitions_dir: str | None = None,
    data_dir: str | None = None,
) -> dict[str, int]:
    """Fire ``trigger`` as the person ``actor_id`` on every ``kind`` instance in ``state``.

    The person is looked up in the ``organization`` file (default: ``CCHC_ORGANIZATION`` or
    the sample), which also gives the tenant whose instances are selected. With ``data_dir``
    (and a signing key there) the tenant's audit checkpoint is signed at the end. Returns
    ``selected``, ``applied`` (including items a retried batch had already fired),
    ``refused``, ``conflicts`` and ``batches``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}")
    tenant = acting_person(database_url, actor_id, organization, definitions_dir).tenant
    ids = _selected(database_url, kind, state, tenant)
    batches = [ids[i : i + batch_size] for i in range(0, len(ids), batch_size)]
    totals = {"selected": len(ids), "applied": 0, "refused": 0, "conflicts": 0}
    progress = _Progress(len(ids), f"`{trigger}` on `{kind}` in `{state}` of `{tenant}`")
    for batch in batches:
        counts = fire_batch(
            database_url, batch, trigger, actor_id, organization, payload, definitions_dir
        )
        for name in ("applied", "refused", "conflicts"):
            totals[name] += counts[name]
        totals["applied"] += counts["replayed"]
        progress.batch_done(len(batches), counts)
    if data_dir is not None:
        _checkpoint(database_url, data_dir, tenant)
    return {**totals, "batches": len(batches)}


def _checkpoint(database_url: str, data_dir: str, tenant: str) -> None:
    from flows.anchor import publish_checkpoint

    database = make_engine(database_url)
    try:
        settings = Settings(data_dir=Path(data_dir), database_url=database_url)
        publish_checkpoint(settings, session_factory(database), tenant, utcnow())
    finally:
        database.dispose()


def _selected(database_url: str, kind: str, state: str, tenant: str) -> list[int]:
    database = make_engine(database_url)
    try:
        with session_factory(database)() as session:
            return select_ids(session, kind, state, tenant)
    finally:
        database.dispose()


class _Progress:
    """Reports each finished batch to the run log and to one progress artifact."""

    def __init__(self, total: int, what: str) -> None:
        self.total = total
        self.done = 0
        self.batches = 0
        self.what = what
        self.logger = get_run_logger()
        self.logger.info("selected %d instance(s) for %s", total, what.replace("`", ""))
        artifact = create_progress_artifact(
            progress=100.0 if total == 0 else 0.0, description=f"Firing {what}: 0/{total}"
        )
        if not isinstance(artifact, uuid.UUID):
            raise TypeError("called from sync code: the result, no coroutine")
        self.artifact = artifact

    def batch_done(self, batches: int, counts: Mapping[str, int]) -> None:
        """Log ``batch 3/10: 200 applied, 0 refused, 0 conflicts — 600/2000``; move the bar."""
        self.batches += 1
        self.done += sum(counts[name] for name in COUNTS)
        replayed = f" ({counts['replayed']} already fired)" if counts["replayed"] else ""
        self.logger.info(
            "batch %d/%d: %d applied%s, %d refused, %d conflicts — %d/%d",
            self.batches,
            batches,
            counts["applied"] + counts["replayed"],
            replayed,
            counts["refused"],
            counts["conflicts"],
            self.done,
            self.total,
        )
        update_progress_artifact(
            self.artifact,
            progress=100.0 * self.done / self.total,
            description=f"Firing {self.what}: {self.done}/{self.total}",
        )
