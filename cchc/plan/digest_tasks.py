"""The open plan tasks a person's daily digest lists (``notifications.digest.DueTasks``).

For the head and officials of a unit: that unit's open plan tasks that are late or due within
the digest's working days. "Late", "due" and "open" are ``cchc.plan.lateness``'s, as in ``cchc tasks
list``: due at ``workday_end`` of the due day (the deadline, or the next working day when it is
a day off), completed once the product is submitted, late by working days.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from cchc.organization.model import SCOPED_ROLES
from cchc.plan.lateness import COMPLETED, due_day, project_calendar, task_lateness
from notifications.digest import DueTask
from notifications.recipients import Person
from notifications.render import vn_date
from workflows.calendar import WorkingCalendar
from workflows.schema import Instance

TASK_KIND = "task"
CLOSED_TASK_STATES = COMPLETED | {"cancelled"}
"""Tasks the digest never lists: product submitted (awaiting acceptance or accepted), cancelled."""


@dataclass(frozen=True)
class UnitTasks:
    """The ``DueTasks`` of a ward: its units' plan tasks, counted on ``calendar`` (default: the
    project's)."""

    calendar: WorkingCalendar | None = None

    def __call__(
        self, session: Session, tenant: str, person: Person, day: date, within: int
    ) -> list[DueTask]:
        """The person's unit's open tasks due within ``within`` working days, or late."""
        calendar = self.calendar or project_calendar()
        return _due_tasks(session, tenant, person, day, within, calendar)


def _due_tasks(
    session: Session,
    tenant: str,
    person: Person,
    day: date,
    within: int,
    calendar: WorkingCalendar,
) -> list[DueTask]:
    if person.unit is None or not SCOPED_ROLES.intersection(person.roles):
        return []
    rows = session.scalars(
        sa.select(Instance).where(
            Instance.tenant == tenant,
            Instance.kind == TASK_KIND,
            Instance.state.not_in(CLOSED_TASK_STATES),
        )
    ).all()
    due = []
    for row in rows:
        data: dict[str, Any] = json.loads(row.data)
        if data.get("owner_unit") != person.unit or not data.get("deadline"):
            continue
        task = _due_task(row, data, day, calendar)
        if task.working_days_left <= within:
            due.append(task)
    return sorted(due, key=lambda t: (t.working_days_left, t.ref))


def _due_task(row: Instance, data: dict[str, Any], day: date, calendar: WorkingCalendar) -> DueTask:
    """The task as the digest of ``day`` (at ``workday_end``) shows it."""
    deadline = date.fromisoformat(str(data["deadline"]))
    lateness = task_lateness(row.state, data, day, calendar)
    if lateness.late:
        left, status = -lateness.working_days, lateness.text()
    else:
        left = calendar.working_days_between(day, due_day(calendar, deadline))
        status = "đến hạn hôm nay" if left == 0 else f"còn {left} ngày làm việc"
    title = str(data.get("title", row.ref))
    return DueTask(row.ref, title, vn_date(deadline), left, status)
