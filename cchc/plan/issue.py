"""Issue a plan: the plan moves to issued, its tasks are assigned to their units and an
assessment is opened for every sub-criterion, all in one transaction and through the engine.

Every step carries an idempotency key derived from the plan code, so issuing the same plan
again changes nothing and returns the same counts; issuing a changed plan under the same code
raises ``PlanChangedError`` naming what changed, and writes nothing.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy.orm import Session

from cchc import vi_text
from cchc.plan.models import Plan, PlanTask
from workflows.engine import Engine, FireResult
from workflows.errors import IdempotencyKeyReusedError
from workflows.progress import Progress, no_progress
from workflows.registry import Actor


class PlanChangedError(IdempotencyKeyReusedError):
    """The plan code was issued before with other content (the transaction is rolled back)."""


@contextmanager
def _as_issued(plan: Plan, what: str) -> Iterator[None]:
    """Turn the engine's reused-key error for one step into a ``PlanChangedError``."""
    try:
        yield
    except IdempotencyKeyReusedError as exc:
        raise PlanChangedError(
            f"plan {plan.code} was issued before with other content ({what}); "
            "nothing was changed: issue a changed plan under a new code"
        ) from exc


@dataclass(frozen=True)
class CriterionToOpen:
    """A sub-criterion whose assessment the plan opens, with its owner unit."""

    code: str
    title: str
    max_points: str
    owner_unit: str
    evidence: str


@dataclass(frozen=True)
class IssueResult:
    """What issuing did (or had done, when ``replayed``)."""

    plan_id: int
    tasks: int
    assessments: int
    notifications: int
    replayed: bool


def task_ref(plan: Plan, task_code: str) -> str:
    """The ref of a plan task's instance: ``KH-2025-H2/NV-01``."""
    return f"{plan.code}/{task_code}"


def assessment_ref(plan: Plan, criterion_code: str) -> str:
    """The ref of a sub-criterion's assessment for the plan's period: ``KH-2025-H2/TC-1.1.3``."""
    return f"{plan.code}/TC-{criterion_code}"


def issue_plan(
    session: Session,
    engine: Engine,
    plan: Plan,
    criteria: Sequence[CriterionToOpen],
    actor: Actor,
    unit_names: Mapping[str, str],
    progress: Progress = no_progress,
) -> IssueResult:
    """Create and issue ``plan`` as ``actor``, assign its tasks and open the assessments.

    ``progress`` is told the tasks and assessments done out of all of them.
    """
    if plan.tenant != actor.tenant:
        raise ValueError(f"plan {plan.code} belongs to {plan.tenant!r}, not to {actor.tenant!r}")
    key = f"plan:{plan.code}"
    period = {
        "code": plan.period.code,
        "label": plan.period.label,
        "start": plan.period.start.isoformat(),
        "end": plan.period.end.isoformat(),
    }
    with _as_issued(plan, "title, period, index set or number of tasks"):
        created = engine.create(
            session,
            "plan",
            actor=actor,
            ref=plan.code,
            idempotency_key=f"{key}:create",
            data={
                "title": plan.title,
                "period": period,
                "index_set": plan.index_set,
                "tasks": len(plan.tasks),
            },
        )
    with _as_issued(plan, "decision"):
        issued = engine.fire(
            session,
            created.instance_id,
            "issue",
            actor=actor,
            idempotency_key=f"{key}:issue",
            payload={
                "decision_number": plan.decision.number,
                "decision_date": vi_text.date_text(plan.decision.date),
            },
        )
    sent = created.notifications + issued.notifications
    replayed = created.replayed and issued.replayed
    total = len(plan.tasks) + len(criteria)
    progress(0, total)
    for done, task in enumerate(plan.tasks, 1):
        with _as_issued(plan, f"task {task.code}"):
            result = _create_task(session, engine, plan, task, actor, unit_names)
        sent += result.notifications
        replayed = replayed and result.replayed
        progress(done, total)
    for done, criterion in enumerate(criteria, len(plan.tasks) + 1):
        with _as_issued(plan, f"assessment of {criterion.code}"):
            result = _open_assessment(session, engine, plan, criterion, period, actor, unit_names)
        sent += result.notifications
        replayed = replayed and result.replayed
        progress(done, total)
    return IssueResult(
        plan_id=created.instance_id,
        tasks=len(plan.tasks),
        assessments=len(criteria),
        notifications=sent,
        replayed=replayed,
    )


def _create_task(
    session: Session,
    engine: Engine,
    plan: Plan,
    task: PlanTask,
    actor: Actor,
    unit_names: Mapping[str, str],
) -> FireResult:
    return engine.create(
        session,
        "task",
        actor=actor,
        ref=task_ref(plan, task.code),
        idempotency_key=f"plan:{plan.code}:task:{task.code}",
        data={
            "plan": plan.code,
            "code": task.code,
            "title": task.title,
            "expected_product": task.expected_product,
            "owner_unit": task.owner_unit,
            "owner_unit_name": unit_names.get(task.owner_unit, task.owner_unit),
            "support_units": list(task.support_units),
            "deadline": task.deadline.isoformat(),
            "deadline_text": vi_text.date_text(task.deadline),
            "criteria": list(task.criteria),
        },
    )


def _open_assessment(
    session: Session,
    engine: Engine,
    plan: Plan,
    criterion: CriterionToOpen,
    period: Mapping[str, str],
    actor: Actor,
    unit_names: Mapping[str, str],
) -> FireResult:
    return engine.create(
        session,
        "assessment",
        actor=actor,
        ref=assessment_ref(plan, criterion.code),
        idempotency_key=f"plan:{plan.code}:assessment:{criterion.code}",
        data={
            "plan": plan.code,
            "period": dict(period),
            "index_set": plan.index_set,
            "code": criterion.code,
            "title": criterion.title,
            "max_points": criterion.max_points,
            "owner_unit": criterion.owner_unit,
            "owner_unit_name": unit_names.get(criterion.owner_unit, criterion.owner_unit),
            "evidence_requirement": criterion.evidence,
        },
    )
