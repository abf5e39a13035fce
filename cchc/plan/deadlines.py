"""Durable deadlines of plan tasks and conclusion follow-ups, and the sweep that acts on them.

``schedule`` stores, for every open task, its steps with their due times (working days from
the calendar): reminders before the deadline, the overdue transition when it passes, and
escalations (to the unit's head, then to the Vice-Chairmen) after it. ``sweep`` claims the
steps that are due — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the write lock on SQLite — acts
through the engine and marks them done, so running it twice (or twice at once) acts once. A
step whose instance changes while the sweep acts on it (``ConflictError``) is rolled back to
its savepoint and left for the next sweep; the rest of the batch goes on.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from cchc.organization.access import require_any_role
from cchc.organization.capabilities import roles_with
from cchc.plan.lateness import due_day, due_moment
from cchc.tables import DeadlineStep
from cchc.workspace import Workspace
from workflows.calendar import WorkingCalendar
from workflows.canonical import utc
from workflows.database import unit_of_work
from workflows.datafile import DataFile, FileCodes, Schema, model_keys
from workflows.engine import Engine
from workflows.errors import ConflictError
from workflows.progress import Progress, no_progress
from workflows.registry import Actor
from workflows.schema import Instance

OPEN = ("assigned", "in_progress", "returned", "overdue")
SWEEP_ROLES = roles_with("run_sweep")
"""Who the sweep may run as: it marks tasks overdue (an admin transition) and reminds people."""


class Escalation(BaseModel):
    """Who is told, and how many working days after the deadline."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    after: int = Field(gt=0, le=60)
    to: tuple[str, ...] = Field(min_length=1)


class TaskDeadlinePolicy(BaseModel):
    """How tasks are chased (``definitions/task-deadlines.yaml``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    reminders: tuple[int, ...] = (7, 3, 1)
    escalations: tuple[Escalation, ...] = (
        Escalation(after=2, to=("unit_head",)),
        Escalation(after=4, to=("vice_chairman",)),
    )

    @field_validator("reminders")
    @classmethod
    def _positive_distinct(cls, value: tuple[int, ...]) -> tuple[int, ...]:
        if any(n <= 0 for n in value) or len(set(value)) != len(value):
            raise ValueError("reminders are distinct working-day counts above 0")
        return tuple(sorted(value, reverse=True))


def _policy_keys(loc: tuple[Any, ...]) -> str:
    return model_keys(TaskDeadlinePolicy, loc, "reminders, escalations")


POLICY_FILE: DataFile[TaskDeadlinePolicy, None] = DataFile(
    "task deadline policy",
    FileCodes("CCHC-T001", "CCHC-T004", "CCHC-T005", "the policy starts with 'reminders:'"),
    Schema(TaskDeadlinePolicy.model_validate, "CCHC-T002", "CCHC-T003", _policy_keys),
)
"""The task deadline policy (``definitions/task-deadlines.yaml``, docs/task-deadlines.md)."""


def load_policy(path: Path) -> TaskDeadlinePolicy:
    """The policy in ``path`` (the defaults when the file does not exist), read within the
    limits of ``workflows.limits`` (size, nesting, aliases); raises ``DefinitionError`` listing
    every problem at its line (``CCHC-T0NN``, ``CCHC-L0NN``)."""
    if not path.exists():
        return TaskDeadlinePolicy()
    return POLICY_FILE.load_file(path, None)


DEFAULT_POLICY = TaskDeadlinePolicy()


@dataclass(frozen=True)
class SweepReport:
    """What one sweep did."""

    reminders: int = 0
    overdue: int = 0
    escalations: int = 0
    closed: int = 0


def due_time(calendar: WorkingCalendar, deadline: date) -> datetime:
    """A task with deadline ``d`` is due at the end of the working day ``d`` (local), in UTC;
    a deadline on a weekend or holiday moves to the next working day (``cchc.plan.lateness``)."""
    return due_moment(calendar, deadline)


def schedule(
    session: Session,
    calendar: WorkingCalendar,
    tenant: str,
    policy: TaskDeadlinePolicy = DEFAULT_POLICY,
) -> int:
    """Store the steps of every open task that has none for its current deadline; how many."""
    rows = session.execute(
        select(Instance.id, Instance.data).where(
            Instance.tenant == tenant, Instance.kind == "task", Instance.state.in_(OPEN)
        )
    ).all()
    known = set(session.scalars(select(DeadlineStep.key).where(DeadlineStep.tenant == tenant)))
    new = []
    for row in rows:
        deadline = date.fromisoformat(json.loads(row.data)["deadline"])
        due = due_time(calendar, deadline)
        steps = [(f"remind-{n}", t) for n, t in _reminders(calendar, due, policy.reminders)]
        steps.append(("overdue", due))
        for level, escalation in enumerate(policy.escalations, 1):
            when = calendar.add_working_days(due_day(calendar, deadline), escalation.after)
            steps.append((f"escalate-{level}", due_time(calendar, when)))
        for step, at in steps:
            key = f"{row.id}:{deadline.isoformat()}:{step}"
            if key not in known:
                new.append(
                    {
                        "tenant": tenant,
                        "instance_id": row.id,
                        "step": step,
                        "due_at": at,
                        "deadline": due,
                        "key": key,
                        "done_at": None,
                        "outcome": None,
                    }
                )
    if new:
        session.execute(insert(DeadlineStep), new)
    return len(new)


def _reminders(
    calendar: WorkingCalendar, due: datetime, reminders: tuple[int, ...]
) -> list[tuple[int, datetime]]:
    local_day = calendar.local(due).date()
    return [
        (
            n,
            utc(
                datetime.combine(
                    calendar.subtract_working_days(local_day, n),
                    calendar.workday_start,
                    tzinfo=calendar.tz,
                )
            ),
        )
        for n in reminders
    ]


def sweep(
    ws: Workspace,
    calendar: WorkingCalendar,
    system_actor: str,
    batch: int = 500,
    policy: TaskDeadlinePolicy = DEFAULT_POLICY,
    progress: Progress = no_progress,
) -> SweepReport:
    """Schedule new steps, then act on every step due by the workspace's clock.

    The sweep runs as ``system_actor``, who must hold an admin role: anyone else is refused
    (``NotPermittedError``, audited) before anything is written. ``progress`` is told the
    steps acted on out of the steps due.
    """
    now = ws.engine.clock()
    actor = ws.actor(system_actor)
    with unit_of_work(ws.sessions) as session:
        require_any_role(
            session, ws.engine, actor, SWEEP_ROLES, what="run the deadline sweep", kind="sweep"
        )
    counts: Counter[str] = Counter()
    with unit_of_work(ws.sessions) as session:
        schedule(session, calendar, ws.tenant, policy)
        schedule_definition_deadlines(session, ws.engine, calendar, ws.tenant)
    changed: set[int] = set()  # steps whose instance changed underneath: for the next sweep
    with ws.sessions() as session:
        total = int(
            session.scalar(
                select(func.count())
                .select_from(DeadlineStep)
                .where(
                    DeadlineStep.tenant == ws.tenant,
                    DeadlineStep.done_at.is_(None),
                    DeadlineStep.due_at <= now,
                )
            )
            or 0
        )
    done = 0
    progress(done, total)
    while True:
        with unit_of_work(ws.sessions) as session:
            query = (
                select(DeadlineStep)
                .where(
                    DeadlineStep.tenant == ws.tenant,
                    DeadlineStep.done_at.is_(None),
                    DeadlineStep.due_at <= now,
                    DeadlineStep.id.not_in(changed),
                )
                .order_by(DeadlineStep.due_at, DeadlineStep.id)
                .limit(batch)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True)
            steps = list(session.scalars(query))
            if not steps:
                break
            for step in steps:
                done += 1
                progress(done, max(done, total))
                savepoint = session.begin_nested()
                try:
                    outcome = _act(ws, session, step, actor, policy)
                except ConflictError:  # e.g. the unit submitted while it was marked overdue
                    savepoint.rollback()
                    changed.add(step.id)
                    continue
                savepoint.commit()
                counts[outcome] += 1
                session.execute(
                    update(DeadlineStep)
                    .where(DeadlineStep.id == step.id)
                    .values(done_at=now, outcome=outcome)
                )
    return SweepReport(
        reminders=counts["reminded"],
        overdue=counts["overdue"],
        escalations=counts["escalated"],
        closed=counts["closed"],
    )


def _act(
    ws: Workspace,
    session: Session,
    step: DeadlineStep,
    actor: Actor,
    policy: TaskDeadlinePolicy,
) -> str:
    if step.step.startswith("def-"):
        return _act_on_definition_step(ws, session, step, actor)
    row = session.execute(select(Instance.state).where(Instance.id == step.instance_id)).one()
    if row.state not in OPEN:
        return "closed"
    key = step.key
    if step.step.startswith("remind-"):
        if utc(step.deadline) <= ws.engine.clock():  # the deadline already passed: no reminder
            return "stale"
        ws.engine.notify(
            session,
            step.instance_id,
            "task_reminder",
            ["unit_head", "unit_official"],
            actor=actor,
            key=key,
            payload={"working_days_left": int(step.step.split("-")[1])},
        )
        return "reminded"
    if step.step == "overdue":
        if row.state != "overdue":
            ws.engine.fire(
                session,
                step.instance_id,
                "mark_overdue",
                actor=actor,
                idempotency_key=f"deadline:{key}",
            )
        return "overdue"
    level = int(step.step.split("-")[1])
    ws.engine.notify(
        session,
        step.instance_id,
        "task_escalated",
        list(policy.escalations[level - 1].to),
        actor=actor,
        key=key,
        payload={"level": level},
    )
    return "escalated"


def schedule_definition_deadlines(
    session: Session, engine: Engine, calendar: WorkingCalendar, tenant: str
) -> int:
    """Steps of the ``deadlines`` blocks of the definitions, counted from entering the state.

    An instance entered its current state at its ``updated_at`` (every applied fire sets it);
    re-entering the state later gives new steps (the key holds the entering time).
    """
    known = set(session.scalars(select(DeadlineStep.key).where(DeadlineStep.tenant == tenant)))
    new = []
    for kind, definition in engine.definitions.workflows.items():
        for d in definition.deadlines:
            rows = session.execute(
                select(Instance.id, Instance.updated_at).where(
                    Instance.tenant == tenant,
                    Instance.kind == kind,
                    Instance.state == d.state,
                )
            ).all()
            for row in rows:
                entered = utc(row.updated_at)
                due = calendar.due_at(entered, d.days, d.count.value)
                steps = [
                    (f"def-remind-{n}", at)
                    for n, at in zip(
                        sorted(d.reminders, reverse=True),
                        calendar.reminder_times(
                            due, sorted(d.reminders, reverse=True), d.count.value
                        ),
                        strict=False,
                    )
                ]
                if d.on_expiry:
                    steps.append(("def-expire", due))
                for level, _role in enumerate(d.escalate_to, 1):
                    later = calendar.due_at(due, d.escalate_every * level, d.count.value)
                    steps.append((f"def-escalate-{level}", later))
                for name, at in steps:
                    key = f"{row.id}:{d.state}:{entered.isoformat()}:{name}"
                    if key not in known:
                        known.add(key)
                        new.append(
                            {
                                "tenant": tenant,
                                "instance_id": row.id,
                                "step": name,
                                "due_at": at,
                                "deadline": due,
                                "key": key,
                                "done_at": None,
                                "outcome": None,
                            }
                        )
    if new:
        session.execute(insert(DeadlineStep), new)
    return len(new)


def _act_on_definition_step(
    ws: Workspace, session: Session, step: DeadlineStep, actor: Actor
) -> str:
    row = session.execute(
        select(Instance.kind, Instance.state).where(Instance.id == step.instance_id)
    ).one()
    state = step.key.split(":", 2)[1]
    if row.state != state:  # the instance left the state: nothing to chase
        return "closed"
    definition = ws.engine.current(row.kind).definition
    deadline = next(d for d in definition.deadlines if d.state == state)
    if step.step.startswith("def-remind-"):
        if utc(step.deadline) <= ws.engine.clock():
            return "stale"
        acting = sorted({r for t in definition.transitions if state in t.source for r in t.roles})
        ws.engine.notify(
            session,
            step.instance_id,
            "deadline_reminder",
            acting,
            actor=actor,
            key=step.key,
            payload={"due": utc(step.deadline).isoformat()},
        )
        return "reminded"
    if step.step == "def-expire":
        if deadline.on_expiry is None:
            raise AssertionError("a def-expire step is planned only for a deadline with on_expiry")
        ws.engine.fire(
            session,
            step.instance_id,
            deadline.on_expiry,
            actor=actor,
            idempotency_key=f"deadline:{step.key}",
        )
        return "overdue"
    level = int(step.step.rsplit("-", 1)[1])
    ws.engine.notify(
        session,
        step.instance_id,
        "deadline_escalated",
        [deadline.escalate_to[level - 1]],
        actor=actor,
        key=step.key,
        payload={"level": level, "due": utc(step.deadline).isoformat()},
    )
    return "escalated"
