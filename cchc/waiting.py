"""What waits for a person and their unit: the counts of the home page, and the unit's tasks.

One place decides it, from the same rules every view uses: the read scope of ``cchc.access``
(a unit's people see their unit, the leadership and the focal unit the whole ward), lateness
from ``cchc.lateness``, task lines from ``cchc tasks list`` (``task_json``). The web pages only
show what these functions return.

The counts, each shown only to the roles it concerns:

- ``tasks_due`` / ``tasks_overdue``: open tasks of the scope, not late / late (everyone with a
  read scope);
- ``sent_back``: tasks whose product was returned, evidence with changes requested and
  self-scores returned, of the scope (the unit's people and the focal unit);
- ``reviews``: evidence submitted and products submitted, waiting for the focal unit's decision;
- ``approvals``: self-scores waiting for the unit head's approval; approved assessments
  waiting for the Chairman's lock;
- ``follow_ups``: open follow-up tasks of the review meetings' notices (the Office, and each
  unit for its own).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select

from cchc.access import ReadScope, read_scope
from cchc.lateness import due_day, task_lateness
from cchc.workspace import Workspace
from workflows.calendar import WorkingCalendar
from workflows.canonical import LOCAL_TZ
from workflows.registry import Actor
from workflows.schema import Instance

OPEN_TASK_STATES = frozenset({"assigned", "in_progress", "overdue", "returned"})
UNIT_ROLES = frozenset({"unit_official", "unit_head"})


@dataclass(frozen=True)
class Waiting:
    """One count of the home page."""

    key: str
    label: str
    count: int


LABELS = {
    "tasks_due": "Nhiệm vụ đang thực hiện, còn hạn",
    "tasks_overdue": "Nhiệm vụ quá hạn",
    "sent_back": "Bị trả lại, cần bổ sung",
    "reviews": "Chờ thẩm định (tài liệu kiểm chứng, sản phẩm)",
    "approvals": "Chờ phê duyệt",
    "follow_ups": "Kết luận giao ban cần theo dõi",
}


def _in_scope(scope: ReadScope, data: dict[str, Any]) -> bool:
    return scope.units is None or data.get("owner_unit") in scope.units


def _rows(ws: Workspace, kinds: Iterable[str]) -> list[tuple[Instance, dict[str, Any]]]:
    with ws.sessions() as session:
        rows = session.scalars(
            select(Instance).where(Instance.tenant == ws.tenant, Instance.kind.in_(list(kinds)))
        ).all()
    return [(row, json.loads(row.data)) for row in rows]


def _current_evidence(rows: list[tuple[Instance, dict[str, Any]]]) -> list[tuple[str, Any]]:
    """Evidence that is not superseded: (state, data)."""
    return [(r.state, d) for r, d in rows if r.kind == "evidence" and r.state != "superseded"]


def waiting_for(ws: Workspace, actor: Actor, now: datetime) -> list[Waiting]:
    """The counts that concern ``actor`` (see the module), in the home page's order."""
    scope = read_scope(actor)
    if scope.units is not None and not scope.units:
        return []
    roles = actor.roles
    calendar = ws.calendar
    rows = [(r, d) for r, d in _rows(ws, ("task", "evidence", "assessment")) if _in_scope(scope, d)]
    tasks = [(r, d) for r, d in rows if r.kind == "task"]
    open_tasks = [(r, d) for r, d in tasks if r.state in OPEN_TASK_STATES]
    late = sum(1 for r, d in open_tasks if task_lateness(r.state, d, now, calendar).late)
    counts = {"tasks_due": len(open_tasks) - late, "tasks_overdue": late}
    evidence = _current_evidence(rows)
    assessments = [r.state for r, _ in rows if r.kind == "assessment"]
    if roles & (UNIT_ROLES | {"focal_official"}):
        counts["sent_back"] = (
            sum(1 for r, _ in tasks if r.state == "returned")
            + sum(1 for state, _ in evidence if state == "changes_requested")
            + assessments.count("returned")
        )
    if "focal_official" in roles:
        counts["reviews"] = sum(1 for state, _ in evidence if state == "submitted") + sum(
            1 for r, _ in tasks if r.state == "product_submitted"
        )
    if "unit_head" in roles or "chairman" in roles:
        waiting = assessments.count("self_scored") if "unit_head" in roles else 0
        counts["approvals"] = waiting + (
            assessments.count("approved") if "chairman" in roles else 0
        )
    if roles & (UNIT_ROLES | {"office_official"}):
        counts["follow_ups"] = sum(1 for _, d in open_tasks if d.get("source") == "notice")
    return [Waiting(key, LABELS[key], counts[key]) for key in LABELS if key in counts]


@dataclass(frozen=True)
class TaskLine:
    """A task as the unit's task page shows it."""

    id: int
    ref: str
    title: str
    owner_unit_name: str
    deadline_text: str
    state: str
    state_label: str
    late: bool
    working_days_left: int | None
    """Working days from today to the due day (0: due today); None when closed; negative:
    the working days late."""
    status_text: str
    product: str | None
    follow_up: bool
    """A follow-up task of a review meeting's notice."""


def working_days_left(
    state: str, data: dict[str, Any], now: datetime, calendar: WorkingCalendar
) -> int | None:
    """Working days from today to the task's due day, minus the working days late when late;
    None for a task no longer open (or without a deadline)."""
    if state not in OPEN_TASK_STATES or not data.get("deadline"):
        return None
    lateness = task_lateness(state, data, now, calendar)
    if lateness.late:
        return -lateness.working_days
    today: date = now.astimezone(LOCAL_TZ).date()
    return calendar.working_days_between(
        today, due_day(calendar, date.fromisoformat(str(data["deadline"])))
    )


def task_lines(ws: Workspace, unit: str | None, now: datetime) -> list[TaskLine]:
    """The tasks of ``unit`` (None: the whole ward), as ``cchc tasks list`` shows them, with
    the working days left; open tasks first, the most urgent first."""
    from cchc.commands.cycle_common import instances, state_labels
    from cchc.commands.tasks_cmd import task_json

    labels = state_labels(ws, "task")
    calendar = ws.calendar
    lines = []
    for row in instances(ws, "task"):
        task = task_json(row, labels, now, calendar)
        if unit is not None and task["owner_unit"] != unit:
            continue
        data = json.loads(row.data)
        left = working_days_left(row.state, data, now, calendar)
        if task["late"] and left is not None:
            status = f"Quá hạn {-left} ngày làm việc"
        elif left is not None:
            status = "Đến hạn hôm nay" if left == 0 else f"Còn {left} ngày làm việc"
        else:
            status = task["status_text"]
        lines.append(
            TaskLine(
                id=row.id, ref=row.ref, title=str(task["title"] or row.ref),
                owner_unit_name=str(task["owner_unit_name"] or task["owner_unit"] or ""),
                deadline_text=task["deadline_text"], state=row.state,
                state_label=task["state_label"], late=bool(task["late"]),
                working_days_left=left, status_text=status, product=task["product"],
                follow_up=data.get("source") == "notice",
            )
        )  # fmt: skip
    return sorted(lines, key=lambda t: (t.working_days_left is None, t.working_days_left or 0,
                                        t.ref))  # fmt: skip
